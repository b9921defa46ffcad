// Gradient rules for AveragePool, MaxPool, GlobalAveragePool and GlobalMaxPool.
//
// Both windowed pools read, for output o and kernel tap kk (per axis), the padded input at
// o*s + kk*d. Their adjoints scatter each output's share back to those positions, which is a
// ConvTranspose with the same strides, dilations and pads (scatterWindows). Channels are folded
// into the batch ([N*C, 1, ...]) so the ConvTranspose kernels stay tiny and do not depend on C.
//   AveragePool: Y[o] = (1/cnt[o]) * sum of the window's in-image values. The divisor follows
//     count_include_pad, the ceil_mode overhang and the runtime's conventions, so rather than
//     re-deriving it the rule asks the runtime: AveragePool(ones)[o] = valid[o]/cnt[o], where
//     valid[o] (in-image taps) is plain geometry. The scatter then uses an all-ones kernel.
//   MaxPool: every tap equal to the window's max shares the gradient equally (a valid
//     subgradient that is symmetric under ties). The taps are gathered exactly with strided
//     Slices of the input padded with -inf (never a Conv: cuDNN/TF32 would round them and break
//     the equality), compared with Y, and the shares scattered by a ConvTranspose whose kernel
//     has one one-hot slice per tap. No ScatterND/ScatterElements: their accumulate modes are
//     not supported everywhere.
import type { GraphBuilder } from '../../onnx/builder';
import type { Node } from '../../onnx/ir';
import { nodeError } from '../../onnx/shapes/elementwise';
import { poolAxes, type WindowAxis } from '../../onnx/shapes/nn';
import type { GradContext, RuleEntry } from '../types';
import { reduceSum, reshape, scalarOf } from '../unbroadcast';

/** All kernel tap positions (one index per axis), row-major. */
function kernelTaps(kernel: readonly number[]): number[][] {
  let taps: number[][] = [[]];
  for (const k of kernel) taps = taps.flatMap((t) => Array.from({ length: k }, (_, i) => [...t, i]));
  return taps;
}

function product(values: readonly number[]): number {
  return values.reduce((a, v) => a * v, 1);
}

/** Padded length the windows reach on an axis: (out-1)*s + d*(k-1) + 1. */
function reach(ax: WindowAxis): number {
  return (ax.outSize - 1) * ax.stride + ax.dilation * (ax.kernel - 1) + 1;
}

/**
 * ConvTranspose of `values` [B, taps, ...out] with `weights` [taps, 1, ...k] back onto the input
 * grid [B, 1, ...in]: output position o*s + kk*d - padBegin receives values[o] * weights[kk].
 * The end crop and output_padding are chosen so the result has exactly the input's size (the
 * windows may stop short of the input's end, or run past it in ceil_mode).
 */
function scatterWindows(b: GraphBuilder, node: Node, values: string, weights: string, axes: readonly WindowAxis[]): string {
  const cropEnd = axes.map((ax) => Math.max(0, reach(ax) - ax.padBegin - ax.inSize));
  const outputPadding = axes.map((ax, i) => ax.inSize - (reach(ax) - ax.padBegin - cropEnd[i]!));
  axes.forEach((ax, i) => {
    // the trailing inputs no window touches are fewer than one stride; guard the invariant
    if (outputPadding[i]! >= Math.max(ax.stride, ax.dilation)) nodeError(node, `internal: output_padding ${outputPadding[i]} on axis ${i}`);
  });
  return b.op('ConvTranspose', [values, weights], {
    strides: axes.map((ax) => ax.stride),
    dilations: axes.map((ax) => ax.dilation),
    pads: [...axes.map((ax) => ax.padBegin), ...cropEnd],
    output_padding: outputPadding,
  });
}

/**
 * Number of in-image taps of every window, as a product of per-axis counts: one small constant
 * per axis, shaped [1, 1, ..., out_a, ..., 1], multiplied together by broadcasting.
 */
function inImageTapCounts(b: GraphBuilder, axes: readonly WindowAxis[]): string {
  const factors = axes.map((ax, a) => {
    const counts = Array.from({ length: ax.outSize }, (_, o) => {
      let n = 0;
      for (let kk = 0; kk < ax.kernel; kk++) {
        const p = o * ax.stride + kk * ax.dilation - ax.padBegin;
        if (p >= 0 && p < ax.inSize) n++;
      }
      // a window entirely in the padding reads nothing; 1 keeps the division finite
      return Math.max(n, 1);
    });
    return b.constant(counts, [1, 1, ...axes.map((other, i) => (i === a ? other.outSize : 1))], 'float32', 'pool_valid_taps');
  });
  return factors.reduce((acc, f) => b.op('Mul', [acc, f]));
}

/** A float32 tensor of ones made at run time (folded by the runtime; no initializer of that size). */
function onesOf(b: GraphBuilder, shape: readonly number[]): string {
  const value = { name: 'value', dtype: 'float32' as const, dims: [1], data: new Float32Array([1]) };
  return b.op('ConstantOfShape', [b.ints([...shape])], { value: { type: 'tensor', value } });
}

function requireFloat32(ctx: GradContext, value: string): void {
  const dt = ctx.dtype(value);
  if (dt !== 'float32') nodeError(ctx.node, `pool gradients are built for float32 tensors, got ${dt}`);
}

