// Optional float16 storage of a graph's weights: each large float32 initializer is stored as
// binary16 (round to nearest, ties to even) under a new name, and a Cast back to float32 at the
// top of the graph recreates the original name. The graph computes in float32 as before, on
// weights rounded to half precision; files shrink by half. ORT folds the Casts of initializers
// when it opens the session, so inference pays nothing per run.

import { GraphBuilder } from '../../onnx/builder';
import type { Model, Node } from '../../onnx/ir';
import { copyModel } from '../../onnx/passes/graph-edit';
import { float32ToHalf } from '../sd1/float16';

/** the largest finite binary16 value: bigger weights stay float32 rather than become infinite */
const HALF_MAX = 65504;
/** ONNX TensorProto.DataType.FLOAT, the Cast target */
const ONNX_FLOAT = 1;

export function storeWeightsAsHalf(model: Model, minElements = 64): Model {
  const out = copyModel(model);
  const g = out.graph;
  const b = new GraphBuilder(g.name, { graph: { ...g, nodes: [] }, opsetImports: out.opsetImports });
  for (const node of g.nodes) {
    if (node.name) b.reserve(node.name);
    for (const o of node.outputs) if (o) b.reserve(o);
  }
  const casts: Node[] = [];
  for (const [name, t] of [...g.initializers]) {
    if (t.dtype !== 'float32' || !(t.data instanceof Float32Array) || t.data.length < minElements) continue;
    if (t.data.some((v) => !(Math.abs(v) <= HALF_MAX))) continue;
    const halfName = b.uniqueName(`${name}__fp16`);
    g.initializers.delete(name);
    g.initializers.set(halfName, { name: halfName, dtype: 'float16', dims: [...t.dims], data: float32ToHalf(t.data) });
    casts.push({ name: b.uniqueName(`${name}__cast`), opType: 'Cast', domain: '', inputs: [halfName], outputs: [name], attrs: { to: { type: 'int', value: ONNX_FLOAT } } });
  }
  g.nodes = [...casts, ...g.nodes];
  return out;
}
