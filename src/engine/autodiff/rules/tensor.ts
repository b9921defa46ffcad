// Gradient rules for ops that move or select data without arithmetic. All of them are linear, so
// each rule is the adjoint (transpose) of the data movement: reshapes reshape back, selections
// scatter back into zeros (with Pad/Concat/MatMul, never ScatterND: DirectML ignores its reduction).
import { attrInt, attrInts, nodeError } from '../../onnx/shapes/elementwise';
import { gatherShape, normalizeAxis, padParams, sliceParams, splitSizes } from '../../onnx/shapes/tensor';
import { numElements } from '../../onnx/ir';
import type { GradContext, GradRule, RuleEntry } from '../types';
import { reduceSum, reshape, shapeContextOf, unbroadcast, zerosOf } from '../unbroadcast';

const gradOf = (ctx: GradContext): string => {
  const g = ctx.gradOutput(0);
  if (g === undefined) throw new Error('no gradient reaches the output');
  return g;
};

/** Slice in the form the opset wants (inputs since 10; steps only then). */
function sliceOp(ctx: GradContext, x: string, starts: number[], ends: number[], axes: number[], steps?: number[]): string {
  const b = ctx.b;
  if (ctx.opset >= 10) {
    const inputs = [x, b.ints(starts), b.ints(ends), b.ints(axes)];
    if (steps) inputs.push(b.ints(steps));
    return b.op('Slice', inputs);
  }
  if (steps && steps.some((s) => s !== 1)) throw new Error('Slice steps need opset 10');
  return b.op('Slice', [x], { starts, ends, axes });
}

/** Zero padding in the form the opset wants (pads an input since 11). */
function padOp(ctx: GradContext, x: string, begin: number[], end: number[]): string {
  if (begin.every((p) => p === 0) && end.every((p) => p === 0)) return x;
  const pads = [...begin, ...end];
  return ctx.opset >= 11 ? ctx.b.op('Pad', [x, ctx.b.ints(pads)]) : ctx.b.op('Pad', [x], { pads, mode: 'constant' });
}

// Reshape, Flatten, Squeeze, Unsqueeze only relabel the same row-major data.
const reshapeBack: GradRule = (ctx) => [reshape(ctx.b, gradOf(ctx), ctx.shape(ctx.node.inputs[0]!))];

// Transpose by perm: the gradient goes back through the inverse permutation.
const transpose: GradRule = (ctx) => {
  const rank = ctx.shape(ctx.node.inputs[0]!).length;
  const perm = (attrInts(ctx.node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i)).map((p) => normalizeAxis(ctx.node, p, rank));
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return [ctx.b.op('Transpose', [gradOf(ctx)], { perm: inverse })];
};

// Concat: each input's gradient is its slab of g along the axis.
const concat: GradRule = (ctx) => {
  const g = gradOf(ctx);
  const rank = ctx.shape(ctx.node.inputs[0]!).length;
  const axis = normalizeAxis(ctx.node, attrInt(ctx.node, 'axis', 0), rank);
  let offset = 0;
  return ctx.node.inputs.map((x, i) => {
    const len = ctx.shape(x)[axis]!;
    const start = offset;
    offset += len;
    return ctx.needsGrad(i) ? sliceOp(ctx, g, [start], [start + len], [axis]) : undefined;
  });
};

// Split: the gradients of the pieces concatenated back (zeros for pieces no gradient reaches).
const split: GradRule = (ctx) => {
  const x = ctx.node.inputs[0]!;
  const xShape = ctx.shape(x);
  const axis = normalizeAxis(ctx.node, attrInt(ctx.node, 'axis', 0), xShape.length);
  const pieces = ctx.node.outputs.map((o, i) => ctx.gradOutput(i) ?? zerosOf(ctx.b, ctx.shape(o), ctx.dtype(x)));
  splitSizes(shapeContextOf(ctx), xShape[axis]!); // validates the sizes the outputs were typed with
  return [pieces.length === 1 ? pieces[0] : ctx.b.op('Concat', pieces, { axis })];
};

// Slice: g scattered back to the selected positions, zeros elsewhere. Per axis, a negative step is
// turned into a positive one by reversing g; a step s > 1 interleaves s-1 zeros after each element
// (Concat with zeros on a new axis + Reshape); one Pad then places the block at its offsets.
const slice: GradRule = (ctx) => {
  const x = ctx.node.inputs[0]!;
  const xShape = ctx.shape(x);
  const dtype = ctx.dtype(x);
  const params = sliceParams(shapeContextOf(ctx), xShape);
  if (params.some((p) => p.count === 0)) return [zerosOf(ctx.b, xShape, dtype)];
  let cur = gradOf(ctx);
  const shape = params.map((p) => p.count);
  const begin = new Array<number>(xShape.length).fill(0);
  const end = new Array<number>(xShape.length).fill(0);
  params.forEach((p, a) => {
    const m = p.count;
    let first = p.start;
    let step = p.step;
    if (step < 0) {
      cur = sliceOp(ctx, cur, [m - 1], [-(m + 1)], [a], [-1]);
      first = p.start + (m - 1) * step; // the smallest selected index
      step = -step;
    }
    if (step > 1 && m > 1) {
      const withUnit = [...shape.slice(0, a + 1), 1, ...shape.slice(a + 1)];
      const gaps = [...shape.slice(0, a + 1), step - 1, ...shape.slice(a + 1)];
      const interleaved = ctx.b.op('Concat', [reshape(ctx.b, cur, withUnit), zerosOf(ctx.b, gaps, dtype)], { axis: a + 1 });
      const spread = [...shape];
      spread[a] = m * step;
      // keep up to the last selected element: (m - 1) * step + 1 positions
      cur = sliceOp(ctx, reshape(ctx.b, interleaved, spread), [0], [(m - 1) * step + 1], [a]);
      shape[a] = (m - 1) * step + 1;
    }
    begin[a] = first;
    end[a] = xShape[a]! - first - shape[a]!;
  });
  return [padOp(ctx, cur, begin, end)];
};

