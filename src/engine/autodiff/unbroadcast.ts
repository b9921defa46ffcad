// Undoing broadcasting in the backward pass, plus the opset-correct emitters of the few ops every
// rule group needs (ReduceSum/ReduceMean took their axes as an input from opset 13/18;
// Squeeze/Unsqueeze from 13).
//
// If y = f(broadcast(x)) then dL/dx sums dL/dy over every axis that broadcasting created
// (leading axes x lacks) or stretched (axes where x has size 1 and y does not).
import type { GraphBuilder } from '../onnx/builder';
import type { DType } from '../onnx/ir';
import type { ShapeContext } from '../onnx/shapes/types';
import type { GradContext } from './types';

/** What the emitters need from a GradContext. */
export type EmitContext = Pick<GradContext, 'b' | 'opset'>;

/** ReduceSum over `axes` (non-empty) in the form the opset wants. */
export function reduceSum(ctx: EmitContext, x: string, axes: number[], keepDims: boolean): string {
  return reduceOp(ctx, 'ReduceSum', 13, x, axes, keepDims);
}

/** ReduceMean over `axes` (non-empty) in the form the opset wants. */
export function reduceMean(ctx: EmitContext, x: string, axes: number[], keepDims: boolean): string {
  return reduceOp(ctx, 'ReduceMean', 18, x, axes, keepDims);
}

function reduceOp(ctx: EmitContext, op: string, axesInputSince: number, x: string, axes: number[], keepDims: boolean): string {
  if (axes.length === 0) throw new Error(`${op}: empty axes would mean 'all axes'; pass them explicitly`);
  const keepdims = keepDims ? 1 : 0;
  if (ctx.opset >= axesInputSince) return ctx.b.op(op, [x, ctx.b.ints(axes)], { keepdims });
  return ctx.b.op(op, [x], { axes, keepdims });
}

/** Reshape to a static shape. */
export function reshape(b: GraphBuilder, x: string, shape: readonly number[]): string {
  return b.op('Reshape', [x, b.ints([...shape])]);
}

/** Unsqueeze in the form the opset wants. */
export function unsqueeze(ctx: EmitContext, x: string, axes: number[]): string {
  return ctx.opset >= 13 ? ctx.b.op('Unsqueeze', [x, ctx.b.ints(axes)]) : ctx.b.op('Unsqueeze', [x], { axes });
}

/** A scalar (rank 0) constant of a floating dtype; float16 is stored as its bit pattern. */
export function scalarOf(b: GraphBuilder, value: number, dtype: DType): string {
  return constantOf(b, [value], [], dtype, 'scalar');
}

/** A constant tensor of a floating dtype; float16 is stored as its bit pattern. */
export function constantOf(b: GraphBuilder, values: readonly number[], dims: number[], dtype: DType, prefix = 'const'): string {
  if (dtype === 'float16') return b.constant(Uint16Array.from(values, toHalfBits), dims, 'float16', prefix);
  return b.constant(values, dims, dtype, prefix);
}

/** A zero tensor of a static shape, made at run time (no initializer of that size). */
export function zerosOf(b: GraphBuilder, shape: readonly number[], dtype: DType): string {
  const value = { name: 'value', dtype, dims: [1], data: dtype === 'float16' ? new Uint16Array([0]) : dtype === 'float64' ? new Float64Array([0]) : new Float32Array([0]) };
  return b.op('ConstantOfShape', [b.ints([...shape])], { value: { type: 'tensor', value } });
}

/** The dL/dx of shape `toShape` for a gradient `grad` of shape `fromShape` that x was broadcast to. */
export function unbroadcast(ctx: EmitContext, grad: string, fromShape: readonly number[], toShape: readonly number[]): string {
  if (fromShape.length < toShape.length) throw new Error(`unbroadcast: [${fromShape}] has lower rank than [${toShape}]`);
  const lead = fromShape.length - toShape.length;
  const axes: number[] = [];
  for (let i = 0; i < fromShape.length; i++) {
    if (i < lead) axes.push(i);
    else if (toShape[i - lead] === 1 && fromShape[i] !== 1) axes.push(i);
    else if (toShape[i - lead] !== fromShape[i]) throw new Error(`unbroadcast: [${toShape}] does not broadcast to [${fromShape}]`);
  }
  if (axes.length === 0) return lead === 0 ? grad : reshape(ctx.b, grad, toShape);
  const summed = reduceSum(ctx, grad, axes, true);
  // keepdims left `lead` unit axes in front; a Reshape drops them (and is free at run time)
  return lead === 0 ? summed : reshape(ctx.b, summed, toShape);
}

/** IEEE 754 binary16 bits of a number (round to nearest even), for float16 constants. */
function toHalfBits(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  return sign | (half + (rem > 0x1000 || (rem === 0x1000 && half & 1) ? 1 : 0));
}

/** A shape-function context for the forward node of a GradContext (to reuse the shapes/* parameter readers). */
export function shapeContextOf(ctx: GradContext): ShapeContext {
  const { node } = ctx;
  return {
    node,
    opset: ctx.opset,
    input: (i) => (node.inputs[i] ? { dtype: ctx.dtype(node.inputs[i]!), shape: ctx.shape(node.inputs[i]!) } : undefined),
    constant: (i) => (node.inputs[i] ? ctx.constant(node.inputs[i]!) : undefined),
  };
}
