// Shape functions for ops that move, select or create data: reshapes, slices, concatenation,
// gathers, constants and shape queries. Opset differences (attributes that became inputs) are
// resolved here, via the `*Params` readers that the gradient rules reuse.
import { numElements, type Node, type Tensor } from '../ir';
import { attrInt, attrInts, broadcastShapes, dtypeFromCode, nodeError, requireConstant, requireInput } from './elementwise';
import type { ShapeContext, ShapeFn, ShapeTable, StaticType } from './types';

/** A possibly negative axis made non-negative; error naming the node when out of [-rank, rank). */
export function normalizeAxis(node: Node, axis: number, rank: number): number {
  if (axis < -rank || axis >= rank) nodeError(node, `axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

/** Reads an axes-like operand: the attribute before `inputSince`, the optional input i from then on. */
export function axesOperand(ctx: ShapeContext, attr: string, inputIndex: number, inputSince: number): number[] | undefined {
  if (ctx.opset < inputSince) return attrInts(ctx.node, attr);
  if (!ctx.node.inputs[inputIndex]) return undefined;
  return requireConstant(ctx, inputIndex, attr);
}

const shape: ShapeFn = (ctx) => {
  const rank = requireInput(ctx, 0).shape.length;
  const [start, end] = shapeRange(ctx.node, rank);
  return [{ dtype: 'int64', shape: [Math.max(0, end - start)] }];
};

/** Shape's start/end attributes (opset 15), clamped as the spec says. */
export function shapeRange(node: Node, rank: number): [number, number] {
  const clamp = (v: number): number => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
  return [clamp(attrInt(node, 'start', 0)), clamp(attrInt(node, 'end', rank))];
}

/** The tensor a Constant node holds, with its values as numbers (value / value_float(s) / value_int(s)). */
export function constantAttrValue(node: Node): { type: StaticType; values: number[] | undefined } {
  const [name, a] = Object.entries(node.attrs)[0] ?? nodeError(node, 'has no value attribute');
  switch (a.type) {
    case 'tensor': {
      const t: Tensor = a.value;
      const values = t.data && !Array.isArray(t.data) && t.dtype !== 'float16' && t.dtype !== 'bfloat16' ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined;
      return { type: { dtype: t.dtype, shape: [...t.dims] }, values };
    }
    case 'float':
      return { type: { dtype: 'float32', shape: [] }, values: [a.value] };
    case 'floats':
      return { type: { dtype: 'float32', shape: [a.value.length] }, values: [...a.value] };
    case 'int':
      return { type: { dtype: 'int64', shape: [] }, values: [a.value] };
    case 'ints':
      return { type: { dtype: 'int64', shape: [a.value.length] }, values: [...a.value] };
    default:
      return nodeError(node, `value attribute '${name}' of type ${a.type} is not supported`);
  }
}

/** Reshape's target: 0 copies the input's dim (unless allowzero), -1 is inferred from the size. */
export function reshapeTarget(node: Node, input: number[], spec: number[]): number[] {
  const allowZero = attrInt(node, 'allowzero', 0) === 1;
  const out = spec.map((d, i) => (d === 0 && !allowZero ? (input[i] ?? nodeError(node, `shape entry ${i} is 0 but the input has rank ${input.length}`)) : d));
  const total = numElements(input);
  const inferred = out.indexOf(-1);
  if (inferred >= 0) {
    if (out.indexOf(-1, inferred + 1) >= 0) nodeError(node, 'shape has more than one -1');
    const known = numElements(out.filter((_, i) => i !== inferred));
    if (known === 0 || total % known !== 0) nodeError(node, `cannot reshape [${input}] to [${spec}]`);
    out[inferred] = total / known;
  }
  if (numElements(out) !== total) nodeError(node, `cannot reshape [${input}] (${total} elements) to [${spec}]`);
  return out;
}

/** Normalised Slice parameters per axis of the data (start index, step, output count). */
export interface SliceAxis {
  start: number;
  step: number;
  count: number;
}

/**
 * Resolves Slice's starts/ends/axes/steps (inputs since opset 10, attributes before) against the
 * data shape with the spec's clamping: for a positive step start and end clamp to [0, dim]; for a
 * negative step start clamps to [0, dim-1] and end to [-1, dim-1].
 */
export function sliceParams(ctx: ShapeContext, dims: number[]): SliceAxis[] {
  const node = ctx.node;
  let starts: number[];
  let ends: number[];
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (ctx.opset < 10) {
    starts = attrInts(node, 'starts') ?? nodeError(node, "needs attribute 'starts'");
    ends = attrInts(node, 'ends') ?? nodeError(node, "needs attribute 'ends'");
    axes = attrInts(node, 'axes');
  } else {
    starts = requireConstant(ctx, 1, 'starts');
    ends = requireConstant(ctx, 2, 'ends');
    axes = node.inputs[3] ? requireConstant(ctx, 3, 'axes') : undefined;
    steps = node.inputs[4] ? requireConstant(ctx, 4, 'steps') : undefined;
  }
  if (starts.length !== ends.length) nodeError(node, `starts has ${starts.length} entries but ends has ${ends.length}`);
  const result: SliceAxis[] = dims.map((d) => ({ start: 0, step: 1, count: d }));
  const seen = new Set<number>();
  starts.forEach((rawStart, k) => {
    const axis = normalizeAxis(node, axes ? axes[k]! : k, dims.length);
    if (seen.has(axis)) nodeError(node, `axis ${axis} is sliced twice`);
    seen.add(axis);
    const dim = dims[axis]!;
    const step = steps ? steps[k]! : 1;
    if (step === 0) nodeError(node, 'a step is 0');
    let start = rawStart < 0 ? rawStart + dim : rawStart;
    let end = ends[k]! < 0 ? ends[k]! + dim : ends[k]!;
    if (step > 0) {
      start = Math.min(Math.max(start, 0), dim);
      end = Math.min(Math.max(end, 0), dim);
    } else {
      start = Math.min(Math.max(start, 0), dim - 1);
      end = Math.min(Math.max(end, -1), dim - 1);
    }
    const count = Math.max(0, Math.ceil((end - start) / step));
    result[axis] = { start, step, count };
  });
  return result;
}

/** Pad's begin/end amounts per axis and mode (pads/axes are inputs since opset 11/18). */
export function padParams(ctx: ShapeContext, rank: number): { begin: number[]; end: number[]; mode: string } {
  const node = ctx.node;
  const pads = ctx.opset < 11 ? (attrInts(node, 'pads') ?? nodeError(node, "needs attribute 'pads'")) : requireConstant(ctx, 1, 'pads');
  const axesRaw = ctx.opset >= 18 && node.inputs[3] ? requireConstant(ctx, 3, 'axes') : undefined;
  const axes = axesRaw ? axesRaw.map((a) => normalizeAxis(node, a, rank)) : Array.from({ length: rank }, (_, i) => i);
  if (pads.length !== 2 * axes.length) nodeError(node, `pads has ${pads.length} entries, expected ${2 * axes.length}`);
  const begin = new Array<number>(rank).fill(0);
  const end = new Array<number>(rank).fill(0);
  axes.forEach((a, k) => {
    begin[a] = pads[k]!;
    end[a] = pads[k + axes.length]!;
  });
  const modeAttr = node.attrs['mode'];
  return { begin, end, mode: modeAttr && modeAttr.type === 'string' ? modeAttr.value : 'constant' };
}

/** Split sizes along the axis: the split input (13+) / attribute (<13), num_outputs (18+), or equal parts. */
export function splitSizes(ctx: ShapeContext, dim: number): number[] {
  const node = ctx.node;
  const explicit = ctx.opset < 13 ? attrInts(node, 'split') : node.inputs[1] ? requireConstant(ctx, 1, 'split') : undefined;
  const n = node.outputs.length;
  if (explicit) {
    if (explicit.length !== n) nodeError(node, `split has ${explicit.length} sizes for ${n} outputs`);
    if (explicit.reduce((a, b) => a + b, 0) !== dim) nodeError(node, `split sizes [${explicit}] do not add up to ${dim}`);
    return explicit;
  }
  // opset 18 with num_outputs: ceil-sized chunks, the last one smaller
  if (ctx.opset >= 18 && node.attrs['num_outputs']) {
    const chunk = Math.ceil(dim / n);
    return Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
  }
  if (dim % n !== 0) nodeError(node, `cannot split ${dim} into ${n} equal parts`);
  return new Array<number>(n).fill(dim / n);
}

/** Squeeze/Unsqueeze axes (attribute before opset 13, input from 13). */
function squeezeAxes(ctx: ShapeContext): number[] | undefined {
  return axesOperand(ctx, 'axes', 1, 13);
}

/** Unsqueeze's output shape: axes are positions in the output. */
export function unsqueezedShape(node: Node, input: number[], axes: number[]): number[] {
  const rank = input.length + axes.length;
  const at = new Set(axes.map((a) => normalizeAxis(node, a, rank)));
  if (at.size !== axes.length) nodeError(node, `axes [${axes}] repeat an axis`);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? 1 : input[k++]!);
  return out;
}

/** Gather's output shape: data.shape[:axis] + indices.shape + data.shape[axis+1:]. */
export function gatherShape(node: Node, data: number[], indices: number[]): { axis: number; shape: number[] } {
  const axis = normalizeAxis(node, attrInt(node, 'axis', 0), data.length);
  return { axis, shape: [...data.slice(0, axis), ...indices, ...data.slice(axis + 1)] };
}

const same = (t: StaticType, shape: number[]): StaticType[] => [{ dtype: t.dtype, shape }];

export const tensorShapes: ShapeTable = {
  Shape: shape,
  Size: () => [{ dtype: 'int64', shape: [] }],
  Constant: (ctx) => [constantAttrValue(ctx.node).type],
  ConstantOfShape: (ctx) => {
    const dims = requireConstant(ctx, 0, 'shape');
    const value = ctx.node.attrs['value'];
    return [{ dtype: value && value.type === 'tensor' ? value.value.dtype : 'float32', shape: dims }];
  },
  Range: (ctx) => {
    const [start, limit, delta] = [0, 1, 2].map((i) => requireConstant(ctx, i, ['start', 'limit', 'delta'][i]!)[0]!);
    if (delta === 0) nodeError(ctx.node, 'delta is 0');
    return [{ dtype: requireInput(ctx, 0).dtype, shape: [Math.max(Math.ceil((limit! - start!) / delta!), 0)] }];
  },
  Reshape: (ctx) => {
    const x = requireInput(ctx, 0);
    return same(x, reshapeTarget(ctx.node, x.shape, requireConstant(ctx, 1, 'shape')));
  },
  Transpose: (ctx) => {
    const x = requireInput(ctx, 0);
    const perm = attrInts(ctx.node, 'perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
    if (perm.length !== x.shape.length || new Set(perm).size !== perm.length) nodeError(ctx.node, `perm [${perm}] does not fit rank ${x.shape.length}`);
    return same(
      x,
      perm.map((p) => x.shape[normalizeAxis(ctx.node, p, x.shape.length)]!),
    );
  },
  Flatten: (ctx) => {
    const x = requireInput(ctx, 0);
    const rank = x.shape.length;
    const raw = attrInt(ctx.node, 'axis', 1);
    if (raw < -rank || raw > rank) nodeError(ctx.node, `axis ${raw} is out of range for rank ${rank}`);
    const axis = raw < 0 ? raw + rank : raw;
    return same(x, [numElements(x.shape.slice(0, axis)), numElements(x.shape.slice(axis))]);
  },
  SpaceToDepth: (ctx) => {
    const x = requireInput(ctx, 0);
    const block = attrInt(ctx.node, 'blocksize', 0);
    if (x.shape.length !== 4) nodeError(ctx.node, `input must be 4-D [N, C, H, W], got [${x.shape}]`);
    const [n, c, h, w] = x.shape as [number, number, number, number];
    if (!(block >= 1) || h % block !== 0 || w % block !== 0) nodeError(ctx.node, `blocksize ${block} does not divide ${h}x${w}`);
    return same(x, [n, c * block * block, h / block, w / block]);
  },
  Squeeze: (ctx) => {
    const x = requireInput(ctx, 0);
    const axes = squeezeAxes(ctx);
    const drop = new Set(axes ? axes.map((a) => normalizeAxis(ctx.node, a, x.shape.length)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
    for (const a of drop) if (x.shape[a] !== 1) nodeError(ctx.node, `cannot squeeze axis ${a} of size ${x.shape[a]}`);
    return same(
      x,
      x.shape.filter((_, i) => !drop.has(i)),
    );
  },
  Unsqueeze: (ctx) => {
    const x = requireInput(ctx, 0);
    const axes = squeezeAxes(ctx) ?? nodeError(ctx.node, 'needs axes');
    return same(x, unsqueezedShape(ctx.node, x.shape, axes));
  },
  Concat: (ctx) => {
    const first = requireInput(ctx, 0);
    const axis = normalizeAxis(ctx.node, attrInt(ctx.node, 'axis', 0), first.shape.length);
    const out = [...first.shape];
    out[axis] = 0;
    for (let i = 0; i < ctx.node.inputs.length; i++) {
      const t = requireInput(ctx, i);
      if (t.shape.length !== out.length || t.shape.some((d, k) => k !== axis && d !== out[k])) {
        nodeError(ctx.node, `input ${i} of shape [${t.shape}] does not match [${first.shape}] off axis ${axis}`);
      }
      out[axis] = out[axis]! + t.shape[axis]!;
    }
    return same(first, out);
  },
  Split: (ctx) => {
    const x = requireInput(ctx, 0);
    const axis = normalizeAxis(ctx.node, attrInt(ctx.node, 'axis', 0), x.shape.length);
    return splitSizes(ctx, x.shape[axis]!).map((size) => {
      const s = [...x.shape];
      s[axis] = size;
      return { dtype: x.dtype, shape: s };
    });
  },
  Slice: (ctx) => {
    const x = requireInput(ctx, 0);
    return same(
      x,
      sliceParams(ctx, x.shape).map((p) => p.count),
    );
  },
  Pad: (ctx) => {
    const x = requireInput(ctx, 0);
    const { begin, end } = padParams(ctx, x.shape.length);
    const out = x.shape.map((d, i) => d + begin[i]! + end[i]!);
    if (out.some((d) => d < 0)) nodeError(ctx.node, `pads crop [${x.shape}] below zero`);
    return same(x, out);
  },
  Expand: (ctx) => {
    const x = requireInput(ctx, 0);
    return same(x, broadcastShapes([x.shape, requireConstant(ctx, 1, 'shape')], ctx.node));
  },
  Tile: (ctx) => {
    const x = requireInput(ctx, 0);
    const repeats = requireConstant(ctx, 1, 'repeats');
    if (repeats.length !== x.shape.length) nodeError(ctx.node, `repeats has ${repeats.length} entries for rank ${x.shape.length}`);
    return same(
      x,
      x.shape.map((d, i) => d * repeats[i]!),
    );
  },
  Gather: (ctx) => {
    const data = requireInput(ctx, 0);
    return same(data, gatherShape(ctx.node, data.shape, requireInput(ctx, 1).shape).shape);
  },
  CastLike: (ctx) => [{ dtype: requireInput(ctx, 1).dtype, shape: [...requireInput(ctx, 0).shape] }],
  EyeLike: (ctx) => {
    const x = requireInput(ctx, 0);
    const dt = ctx.node.attrs['dtype'];
    return [{ dtype: dt && dt.type === 'int' ? dtypeFromCode(ctx.node, dt.value) : x.dtype, shape: [...x.shape] }];
  },
};