// Pad (constant mode): the gradient is g cropped back to the input's window; where the forward
// pass cropped (negative pads) the gradient is zero, so those sides are padded with zeros.
const pad: GradRule = (ctx) => {
  const x = ctx.node.inputs[0]!;
  const xShape = ctx.shape(x);
  const { begin, end, mode } = padParams(shapeContextOf(ctx), xShape.length);
  if (mode !== 'constant') nodeError(ctx.node, `the gradient of Pad mode '${mode}' is not supported (only 'constant')`);
  const g = gradOf(ctx);
  const axes: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  xShape.forEach((d, a) => {
    const start = Math.max(begin[a]!, 0);
    const len = d + Math.min(begin[a]!, 0) + Math.min(end[a]!, 0);
    if (start === 0 && len === ctx.shape(ctx.node.outputs[0]!)[a]) return;
    axes.push(a);
    starts.push(start);
    ends.push(start + len);
  });
  const cropped = axes.length ? sliceOp(ctx, g, starts, ends, axes) : g;
  return [
    padOp(
      ctx,
      cropped,
      begin.map((p) => Math.max(-p, 0)),
      end.map((p) => Math.max(-p, 0)),
    ),
  ];
};

// Expand broadcasts: the gradient sums over the broadcast axes.
const expand: GradRule = (ctx) => [unbroadcast(ctx, gradOf(ctx), ctx.shape(ctx.node.outputs[0]!), ctx.shape(ctx.node.inputs[0]!))];

// Tile: y[k*d + i] = x[i] along every axis, so viewing g as [r0, d0, r1, d1, ...] and summing the
// repeat axes gives dx.
const tile: GradRule = (ctx) => {
  const xShape = ctx.shape(ctx.node.inputs[0]!);
  const yShape = ctx.shape(ctx.node.outputs[0]!);
  const repeats = xShape.map((d, i) => yShape[i]! / d);
  if (repeats.every((r) => r === 1)) return [gradOf(ctx)];
  const split = xShape.flatMap((d, i) => [repeats[i]!, d]);
  const summed = reduceSum(ctx, reshape(ctx.b, gradOf(ctx), split), xShape.map((_, i) => 2 * i), false);
  return [summed];
};

// Gather along `axis`: with data viewed as [P, dim, Q] and g as [P, N, Q] (N = number of indices),
// d data = OneHot^T g, where OneHot^T[j, n] = (index_n == j) is a [dim, N] matrix: one batched
// MatMul. Repeated indices add up, as they must.
const gather: GradRule = (ctx) => {
  const b = ctx.b;
  const [data, indices] = ctx.node.inputs as [string, string];
  const dataShape = ctx.shape(data);
  const idxShape = ctx.shape(indices);
  const { axis } = gatherShape(ctx.node, dataShape, idxShape);
  const dim = dataShape[axis]!;
  const n = numElements(idxShape);
  const idxType = ctx.dtype(indices);
  const flat = reshape(b, indices, [1, n]);
  // negative indices count from the end
  const wrapped = b.op('Where', [b.op('Less', [flat, b.constant([0], [], idxType)]), b.op('Add', [flat, b.constant([dim], [], idxType)]), flat]);
  const positions = b.constant(
    Array.from({ length: dim }, (_, i) => i),
    [dim, 1],
    idxType,
    'gather_positions',
  );
  const oneHotT = b.op('Cast', [b.op('Equal', [positions, wrapped])], { to: CODES[ctx.dtype(data)] ?? 1 });
  const p = numElements(dataShape.slice(0, axis));
  const q = numElements(dataShape.slice(axis + 1));
  const g3 = reshape(b, gradOf(ctx), [p, n, q]);
  return [reshape(b, b.op('MatMul', [oneHotT, g3]), dataShape), undefined];
};
const CODES: Record<string, number> = { float32: 1, float16: 10, float64: 11, bfloat16: 16 };

export const tensorRules: RuleEntry[] = [
  { opType: 'Reshape', rule: reshapeBack },
  { opType: 'Flatten', rule: reshapeBack },
  { opType: 'Squeeze', rule: reshapeBack },
  { opType: 'Unsqueeze', rule: reshapeBack },
  { opType: 'Transpose', rule: transpose },
  { opType: 'Concat', rule: concat },
  { opType: 'Split', rule: split },
  { opType: 'Slice', rule: slice },
  { opType: 'Pad', rule: pad },
  { opType: 'Expand', rule: expand },
  { opType: 'Tile', rule: tile },
  { opType: 'Gather', rule: gather },
];
