// Constant folding of shape subgraphs: Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains
// (and Cast, Range, Slice, Squeeze, integer arithmetic) whose values follow from constants and
// static input shapes become initializers. Static shape inference (../shape-inference) already
// computes those values while it types the graph; this pass writes them back as initializers and
// drops the nodes that are no longer needed. Only integer and bool values are folded: float
// computation is left to the runtime, so folding never changes a model's numerics.

import { allocateData, isDefaultDomain, type DType, type Model, type Node, type TensorData } from '../ir';
import { inferShapes } from '../shape-inference';
import { removeDeadCode } from './dead-code';
import { copyModel } from './graph-edit';

const FOLDABLE_TYPES = new Set<DType>(['int64', 'int32', 'int16', 'int8', 'uint8', 'uint16', 'uint32', 'uint64', 'bool']);

function toData(dtype: DType, values: number[]): TensorData {
  const data = allocateData(dtype, values.length);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) values.forEach((v, i) => (data[i] = BigInt(Math.trunc(v))));
  else (data as Exclude<TensorData, string[] | BigInt64Array | BigUint64Array>).set(values);
  return data;
}

/**
 * Folds what static shape inference can compute. The model's inputs must have fixed shapes
 * (run specialiseShapes first); fails naming the node when an op has no shape function.
 */
export function foldShapeConstants(model: Model): Model {
  const out = copyModel(model);
  const g = out.graph;
  const info = inferShapes(out);
  const graphOutputs = new Set(g.outputs.map((o) => o.name));
  const foldable = (node: Node): boolean =>
    isDefaultDomain(node.domain) &&
    node.outputs.length > 0 &&
    node.outputs.every((o) => o !== '' && !graphOutputs.has(o) && info.constant(o) !== undefined && FOLDABLE_TYPES.has(info.type(o).dtype));
  const folded = new Set<Node>();
  for (const node of g.nodes) {
    if (!foldable(node)) continue;
    folded.add(node);
    for (const o of node.outputs) {
      const type = info.type(o);
      g.initializers.set(o, { name: o, dtype: type.dtype, dims: [...type.shape], data: toData(type.dtype, info.constant(o)!) });
      g.valueInfo.delete(o);
    }
  }
  g.nodes = g.nodes.filter((n) => !folded.has(n));
  return removeDeadCode(out);
}
