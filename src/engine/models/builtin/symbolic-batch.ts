// Makes the batch dimension of a graph built with a fixed batch symbolic, as the package format
// wants (manifest.ts: "batch dimension symbolic, everything else fixed").
//
// The layer helpers in src/engine/nn emit static shapes: a graph built at batch b carries b as
// the first element of every activation Reshape target and every Expand shape. This pass
//  - names dim 0 of every graph input and output `dimName`,
//  - rewrites Reshape targets [b, d1, ..] to [-1, d1, ..] (the other dims are static, so -1 can
//    only be the batch) and Expand shapes [b, ..] to [1, ..] (Expand broadcasts 1 up to the batch),
//  - drops the intermediate value_info, whose static batch would no longer hold.
// A Reshape of an activation whose target does not start with b (e.g. batch folded into heads)
// cannot be rewritten safely and fails naming the node.

import { UserError } from '../../../shared/errors';
import type { Model, Node, Tensor } from '../../onnx/ir';
import { removeDeadCode } from '../../onnx/passes/dead-code';
import { copyModel } from '../../onnx/passes/graph-edit';

export function symbolicBatch(model: Model, builtBatch: number, dimName = 'batch'): Model {
  if (!Number.isInteger(builtBatch) || builtBatch < 1) throw new RangeError(`symbolicBatch: built batch must be a positive integer, got ${builtBatch}`);
  const out = copyModel(model);
  const g = out.graph;
  const where = `model '${g.name}'`;
  for (const v of [...g.inputs, ...g.outputs]) {
    const first = v.shape?.[0];
    if (first === dimName) continue;
    if (first !== builtBatch) {
      throw new UserError('MODEL_BATCH', `${where}: '${v.name}' has shape [${v.shape ?? '?'}]; expected the batch ${builtBatch} first`);
    }
    v.shape![0] = dimName;
  }
  const isActivation = (name: string): boolean => !g.initializers.has(name);
  const shapeOf = (node: Node, index: number): { tensor: Tensor; values: number[] } | undefined => {
    const tensor = g.initializers.get(node.inputs[index] ?? '');
    if (!tensor || tensor.dtype !== 'int64' || !(tensor.data instanceof BigInt64Array)) return undefined;
    return { tensor, values: Array.from(tensor.data, Number) };
  };
  const replaceShape = (node: Node, index: number, tensor: Tensor, values: number[]): void => {
    let name = `${tensor.name}_symbolic_batch`;
    for (let k = 1; g.initializers.has(name); k++) name = `${tensor.name}_symbolic_batch_${k}`;
    g.initializers.set(name, { name, dtype: 'int64', dims: [...tensor.dims], data: BigInt64Array.from(values, (v) => BigInt(v)) });
    const inputs = [...node.inputs];
    inputs[index] = name;
    g.nodes[g.nodes.indexOf(node)] = { ...node, inputs };
  };
  for (const node of [...g.nodes]) {
    if (node.opType === 'Reshape' && isActivation(node.inputs[0]!)) {
      const shape = shapeOf(node, 1);
      if (!shape) throw new UserError('MODEL_BATCH', `${where}: Reshape '${node.name}' takes its target shape from a computed value; cannot make its batch symbolic`);
      const [first, ...rest] = shape.values;
      if (first === -1 || first === 0) continue; // already batch-agnostic
      if (first !== builtBatch || rest.some((d) => d <= 0)) {
        throw new UserError('MODEL_BATCH', `${where}: Reshape '${node.name}' to [${shape.values}] does not keep the batch ${builtBatch} as its own first dimension`);
      }
      replaceShape(node, 1, shape.tensor, [-1, ...rest]);
    } else if (node.opType === 'Expand') {
      const shape = shapeOf(node, 1);
      if (shape && shape.values[0] === builtBatch) replaceShape(node, 1, shape.tensor, [1, ...shape.values.slice(1)]);
    }
  }
  g.valueInfo = new Map();
  // the original targets are unused now (each helper Reshape owns its constant)
  return removeDeadCode(out);
}
