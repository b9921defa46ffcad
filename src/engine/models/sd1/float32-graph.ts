// Widening a float16 SD 1.x graph (an fp16 export) to float32 for training: onnxruntime-node's
// gradient graph is composed in float32 (the trained tensors, the Adam state and the loss are
// float32, and half precision gradients through a frozen UNet underflow). Every float16 value
// becomes float32: initializers (values widened exactly), graph inputs, outputs and value_info,
// Cast targets, Constant / ConstantOfShape values and the `dtype` of generator ops. The maths is
// unchanged; the float32 graph computes what the fp16 one approximates.
// A graph that holds float16 anywhere this pass does not know how to widen (a subgraph, an
// external tensor without loaded data) is refused naming the file, before any compute.

import { UserError } from '../../../shared/errors';
import { ONNX_DTYPE_CODE, type AttrValue, type Model, type Tensor } from '../../onnx/ir';
import { copyModel } from '../../onnx/passes/graph-edit';
import { halfToFloat32 } from './float16';

const FLOAT = ONNX_DTYPE_CODE.float32;
const FLOAT16 = ONNX_DTYPE_CODE.float16;
/** attributes that name an element type */
const DTYPE_ATTRS = new Set(['to', 'dtype']);

function widenTensor(t: Tensor, file: string, what: string): Tensor {
  if (t.dtype !== 'float16') return t;
  if (!t.data) throw new UserError('sd-float16', `${file}: float16 ${what} '${t.name}' has no loaded data (external data not read)`);
  if (!(t.data instanceof Uint16Array)) throw new UserError('sd-float16', `${file}: float16 ${what} '${t.name}' is not stored as 16-bit patterns`);
  return { name: t.name, dtype: 'float32', dims: [...t.dims], data: halfToFloat32(t.data) };
}

/** True when the model holds any float16 value, weight or type attribute. */
export function hasFloat16(model: Model): boolean {
  const g = model.graph;
  if ([...g.initializers.values()].some((t) => t.dtype === 'float16')) return true;
  if ([...g.inputs, ...g.outputs, ...g.valueInfo.values()].some((v) => v.dtype === 'float16')) return true;
  return g.nodes.some((n) => Object.entries(n.attrs).some(([k, a]) => (DTYPE_ATTRS.has(k) && a.type === 'int' && a.value === FLOAT16) || (a.type === 'tensor' && a.value.dtype === 'float16')));
}

/** A float32 copy of `model` (the model itself when it holds no float16). `file` names it in errors. */
export function widenToFloat32(model: Model, file: string): Model {
  if (!hasFloat16(model)) return model;
  const out = copyModel(model);
  const g = out.graph;
  for (const [name, t] of g.initializers) g.initializers.set(name, widenTensor(t, file, 'initializer'));
  const widen = <T extends { dtype: string }>(v: T): T => (v.dtype === 'float16' ? { ...v, dtype: 'float32' } : v);
  g.inputs = g.inputs.map(widen);
  g.outputs = g.outputs.map(widen);
  for (const [k, v] of g.valueInfo) g.valueInfo.set(k, widen(v));
  g.nodes = g.nodes.map((node) => {
    let attrs: Record<string, AttrValue> | undefined;
    for (const [key, a] of Object.entries(node.attrs)) {
      let next: AttrValue | undefined;
      if (a.type === 'raw') {
        throw new UserError('sd-float16', `${file}: node '${node.name}' (${node.opType}) holds a subgraph; float16 graphs with control flow cannot be widened for training`);
      }
      if (DTYPE_ATTRS.has(key) && a.type === 'int' && a.value === FLOAT16) next = { type: 'int', value: FLOAT };
      if (a.type === 'tensor' && a.value.dtype === 'float16') next = { type: 'tensor', value: widenTensor(a.value, file, `attribute '${key}' of node '${node.name}'`) };
      if (next) (attrs ??= { ...node.attrs })[key] = next;
    }
    return attrs ? { ...node, attrs } : node;
  });
  return out;
}