const averagePoolGrad = (ctx: GradContext): (string | undefined)[] => {
  const { b, node } = ctx;
  const dy = ctx.gradOutput(0);
  const x = node.inputs[0]!;
  if (dy === undefined || !ctx.needsGrad(0)) return ctx.node.inputs.map(() => undefined);
  requireFloat32(ctx, x);
  const xShape = ctx.shape(x);
  const axes = poolAxes(node, xShape);
  const [n, c] = xShape as [number, number];
  const inSpatial = axes.map((ax) => ax.inSize);
  const outSpatial = axes.map((ax) => ax.outSize);
  // 1/cnt[o] = AveragePool(ones)[o] / valid[o]: the runtime's own divisor convention
  const fractionValid = b.op('AveragePool', [onesOf(b, [1, 1, ...inSpatial])], { ...node.attrs });
  const invCount = b.op('Div', [fractionValid, inImageTapCounts(b, axes)]);
  const share = reshape(b, b.op('Mul', [dy, invCount]), [n * c, 1, ...outSpatial]);
  const kernel = axes.map((ax) => ax.kernel);
  const onesKernel = b.constant(new Float32Array(product(kernel)).fill(1), [1, 1, ...kernel], 'float32', 'pool_kernel_ones');
  return [reshape(b, scatterWindows(b, node, share, onesKernel, axes), xShape)];
};

const maxPoolGrad = (ctx: GradContext): (string | undefined)[] => {
  const { b, node } = ctx;
  const dy = ctx.gradOutput(0);
  const x = node.inputs[0]!;
  if (dy === undefined || !ctx.needsGrad(0)) return ctx.node.inputs.map(() => undefined);
  requireFloat32(ctx, x);
  const xShape = ctx.shape(x);
  const axes = poolAxes(node, xShape);
  const [n, c] = xShape as [number, number];
  const outSpatial = axes.map((ax) => ax.outSize);
  const spatialAxes = axes.map((_, i) => i + 2);
  const y = node.outputs[0]!;

  // pad with -inf so padding never equals a max; the end pad covers ceil_mode overhang
  const padEnd = axes.map((ax) => Math.max(0, reach(ax) - ax.padBegin - ax.inSize));
  let padded = x;
  if (axes.some((ax, i) => ax.padBegin > 0 || padEnd[i]! > 0)) {
    const pads = [0, 0, ...axes.map((ax) => ax.padBegin), 0, 0, ...padEnd];
    padded = b.op('Pad', [x, b.ints(pads), scalarOf(b, -Infinity, 'float32')], { mode: 'constant' });
  }
  // taps[kk] = Xpad[o*s + kk*d] for every o: one strided Slice per kernel tap
  const taps = kernelTaps(axes.map((ax) => ax.kernel));
  const gathered = taps.map((tap) => {
    const starts = tap.map((kk, i) => kk * axes[i]!.dilation);
    const ends = tap.map((kk, i) => kk * axes[i]!.dilation + (axes[i]!.outSize - 1) * axes[i]!.stride + 1);
    const slice = b.op('Slice', [padded, b.ints(starts), b.ints(ends), b.ints(spatialAxes), b.ints(axes.map((ax) => ax.stride))]);
    return reshape(b, slice, [n * c, 1, ...outSpatial]);
  });
  const stacked = gathered.length === 1 ? gathered[0]! : b.op('Concat', gathered, { axis: 1 });
  const isMax = b.op('Cast', [b.op('Equal', [stacked, reshape(b, y, [n * c, 1, ...outSpatial])])], { to: 1 });
  const ties = reduceSum(ctx, isMax, [1], true);
  const share = b.op('Div', [reshape(b, dy, [n * c, 1, ...outSpatial]), ties]);
  const routed = b.op('Mul', [isMax, share]);
  // weights[t, 0, ...] is one-hot at tap t, so channel t lands on o*s + tap*d - padBegin
  const kernel = axes.map((ax) => ax.kernel);
  const tapsCount = taps.length;
  const oneHot = new Float32Array(tapsCount * tapsCount);
  for (let t = 0; t < tapsCount; t++) oneHot[t * tapsCount + t] = 1;
  const weights = b.constant(oneHot, [tapsCount, 1, ...kernel], 'float32', 'maxpool_taps');
  return [reshape(b, scatterWindows(b, node, routed, weights, axes), xShape)];
};

const globalAveragePoolGrad = (ctx: GradContext): (string | undefined)[] => {
  const { b, node } = ctx;
  const dy = ctx.gradOutput(0);
  const x = node.inputs[0]!;
  if (dy === undefined || !ctx.needsGrad(0)) return ctx.node.inputs.map(() => undefined);
  const xShape = ctx.shape(x);
  const area = product(xShape.slice(2));
  const share = b.op('Mul', [dy, scalarOf(b, 1 / area, ctx.dtype(x))]);
  return [b.op('Expand', [share, b.ints(xShape)])];
};

const globalMaxPoolGrad = (ctx: GradContext): (string | undefined)[] => {
  const { b, node } = ctx;
  const dy = ctx.gradOutput(0);
  const x = node.inputs[0]!;
  if (dy === undefined || !ctx.needsGrad(0)) return ctx.node.inputs.map(() => undefined);
  requireFloat32(ctx, x);
  const spatialAxes = ctx.shape(x).slice(2).map((_, i) => i + 2);
  const isMax = b.op('Cast', [b.op('Equal', [x, node.outputs[0]!])], { to: 1 });
  const ties = reduceSum(ctx, isMax, spatialAxes, true);
  return [b.op('Mul', [isMax, b.op('Div', [dy, ties])])];
};

export const poolRules: RuleEntry[] = [
  { opType: 'AveragePool', rule: averagePoolGrad },
  { opType: 'MaxPool', rule: maxPoolGrad },
  { opType: 'GlobalAveragePool', rule: globalAveragePoolGrad },
  { opType: 'GlobalMaxPool', rule: globalMaxPoolGrad },
];
