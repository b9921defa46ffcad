// The spatial encoder's trainable weights. A package graph may store large weights as float16
// plus a Cast back to float32 (models/builtin/half-storage.ts); training needs plain float32
// initializers, so `materialiseFloatWeights` folds such pairs into one float32 initializer of the
// original name (the values are the half-rounded ones the graph computed with).
// Which initializers are weights: float32 tensors of rank >= 1, except the builder's own
// constants ('const', 'scalar', 'ints' names) and any tensor that some node reads as a
// configuration input (Resize scales, Reshape/Expand/Tile shapes, Slice bounds, Pad amounts...):
// those are part of the computation, must stay constants for shape inference, and carry no
// gradient.

import type { Model } from '../onnx/ir';
import { copyModel } from '../onnx/passes/graph-edit';
import { halfToFloat32 } from '../models/sd1/float16';

const BUILDER_CONSTANT = /^(const|scalar|ints)(_\d+)?$/;

/** op type -> the input positions that configure the op rather than carry data */
const CONFIG_INPUTS: Record<string, number[]> = {
  Resize: [1, 2, 3],
  Upsample: [1],
  Reshape: [1],
  Expand: [1],
  Tile: [1],
  Slice: [1, 2, 3, 4],
  Pad: [1, 2],
  Squeeze: [1],
  Unsqueeze: [1],
  Split: [1],
  ReduceMean: [1],
  ReduceSum: [1],
  ReduceMax: [1],
  ReduceMin: [1],
  ConstantOfShape: [0],
  Clip: [1, 2],
};

/** A copy of `model` where every Cast(float16 initializer) -> float32 is a float32 initializer. */
export function materialiseFloatWeights(model: Model): Model {
  const out = copyModel(model);
  const g = out.graph;
  const inits = g.initializers;
  const consumers = new Map<string, number>();
  for (const node of g.nodes) for (const i of node.inputs) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  g.nodes = g.nodes.filter((node) => {
    if (node.opType !== 'Cast' || node.inputs.length !== 1) return true;
    const half = inits.get(node.inputs[0]!);
    const to = node.attrs['to'];
    if (!half || half.dtype !== 'float16' || !(half.data instanceof Uint16Array) || to?.type !== 'int' || to.value !== 1) return true;
    const name = node.outputs[0]!;
    inits.set(name, { name, dtype: 'float32', dims: [...half.dims], data: halfToFloat32(half.data) });
    if (consumers.get(half.name) === 1) inits.delete(half.name);
    return false;
  });
  return out;
}

/** Names of the trainable weights of a (materialised) encoder graph, in initializer order. */
export function encoderWeightNames(model: Model): string[] {
  const configuring = new Set<string>();
  for (const node of model.graph.nodes) for (const i of CONFIG_INPUTS[node.opType] ?? []) if (node.inputs[i]) configuring.add(node.inputs[i]!);
  const names: string[] = [];
  for (const [name, t] of model.graph.initializers) {
    if (t.dtype !== 'float32' || t.dims.length === 0 || BUILDER_CONSTANT.test(name) || configuring.has(name)) continue;
    if (!(t.data instanceof Float32Array)) throw new Error(`spatial encoder '${model.graph.name}': weight '${name}' has no loaded data (external data not read?)`);
    names.push(name);
  }
  return names;
}
