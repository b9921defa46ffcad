// Shape functions for reductions (ReduceX, ArgMax/ArgMin) and the softmax family.
import type { Node } from '../ir';
import { attrInt, nodeError, requireInput } from './elementwise';
import { axesOperand, normalizeAxis } from './tensor';
import type { ShapeContext, ShapeFn, ShapeTable } from './types';

/** The opset from which each ReduceX takes its axes as an input instead of an attribute. */
export const REDUCE_AXES_INPUT_SINCE: Record<string, number> = {
  ReduceSum: 13,
  ReduceMean: 18,
  ReduceMax: 18,
  ReduceMin: 18,
  ReduceProd: 18,
  ReduceL1: 18,
  ReduceL2: 18,
  ReduceLogSumExp: 18,
  ReduceSumSquare: 18,
};

/**
 * The reduced axes (sorted, non-negative) of a ReduceX node, or [] when it is a no-op
 * (empty axes with noop_with_empty_axes=1). Empty axes otherwise mean every axis.
 */
export function reduceAxes(ctx: ShapeContext, rank: number): number[] {
  const node = ctx.node;
  const since = REDUCE_AXES_INPUT_SINCE[node.opType] ?? nodeError(node, 'is not a known reduction');
  const axes = axesOperand(ctx, 'axes', 1, since);
  if (!axes || axes.length === 0) {
    return attrInt(node, 'noop_with_empty_axes', 0) === 1 ? [] : Array.from({ length: rank }, (_, i) => i);
  }
  const normal = [...new Set(axes.map((a) => normalizeAxis(node, a, rank)))];
  return normal.sort((a, b) => a - b);
}

/** The input shape with the reduced axes set to 1 (keepdims) or removed. */
export function reducedShape(shape: number[], axes: number[], keepDims: boolean): number[] {
  const reduced = new Set(axes);
  return keepDims ? shape.map((d, i) => (reduced.has(i) ? 1 : d)) : shape.filter((_, i) => !reduced.has(i));
}

const reduce: ShapeFn = (ctx) => {
  const x = requireInput(ctx, 0);
  const axes = reduceAxes(ctx, x.shape.length);
  return [{ dtype: x.dtype, shape: reducedShape(x.shape, axes, attrInt(ctx.node, 'keepdims', 1) === 1) }];
};

const argReduce: ShapeFn = (ctx) => {
  const x = requireInput(ctx, 0);
  const axis = normalizeAxis(ctx.node, attrInt(ctx.node, 'axis', 0), x.shape.length);
  return [{ dtype: 'int64', shape: reducedShape(x.shape, [axis], attrInt(ctx.node, 'keepdims', 1) === 1) }];
};

/** Softmax-family axis: default -1 from opset 13, 1 before (where the input is coerced to 2-D). */
export function softmaxAxis(node: Node, opset: number, rank: number): number {
  return normalizeAxis(node, attrInt(node, 'axis', opset >= 13 ? -1 : 1), rank);
}

const softmaxLike: ShapeFn = (ctx) => {
  const x = requireInput(ctx, 0);
  softmaxAxis(ctx.node, ctx.opset, x.shape.length);
  return [{ dtype: x.dtype, shape: [...x.shape] }];
};

export const reductionShapes: ShapeTable = {
  ...Object.fromEntries(Object.keys(REDUCE_AXES_INPUT_SINCE).map((op) => [op, reduce])),
  ArgMax: argReduce,
  ArgMin: argReduce,
  Softmax: softmaxLike,
  LogSoftmax: softmaxLike,
};
