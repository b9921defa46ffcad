// Gradient rules for reductions and the softmax family.
import { attrInt } from '../../onnx/shapes/elementwise';
import { reduceAxes, reducedShape, softmaxAxis } from '../../onnx/shapes/reduction';
import { numElements } from '../../onnx/ir';
import type { GradContext, GradRule, RuleEntry } from '../types';
import { reduceSum, reshape, scalarOf, shapeContextOf } from '../unbroadcast';

interface Reduction {
  x: string;
  xShape: number[];
  axes: number[];
  /** the incoming gradient reshaped to the keepdims shape (unit dims at the reduced axes) */
  gKept: string;
  keptShape: number[];
}

function reduction(ctx: GradContext): Reduction | undefined {
  const x = ctx.node.inputs[0]!;
  const xShape = ctx.shape(x);
  const axes = reduceAxes(shapeContextOf(ctx), xShape.length);
  if (axes.length === 0) return undefined; // noop_with_empty_axes: y = x
  const keptShape = reducedShape(xShape, axes, true);
  const g = ctx.gradOutput(0)!;
  const keep = attrInt(ctx.node, 'keepdims', 1) === 1;
  return { x, xShape, axes, keptShape, gKept: keep ? g : reshape(ctx.b, g, keptShape) };
}

const expandTo = (ctx: GradContext, v: string, shape: number[]): string => ctx.b.op('Expand', [v, ctx.b.ints(shape)]);

// y = sum over axes: every summed element gets the gradient of its sum.
const reduceSumRule: GradRule = (ctx) => {
  const r = reduction(ctx);
  if (!r) return [ctx.gradOutput(0)];
  return [expandTo(ctx, r.gKept, r.xShape)];
};

// y = mean over axes: like the sum, divided by the number of elements averaged.
const reduceMeanRule: GradRule = (ctx) => {
  const r = reduction(ctx);
  if (!r) return [ctx.gradOutput(0)];
  const count = numElements(r.axes.map((a) => r.xShape[a]!));
  const scaled = ctx.b.op('Mul', [r.gKept, scalarOf(ctx.b, 1 / count, ctx.dtype(r.x))]);
  return [expandTo(ctx, scaled, r.xShape)];
};

// y = max (min) over axes: the gradient goes to the extreme element(s), split evenly between ties.
const reduceExtremeRule: GradRule = (ctx) => {
  const r = reduction(ctx);
  if (!r) return [ctx.gradOutput(0)];
  const b = ctx.b;
  const y = ctx.node.outputs[0]!;
  const yKept = attrInt(ctx.node, 'keepdims', 1) === 1 ? y : reshape(b, y, r.keptShape);
  const hits = b.op('Cast', [b.op('Equal', [r.x, yKept])], { to: DTYPE_CODE[ctx.dtype(r.x)] ?? 1 });
  const ties = reduceSum(ctx, hits, r.axes, true);
  return [b.op('Mul', [hits, b.op('Div', [r.gKept, ties])])];
};
const DTYPE_CODE: Record<string, number> = { float32: 1, float16: 10, float64: 11, bfloat16: 16 };

/**
 * The axes a softmax normalises over: the one axis from opset 13; before 13 the input is coerced
 * to 2-D at `axis`, so every axis from `axis` on.
 */
function softmaxAxes(ctx: GradContext): number[] {
  const rank = ctx.shape(ctx.node.inputs[0]!).length;
  const axis = softmaxAxis(ctx.node, ctx.opset, rank);
  return ctx.opset >= 13 ? [axis] : Array.from({ length: rank - axis }, (_, i) => axis + i);
}

// y = softmax(x): dx = y * (g - sum(g * y))
const softmaxRule: GradRule = (ctx) => {
  const b = ctx.b;
  const y = ctx.node.outputs[0]!;
  const g = ctx.gradOutput(0)!;
  const dot = reduceSum(ctx, b.op('Mul', [g, y]), softmaxAxes(ctx), true);
  return [b.op('Mul', [y, b.op('Sub', [g, dot])])];
};

// y = log softmax(x): dx = g - exp(y) * sum(g)
const logSoftmaxRule: GradRule = (ctx) => {
  const b = ctx.b;
  const y = ctx.node.outputs[0]!;
  const g = ctx.gradOutput(0)!;
  const total = reduceSum(ctx, g, softmaxAxes(ctx), true);
  return [b.op('Sub', [g, b.op('Mul', [b.op('Exp', [y]), total])])];
};

export const reductionRules: RuleEntry[] = [
  { opType: 'ReduceSum', rule: reduceSumRule },
  { opType: 'ReduceMean', rule: reduceMeanRule },
  // the mask compares floats with Equal, which takes floats from opset 11
  { opType: 'ReduceMax', sinceOpset: 11, rule: reduceExtremeRule },
  { opType: 'ReduceMin', sinceOpset: 11, rule: reduceExtremeRule },
  { opType: 'Softmax', rule: softmaxRule },
  { opType: 'LogSoftmax', rule: logSoftmaxRule },
];
