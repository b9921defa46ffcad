// Gradient rules for Conv and ConvTranspose, built from Conv, ConvTranspose, Transpose, Reshape,
// Slice, Pad, SpaceToDepth, Concat, MatMul and ReduceSum only.
//
// Notation for one spatial axis: stride s, dilation d, kernel k, extent e = d*(k-1)+1, pads
// pb/pe. Conv reads  Y[o] = sum_kk W[kk] * Xpad[o*s + kk*d]  where Xpad[p] = X[p - pb].
//   dX: the adjoint of "gather Xpad[o*s + kk*d]" is "scatter-add to o*s + kk*d", which is
//       exactly ConvTranspose with the same W, s, d and pads; output_padding r adds back the
//       r = (in + pb + pe - e) mod s trailing inputs that no window reached (zero gradient).
//   dW: dW[kk] = sum_o G[o] * Xpad[o*s + kk*d] is a correlation of Xpad with G in which kk walks
//       with step d and o with step s: a Conv whose kernel is G, with strides = d and
//       dilations = s (the forward's strides and dilations swap roles). Batch and channels swap
//       too (batch becomes the reduction axis), and groups map to groups (see windowCorrelation).
// ConvTranspose is the adjoint of Conv, so the same two constructions serve it the other way.
//
// Those general constructions are slow in onnxruntime's CPU kernels for the common 2-D, group-1
// case, so that case takes two faster forms (FAST PATHS below, with the measurements that chose
// them):
//   dW: explicit im2col, one Slice of the padded input (or of its stride phases) per kernel tap,
//       and MatMuls over (n, y, x); the correlation-as-Conv has a dY-sized kernel and a 3x3 output, which ORT's
//       im2col+GEMM turns into GEMMs 9 columns wide (up to 5x the forward conv's time, against
//       1-1.6x for the im2col form);
//   dX at stride 1: the adjoint of a stride-1 correlation is a correlation with the flipped,
//       channel-transposed kernel, i.e. a plain Conv, which ORT runs with its NCHWc kernels
//       (the flipped weights of an initializer constant-fold), 1.3-3.5x faster than ConvTranspose.
import type { GraphBuilder } from '../../onnx/builder';
import type { DType } from '../../onnx/ir';
import { convTransposeAxes, slidingWindowAxes, type WindowAxis } from '../../onnx/shapes/nn';
import { attrInt, nodeError } from '../../onnx/shapes/elementwise';
import type { GradContext, RuleEntry, RuleVariants } from '../types';
import { constantOf, reduceSum, reshape } from '../unbroadcast';

/** Per-axis parameters of a window correlation (see windowCorrelation). */
export interface CorrelationAxis {
  /** step of the window position o (the forward stride) */
  stride: number;
  /** step of the kernel tap kk (the forward dilation) */
  dilation: number;
  /** zeros in front of the input (the forward's padBegin) */
  padBegin: number;
  /** number of kernel taps wanted in the result */
  kernel: number;
}

/** Slice along `axes` from 0 to `sizes` when any is smaller than `shape` there. */
export function cropTo(b: GraphBuilder, x: string, shape: readonly number[], axes: readonly number[], sizes: readonly number[]): string {
  if (axes.every((a, i) => shape[a] === sizes[i])) return x;
  return b.op('Slice', [x, b.ints(axes.map(() => 0)), b.ints([...sizes]), b.ints([...axes])]);
}

export function perm01(rank: number): number[] {
  return [1, 0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
}

/**
 * R[gi*B + j, a, kk] = sum_n sum_o K[n, gi*B + j, o] * Ipad[n, gi*A + a, o*stride + kk*dilation]
 * for I of shape [N, group*A, ...] and K of shape [N, group*B, ...o]: the weight gradient of Conv
 * (I = X, K = dY) and of ConvTranspose (I = dY, K = X).
 *
 * Built as one grouped Conv: batch <-> channel swap turns the sum over n into the channel
 * reduction of a Conv. With I viewed as It[a, gi*N + n] = I[n, gi*A + a] and K as
 * Kt[gi*B + j, n] = K[n, gi*B + j] (a plain transpose), Conv(It, Kt, group) sums exactly over the
 * n of group gi. Its spatial output can exceed `kernel` taps when the input has trailing
 * positions that no forward window read; those are cropped.
 */
export function windowCorrelation(
  b: GraphBuilder,
  input: string,
  inputShape: readonly number[],
  kernelValue: string,
  kernelShape: readonly number[],
  group: number,
  axes: readonly CorrelationAxis[],
): string {
  const rank = inputShape.length;
  const n = inputShape[0]!;
  const a = inputShape[1]! / group;
  const spatial = inputShape.slice(2);
  let it: string;
  if (group === 1) {
    it = b.op('Transpose', [input], { perm: perm01(rank) });
  } else {
    const split = reshape(b, input, [n, group, a, ...spatial]);
    const swapped = b.op('Transpose', [split], { perm: [2, 1, 0, ...spatial.map((_, i) => i + 3)] });
    it = reshape(b, swapped, [a, group * n, ...spatial]);
  }
  const kt = b.op('Transpose', [kernelValue], { perm: perm01(rank) });
  const padsEnd: number[] = [];
  const resultSizes: number[] = [];
  axes.forEach((ax, i) => {
    const inSize = spatial[i]!;
    const positions = kernelShape[i + 2]!;
    // padded length the forward windows reach: (positions-1)*s + d*(k-1) + 1
    const reach = (positions - 1) * ax.stride + ax.dilation * (ax.kernel - 1) + 1;
    const padEnd = Math.max(0, reach - ax.padBegin - inSize);
    padsEnd.push(padEnd);
    resultSizes.push(Math.floor((inSize + ax.padBegin + padEnd - ((positions - 1) * ax.stride + 1)) / ax.dilation) + 1);
  });
  const corr = b.op('Conv', [it, kt], {
    group,
    strides: axes.map((ax) => ax.dilation),
    dilations: axes.map((ax) => ax.stride),
    pads: [...axes.map((ax) => ax.padBegin), ...padsEnd],
  });
  const swappedBack = b.op('Transpose', [corr], { perm: perm01(rank) });
  const spatialAxes = axes.map((_, i) => i + 2);
  return cropTo(b, swappedBack, [0, 0, ...resultSizes], spatialAxes, axes.map((ax) => ax.kernel));
}

// ---- FAST PATHS (2-D, group 1) ----
//
// Measured per conv shape of the benchmark UNet (N = 4; C in, O out channels, HxH input; ms,
// minimum of 15 interleaved runs, ORT 1.30 CPU, 1 thread; 'general' is windowCorrelation):
//   dW                    forward conv  general  taps concatenated,  one MatMul
//                                               one MatMul          per tap
//   C96 O32 32x32 3x3          2.55       9.4        6.3               4.0
//   C32 O32 32x32 3x3          1.08       3.0        2.0               1.4
//   C64 O64 16x16 3x3          0.75       2.5        1.5               1.25
//   C128 O64 16x16 3x3         1.49       4.9        3.0               2.4
//   C32 O32 32x32 3x3 s2       0.27       0.8        0.9               0.8
//   C32 O4 32x32 3x3           0.44       1.7        1.4               0.67
//   C8 O32 32x32 3x3           0.57       0.6        0.56              0.66
//   C4 O32 32x32 3x3           0.19       0.5        0.33              0.58
//   C96 O32 32x32 1x1          0.44       2.3        one MatMul: 0.38
// Other im2col layouts measured within 10% of this one: per-sample batched MatMuls then a
// ReduceSum over n (no transposes of X and dY; ORT's ReduceSum over a leading axis is slow);
// slices on the MatMul's A side. The GEMMs themselves are most of the time.
// Since then (ms, minimum kernel time of 20 profiled runs, same machine): the GEMM puts the
// operand with more rows first (contractTaps: C96 O32 3x3 dW 2.74 -> 2.37 on its own), and at
// stride 1 the taps are contiguous runs of the flattened padded rows when that widens K by at
// most 1/8 (im2colTaps, 'wide rows': C32 O32 32x32 1.28 -> 1.16, C64 O64 16x16 1.17 -> 1.07).
// Tried and dropped: stride phases for stride 2 by a 6-D Reshape+Transpose (0.47 ms per split,
// more than the strided Slices cost; SpaceToDepth does it fast: phasedIm2colTaps, below); one
// Conv for dW over the batch as channels (2-D or 3-D: 1.4-2.7x
// slower); im2col by a one-hot depthwise Conv (as slow as Slice + Concat); concatenating all
// taps before one tall GEMM (the copy costs what the taller GEMM saves, at A = 32 and 64).
// Re-measured in round 4 (ms, minimum of 35 interleaved runs, CPU time, N = 4): the batch-as-
// reduction Conv (windowCorrelation) 9.6 / 3.2 / 4.9 / 2.4 / 1.2 / 0.63 against this path's
// 2.96 / 1.19 / 2.14 / 1.19 / 0.57 / 0.43 for C96 O32 32x32, C32 O32 32x32, C128 O64 16x16,
// C64 O64 16x16, C32 O64 16x16, C64 O64 8x8; per-sample batched GEMMs on wide rows without any
// transpose (sum over n last) 3.31 / 1.21 / 2.51 / 1.31 / 0.64 / 0.59, never faster. For stride
// 2, SpaceToDepth of the padded input then wide-row taps of its phases measured 0.45 against
// 0.71 (C32 32x32) and 0.45 against 0.57 (C64 16x16); four strided phase Slices instead gain half
// as much (0.65, 0.53). Since session 5 that is the path (phasedIm2colTaps): on the spatial
// encoder at 256x256 (N = 12) its forward + backward went 72 -> 58 ms, the whole UNet-phase step
// 447 -> 431 ms (two alternated runs each, /work/experiments/e-cost.mts).
//   dX                    ConvTranspose  flipped Conv (initializer weights, folded)
//   C96 O32 32x32 3x3          3.8          2.3
//   C64 O64 16x16 3x3          0.98         0.73
//   C32 O4 32x32 3x3           0.70         0.20
//   C96 O32 32x32 1x1          0.56         0.60   (equal within noise)
//   C32 O32 32x32 3x3 s2       0.37         -     (zero-insertion + Conv: 1.14; ConvTranspose kept)
// The flipped Conv gains most because ORT runs it with its NCHWc kernels, which it only does
// for constant weights; with weights fed as graph inputs (the trainer) it measured 0.2-3.3 ms
// against ConvTranspose's 0.7-4.3 ms on the rows above (never slower beyond noise).
// Hence: im2col for every 2-D group-1 weight gradient, one MatMul per tap unless the sliced
// tensor has fewer than PER_TAP_MIN_CHANNELS channels (then the taps are concatenated first, so
// that the GEMM is not a few columns wide); the flipped Conv for stride-1 input gradients. At
// stride 1 the taps can be cut from dY instead of X (gradSideIm2col), which copies less when dY
// has fewer channels.

/** Below this many sliced channels, the im2col taps are concatenated before one MatMul. */
export const PER_TAP_MIN_CHANNELS = 16;

/** 2-D and group 1: the case the fast paths were measured for (groups, 1-D and 3-D take the general path). */
export function isFast2d(spatialRank: number, group: number): boolean {
  return spatialRank === 2 && group === 1;
}

/** K [N, J, ...o] as rows [J, N*P]: channels first, then (n, positions) - one transpose, shareable. */
export function channelRows(b: GraphBuilder, value: string, shape: readonly number[]): string {
  const p = shape.slice(2).reduce((x, y) => x * y, 1);
  return reshape(b, b.op('Transpose', [value], { perm: perm01(shape.length) }), [shape[1]!, shape[0]! * p]);
}

/**
 * The per-tap products of an im2col weight gradient, contracted over (n, positions):
 *   R[j, a, t] = Rows[j, :] . Cols_t[a, :]   for Cols_t [A, N*P] (one per tap t) and Rows [J, N*P],
 * returned as [J, A, ...kernel] (`order` 'rows-first') or [A, J, ...kernel] ('columns-first').
 *
 * Each per-tap GEMM puts the operand with more rows first (M): MLAS packs the second operand (B)
 * on every call and streams the first, so for these K-long (K = N*P), few-row products the time
 * tracks B's rows; measured per tap (ms, ORT 1.30 CPU, 1 thread, minimum of 20): [96 x 4096] .
 * [32 x 4096]^T 0.28 against [32 x 4096] . [96 x 4096]^T 0.39; on the benchmark UNet's 96->32
 * 3x3 conv the whole dW went 2.74 -> 2.37 ms. Taps are concatenated before one GEMM when A is
 * small (PER_TAP_MIN_CHANNELS), so that the GEMM is not a few columns wide; at A = 32 and 64 the
 * copy of the concatenation costs what the taller GEMM saves (measured).
 * The products are laid side by side as [M-operand channels, ...kernel, other channels], so that
 * the final Transpose moves one axis only (ORT's fast case; a general 4-D permutation of these
 * small tensors measured 3-4x slower).
 */
function contractTaps(
  b: GraphBuilder,
  columns: readonly string[],
  a: number,
  rows: string,
  j: number,
  kernel: readonly number[],
  order: 'rows-first' | 'columns-first',
): string {
  const transposed = (v: string): string => b.op('Transpose', [v], { perm: [1, 0] });
  const taps = columns.length;
  if (taps > 1 && a < PER_TAP_MIN_CHANNELS) {
    const stacked = b.op('Concat', [...columns], { axis: 0 }); // [taps*A, N*P]
    if (taps * a > j) {
      // [taps*A, N*P] x [N*P, J] -> [taps*A, J] = [taps, A*J]; tap axis to the end: [A*J, taps]
      const byTap = transposed(reshape(b, b.op('MatMul', [stacked, transposed(rows)]), [taps, a * j]));
      if (order === 'columns-first') return reshape(b, byTap, [a, j, ...kernel]);
      return b.op('Transpose', [reshape(b, byTap, [a, j, ...kernel])], { perm: [1, 0, ...kernel.map((_, i) => i + 2)] });
    }
    return moveToFront(b, b.op('MatMul', [rows, transposed(stacked)]), j, a, kernel, order === 'rows-first');
  }
  const rowsLead = j >= a;
  const products = columns.map((cols) => (rowsLead ? b.op('MatMul', [rows, transposed(cols)]) : b.op('MatMul', [cols, transposed(rows)])));
  const product = products.length === 1 ? products[0]! : b.op('Concat', products, { axis: 1 });
  return rowsLead ? moveToFront(b, product, j, a, kernel, order === 'rows-first') : moveToFront(b, product, a, j, kernel, order === 'columns-first');
}

/**
 * [lead, taps*other] viewed as [lead, ...kernel, other], to [lead, other, ...kernel]
 * (`leadFirst`) or [other, lead, ...kernel]: one axis moves (ORT's fast Transpose case).
 */
function moveToFront(b: GraphBuilder, product: string, lead: number, other: number, kernel: readonly number[], leadFirst: boolean): string {
  const k = kernel.length;
  const kernelAxes = Array.from({ length: k }, (_, i) => i + 1);
  const grid = reshape(b, product, [lead, ...kernel, other]);
  return b.op('Transpose', [grid], { perm: leadFirst ? [0, k + 1, ...kernelAxes] : [k + 1, 0, ...kernelAxes] });
}

/** The im2col taps of one operand, and the other operand laid out to match them. */
interface Im2col {
  /** per tap, [A, K]: the taps of I [N, A, ...] along a contraction axis K over (n, positions) */
  columns: string[];
  /** the other operand [N, J, ...positions] as rows [J, K], in the columns' layout of K */
  rows(value: string, shape: readonly number[]): string;
}

/** Largest width inflation Wq/Wo at which the wide-row taps are taken (see im2colTaps). */
const WIDE_ROWS_MAX_INFLATION = 9 / 8;

/**
 * The im2col taps of a 2-D input I [N, A, H, W] for window positions o (Ho x Wo per axis) and
 * taps kk: Cols_t[a, (n, o)] = Ipad[n, a, o*stride + kk_t*dilation] (pad `padBegin` in front,
 * zeros wherever the windows reach past the end). I is transposed to [A, N, H, W] and padded
 * once; each tap is then one Slice, in one of two layouts of K:
 *
 * - wide rows (stride 1, Wq/Wo <= WIDE_ROWS_MAX_INFLATION for a padded width Wq): the padded
 *   [A, N, Hq, Wq] is flattened to [A, N, Hq*Wq], and tap (ti, tj) is the contiguous run from
 *   ti*dh*Wq + tj*dw of length Ho*Wq: position (y, x') of the run holds
 *   Ipad[y + ti*dh, x' + tj*dw] for x' < Wo, and whatever follows in memory for Wo <= x' < Wq,
 *   which the rows operand, zero-padded to width Wq, multiplies by zero. K = N*Ho*Wq. One extra
 *   padded row keeps the last run in bounds. ORT copies such runs in long blocks instead of Wo
 *   floats at a time; measured per dW (ms, minimum of 20, N = 4): C32 O32 32x32 1.28 -> 1.16,
 *   C64 O64 16x16 1.17 -> 1.07 (the GEMM got faster too, despite K growing by Wq/Wo); at 8x8
 *   (Wq/Wo = 1.25) 0.386 -> 0.391, hence the bound;
 * - plain: tap t is the (strided) block Ipad[:, :, o*s + kk_t*d] as [A, N*P], K = N*P, and the
 *   rows are channelRows.
 */
function im2colTaps(b: GraphBuilder, input: string, inputShape: readonly number[], positions: readonly number[], axes: readonly CorrelationAxis[], variants: Readonly<RuleVariants>): Im2col {
  const phased = phasedIm2colTaps(b, input, inputShape, positions, axes);
  if (phased) return phased;
  const flatRows = variants.flatRows ? flatRowsIm2col(b, input, inputShape, positions, axes) : undefined;
  if (flatRows) return flatRows;
  const [n, a] = inputShape as [number, number];
  const [ho, wo] = positions as [number, number];
  const taps = tapList(axes.map((ax) => ax.kernel));
  // padded length every window lies inside: (positions-1)*s + d*(k-1) + 1, and the input itself
  const covered = axes.map((ax, i) => Math.max((positions[i]! - 1) * ax.stride + ax.dilation * (ax.kernel - 1) + 1, ax.padBegin + inputShape[i + 2]!));
  const wide = axes.every((ax) => ax.stride === 1) && covered[1]! <= WIDE_ROWS_MAX_INFLATION * wo;
  const lastTapShift = axes[1]!.dilation * (axes[1]!.kernel - 1);
  const paddedSizes = wide ? [covered[0]! + (lastTapShift > 0 ? 1 : 0), covered[1]!] : covered;
  const padsEnd = axes.map((ax, i) => paddedSizes[i]! - ax.padBegin - inputShape[i + 2]!);
  const transposed = b.op('Transpose', [input], { perm: perm01(inputShape.length) });
  const padded = axes.some((ax, i) => ax.padBegin > 0 || padsEnd[i]! > 0)
    ? b.op('Pad', [transposed, b.ints([0, 0, ...axes.map((ax) => ax.padBegin), 0, 0, ...padsEnd])])
    : transposed;
  if (wide) {
    const [hq, wq] = paddedSizes as [number, number];
    const flat = reshape(b, padded, [a, n, hq * wq]);
    const run = ho * wq;
    const columns = taps.map(([ti, tj]) => {
      const start = ti! * axes[0]!.dilation * wq + tj! * axes[1]!.dilation;
      const block = start === 0 && run === hq * wq ? flat : b.op('Slice', [flat, b.ints([start]), b.ints([start + run]), b.ints([2])]);
      return reshape(b, block, [a, n * run]);
    });
    return { columns, rows: (value, shape) => wideRows(b, value, shape, wq) };
  }
  const p = ho * wo;
  const columns = taps.map((tap) => {
    const starts = tap.map((t, i) => t * axes[i]!.dilation);
    const ends = starts.map((st, i) => st + (positions[i]! - 1) * axes[i]!.stride + 1);
    const whole = starts.every((st, i) => st === 0 && ends[i] === paddedSizes[i] && axes[i]!.stride === 1);
    const block = whole ? padded : b.op('Slice', [padded, b.ints(starts), b.ints(ends), b.ints([2, 3]), b.ints(axes.map((ax) => ax.stride))]);
    return reshape(b, block, [a, n * p]);
  });
  return { columns, rows: (value, shape) => channelRows(b, value, shape) };
}

/**
 * Zeros appended to each image's run so that the GEMMs' contraction length K = N*(run + extra)
 * is not a multiple of 512 floats: rows of such a power-of-two stride share cache sets, and
 * MLAS's GEMM slows down. Measured ([M x K] . [N x K]^T, ORT 1.30 CPU, 1 thread, minimum of 26):
 * M32 N32 K4096 119 us, K4128 103 us; M64 N64 K4096 417 us, K4128 359 us; M64 N64 K1024 104 us,
 * K1088 95 us; no effect at K256. 16 floats (64 bytes) keep every run cache-line aligned: 4
 * per image (K = 4112 on the benchmark UNet) made the copies slower than the GEMMs gained
 * (kernel time of the conv rule, minimum per node over 40 runs: 26.1-26.6 ms against 24.2-24.3
 * with no zeros and 23.5-23.9 with 16).
 */
function strideBreak(n: number, run: number): number {
  const k = n * run;
  return k >= 1024 && k % 512 === 0 ? 16 : 0;
}

/** Largest column offset |tj*d - padBegin| of a tap at which flatRowsIm2col applies. */
const FLAT_ROWS_MAX_SHIFT = 2;

/**
 * The taps of a stride-1 2-D input I [N, A, H, W] whose windows are as wide as the input
 * (Wo = W: 'same' padding along the width), without padding any row. I is transposed to
 * [A, N, H, W], each image flattened to H*W and padded only at its two ends (pbh rows and
 * `front` elements before; the rows the windows reach past the end, `back` and `extra` elements
 * after): one Pad that copies whole images, where padding every row copies W floats at a time,
 * 2.2x slower (measured [96, 4, 32, 32]: 365 against 166 us). Tap (ti, tj) is then the run of
 * Ho*W (+ extra) elements from front + ti*dh*W + delta, delta = tj*dw - pbw its column offset,
 * and the rows operand is K transposed, with no zero columns (K = N*(Ho*W + extra), where the
 * wide rows have N*Ho*(W + pads)).
 * Position (y, x) of a run reads I[y + ti*dh - pbh, x + delta], as the window does, wherever
 * 0 <= x + delta < W. Elsewhere the flat run wraps into the row above (x + delta < 0: column
 * W + x + delta of the previous row) or below (x + delta >= W: column x + delta - W of the next),
 * where the window reads a zero pad. Those columns, [W + delta, W) for delta < 0 and [0, delta)
 * for delta > 0, are read by no other position of such a tap, so the taps of each offset
 * delta != 0 are cut from a copy of the padded images with those columns zeroed (one Mul by a
 * constant mask per distinct offset: two for a 3x3 kernel). Per dW of the benchmark UNet, this
 * replaces the two row-by-row Pads of the wide rows (I's and K's) by one whole-image Pad of I,
 * one of K (only for `extra`) and the masks.
 * Returns undefined where it does not apply: other strides, Wo != W, column offsets beyond
 * FLAT_ROWS_MAX_SHIFT (a mask each), or a 1x1 kernel (one whole-tensor GEMM, nothing to cut).
 */
function flatRowsIm2col(b: GraphBuilder, input: string, inputShape: readonly number[], positions: readonly number[], axes: readonly CorrelationAxis[]): Im2col | undefined {
  const [n, a, h, w] = inputShape as [number, number, number, number];
  const [ho, wo] = positions as [number, number];
  const [rowAxis, colAxis] = axes as [CorrelationAxis, CorrelationAxis];
  if (axes.some((ax) => ax.stride !== 1) || wo !== w || axes.every((ax) => ax.kernel === 1)) return undefined;
  const shifts = Array.from({ length: colAxis.kernel }, (_, tj) => tj * colAxis.dilation - colAxis.padBegin);
  if (shifts.some((d) => Math.abs(d) > FLAT_ROWS_MAX_SHIFT || Math.abs(d) >= w)) return undefined;
  const front = Math.max(0, -Math.min(...shifts));
  const back = Math.max(0, Math.max(...shifts));
  const rowsEnd = Math.max(0, (rowAxis.kernel - 1) * rowAxis.dilation + ho - rowAxis.padBegin - h);
  const transposed = b.op('Transpose', [input], { perm: perm01(4) }); // [A, N, H, W]
  const images = reshape(b, transposed, [a, n, h * w]);
  const run = ho * w;
  const extra = strideBreak(n, run);
  const before = rowAxis.padBegin * w + front;
  const after = rowsEnd * w + back + extra;
  const padded = before > 0 || after > 0 ? b.op('Pad', [images, b.ints([0, 0, before, 0, 0, after])]) : images;
  const length = before + h * w + after;
  // per column offset, the source with the columns that only wrapped reads reach set to zero
  const sources = new Map<number, string>();
  const sourceFor = (delta: number): string => {
    let source = sources.get(delta);
    if (source === undefined) {
      const mask = new Float32Array(length).fill(1);
      for (let e = front; e < length - back; e++) {
        const col = (e - front) % w;
        if (delta < 0 ? col >= w + delta : col < delta) mask[e] = 0;
      }
      source = delta === 0 ? padded : b.op('Mul', [padded, b.constant(mask, [length], 'float32', 'wrap_mask')]);
      sources.set(delta, source);
    }
    return source;
  };
  const taps = tapList(axes.map((ax) => ax.kernel));
  const columns = taps.map(([ti, tj]) => {
    const start = front + ti! * rowAxis.dilation * w + shifts[tj!]!;
    const source = sourceFor(shifts[tj!]!);
    const block = start === 0 && run + extra === length ? source : b.op('Slice', [source, b.ints([start]), b.ints([start + run + extra]), b.ints([2])]);
    return reshape(b, block, [a, n * (run + extra)]);
  });
  const rows = (value: string, shape: readonly number[]): string => {
    if (extra === 0) return channelRows(b, value, shape);
    const j = shape[1]!;
    const images = reshape(b, b.op('Transpose', [value], { perm: perm01(4) }), [j, n, run]);
    return reshape(b, b.op('Pad', [images, b.ints([0, 0, 0, 0, 0, extra])]), [j, n * (run + extra)]);
  };
  return { columns, rows };
}

/** K [N, J, Ho, Wo] as rows [J, N*Ho*Wq], each row of positions zero-padded from Wo to Wq (the wide layouts' K). */
function wideRows(b: GraphBuilder, value: string, shape: readonly number[], wq: number): string {
  const wo = shape[3]!;
  if (wq === wo) return channelRows(b, value, shape);
  const t = b.op('Transpose', [value], { perm: perm01(shape.length) });
  return reshape(b, b.op('Pad', [t, b.ints([0, 0, 0, 0, 0, 0, 0, wq - wo])]), [shape[1]!, shape[0]! * shape[2]! * wq]);
}

/**
 * The wide-row taps of a strided 2-D input (equal stride s > 1 on both axes), cut from its stride
 * phases: with I padded to [N, A, s*Hp, s*Wp], phase (ph, pw) is P[r, c] = Ipad[s*r + ph, s*c + pw],
 * and tap kk (per axis kk*d = s*sh + ph) reads Ipad[o*s + kk*d] = P_(ph)[o + sh]. SpaceToDepth of
 * the transposed, padded input viewed as [A*N, 1, s*Hp, s*Wp] lays the phases out as
 * [A*N, s*s, Hp, Wp] (channel ph*s + pw); each tap is then one contiguous run of a flattened
 * phase, as in the stride-1 wide rows (K = N*Ho*Wp, the rows zero-padded to Wp).
 * Measured on the spatial encoder's C16 128x128 stride-2 conv (N = 12, ORT 1.30 CPU, 1 thread):
 * one strided Slice (the plain layout) 2.3 ms per tap, 9 taps 21 ms; SpaceToDepth 4.2 ms and a
 * contiguous tap ~0.5 ms. A 6-D Reshape + Transpose instead of SpaceToDepth took 21-25 ms
 * (ORT's general Transpose path).
 * Returns undefined where it does not apply (other strides, or Wp > WIDE_ROWS_MAX_INFLATION * Wo).
 */
function phasedIm2colTaps(b: GraphBuilder, input: string, inputShape: readonly number[], positions: readonly number[], axes: readonly CorrelationAxis[]): Im2col | undefined {
  const s = axes[0]!.stride;
  if (s < 2 || axes.some((ax) => ax.stride !== s)) return undefined;
  const [n, a] = inputShape as [number, number];
  const [ho, wo] = positions as [number, number];
  const shifts = axes.map((ax) => Math.floor((ax.dilation * (ax.kernel - 1)) / s));
  // a phase must hold every input position and every window's reach; one more row keeps the last run in bounds
  const phaseSize = (i: number, need: number): number => Math.max(need, Math.ceil((axes[i]!.padBegin + inputShape[i + 2]!) / s));
  const wp = phaseSize(1, wo + shifts[1]!);
  const hp = phaseSize(0, ho + shifts[0]! + (shifts[1]! > 0 ? 1 : 0));
  if (wp > WIDE_ROWS_MAX_INFLATION * wo) return undefined;
  const padsEnd = [s * hp - axes[0]!.padBegin - inputShape[2]!, s * wp - axes[1]!.padBegin - inputShape[3]!];
  const transposed = b.op('Transpose', [input], { perm: perm01(inputShape.length) });
  const padded = b.op('Pad', [transposed, b.ints([0, 0, axes[0]!.padBegin, axes[1]!.padBegin, 0, 0, ...padsEnd])]);
  const phases = b.op('SpaceToDepth', [reshape(b, padded, [a * n, 1, s * hp, s * wp])], { blocksize: s });
  const flat = reshape(b, phases, [a * n, s * s, hp * wp]);
  const run = ho * wp;
  const columns = tapList(axes.map((ax) => ax.kernel)).map(([ti, tj]) => {
    const [dh, dw] = [ti! * axes[0]!.dilation, tj! * axes[1]!.dilation];
    const phase = (dh % s) * s + (dw % s);
    const start = Math.floor(dh / s) * wp + Math.floor(dw / s);
    const block = b.op('Slice', [flat, b.ints([phase, start]), b.ints([phase + 1, start + run]), b.ints([1, 2])]);
    return reshape(b, block, [a, n * run]);
  });
  return { columns, rows: (value, shape) => wideRows(b, value, shape, wp) };
}

/**
 * R[j, a, kk] = sum_n sum_o K[n, j, o] * Ipad[n, a, o*stride + kk*dilation] for 2-D I [N, A, H, W]
 * and K [N, J, Ho, Wo]: windowCorrelation's result for group 1, by explicit im2col: one GEMM per
 * tap of I (im2colTaps) against K's rows (contractTaps). Also returns those rows of K, [J, K']
 * (zero-padded along K' in the wide layout), whose row sums are K's sums over (n, positions).
 */
export function im2colCorrelation(
  b: GraphBuilder,
  input: string,
  inputShape: readonly number[],
  kernelValue: string,
  kernelShape: readonly number[],
  axes: readonly CorrelationAxis[],
  variants: Readonly<RuleVariants>,
): { correlation: string; kernelRows: string } {
  const im2col = im2colTaps(b, input, inputShape, kernelShape.slice(2), axes, variants);
  const kernelRows = im2col.rows(kernelValue, kernelShape);
  const correlation = contractTaps(b, im2col.columns, inputShape[1]!, kernelRows, kernelShape[1]!, axes.map((ax) => ax.kernel), 'rows-first');
  return { correlation, kernelRows };
}

/**
 * dW of a stride-1 2-D Conv with the im2col taken on dY instead of X, for when dY has fewer
 * channels (O < C: the up-path convs after a Concat, conv_out), so the nine copies move the
 * smaller tensor. With Y[o] = sum_t W[t] X[o + t*d - pb] (per axis), substituting i = o + t*d - pb:
 *   dW[t] = sum_o dY[o] X[o + t*d - pb] = sum_i X[i] dYpad[i + d*(k-1-t)],
 * where dYpad is dY padded by d*(k-1) - pb in front and d*(k-1) - pe at the end (length
 * Ho + 2d(k-1) - pb - pe = H + d(k-1)): the flipped-kernel geometry of flippedKernelConv, valid
 * under the same condition (no pad wider than the dilated kernel). Per tap, one GEMM over (n, i):
 *   dW[:, :, t] = S_t (O x N*P) . Xrows^T (N*P x C),  S_t = dYpad[o, n, d(k-1-t) + i]
 * with P = H*W the input positions (equal to the output positions at stride 1, up to the pads);
 * S_t is tap k-1-t of a stride-1 im2col of dY padded by d*(k-1) - pb in front, and contractTaps
 * puts Xrows first (C > O rows). Measured on the benchmark UNet's convs (N = 4, ms, minimum of
 * 41 interleaved runs), X-side im2col against this (before the GEMM orientation and the wide
 * rows): C96 O32 32x32 4.09 -> 3.61, C128 O64 16x16 2.47 -> 2.25, C32 O4 32x32 0.66 -> 0.45;
 * equal channel counts measure the same either way (C32 O32 1.37 / 1.39).
 */
export function gradSideIm2col(b: GraphBuilder, x: string, xShape: readonly number[], dy: string, yShape: readonly number[], axes: readonly WindowAxis[], variants: Readonly<RuleVariants>): string {
  const reach = (ax: WindowAxis): number => ax.dilation * (ax.kernel - 1);
  const flippedAxes = axes.map((ax) => ({ stride: 1, dilation: ax.dilation, padBegin: reach(ax) - ax.padBegin, kernel: ax.kernel }));
  const im2col = im2colTaps(b, dy, yShape, xShape.slice(2), flippedAxes, variants);
  const xRows = im2col.rows(x, xShape);
  return contractTaps(b, [...im2col.columns].reverse(), yShape[1]!, xRows, xShape[1]!, axes.map((ax) => ax.kernel), 'columns-first');
}

/** Every kernel tap of a window, as per-axis indices, row-major (the last axis fastest). */
function tapList(kernel: readonly number[]): number[][] {
  const taps: number[][] = [[]];
  for (const k of kernel) taps.splice(0, taps.length, ...taps.flatMap((t) => Array.from({ length: k }, (_, i) => [...t, i])));
  return taps;
}

/**
 * dX of a stride-1 Conv: with Y[o] = sum_t W[t] Xpad[o + t*d] (pads pb, pe), the adjoint is
 *   dX[i] = sum_t W[t] dY[i + pb - t*d] = sum_t' Wf[t'] dYpad[i + t'*d],  Wf[t'] = W[k-1-t'],
 * a correlation with the flipped kernel over dY padded by d*(k-1) - pb in front and, since
 * Ho = H + pb + pe - d*(k-1), by d*(k-1) - pe at the end. Channels swap: Wf^T is [C, O, kh, kw].
 * Undefined (negative pads) when a pad exceeds the dilated kernel extent; see flippedConvApplies.
 */
export function flippedKernelConv(b: GraphBuilder, dy: string, w: string, wShape: readonly number[], dtype: DType, axes: readonly WindowAxis[]): string {
  const reach = (ax: WindowAxis): number => ax.dilation * (ax.kernel - 1);
  return b.op('Conv', [dy, flippedSwappedKernel(b, w, wShape, dtype)], {
    dilations: axes.map((ax) => ax.dilation),
    pads: [...axes.map((ax) => reach(ax) - ax.padBegin), ...axes.map((ax) => reach(ax) - ax.padEnd)],
  });
}

/**
 * Wf[c, o, t'] = W[o, c, t] for every tap t' mirrored from t on all spatial axes: the kernel
 * [O, C, ...k] flipped and with its channel axes swapped, flippedKernelConv's weights.
 * Mirroring every axis reverses the row-major order of the T taps, so after the channel
 * Transpose the flip is one MatMul of [C*O, T] by the T x T exchange matrix J (J[s, t] = 1 where
 * s + t = T - 1). It is exact: each result is one weight times 1 plus products with 0 (a NaN or
 * infinite weight turns its whole kernel NaN, but then training has failed already). ORT folds
 * it for initializer weights; the trainer feeds its weights, and there a Slice with negative
 * steps (the direct form) copies one float at a time: per kernel, [32, 96, 3, 3] 160 -> 81 us,
 * [64, 128, 3, 3] 421 -> 112 us (Slice + Transpose against Transpose + MatMul, minimum kernel
 * time of 200 runs, ORT 1.30 CPU, 1 thread; bit-identical results).
 */
function flippedSwappedKernel(b: GraphBuilder, w: string, wShape: readonly number[], dtype: DType): string {
  const [o, c, ...kernel] = wShape as [number, number, ...number[]];
  const swapped = b.op('Transpose', [w], { perm: perm01(wShape.length) });
  const taps = kernel.reduce((x, y) => x * y, 1);
  if (taps === 1) return swapped;
  const exchange = constantOf(b, Array.from({ length: taps * taps }, (_, i) => (Math.floor(i / taps) + (i % taps) === taps - 1 ? 1 : 0)), [taps, taps], dtype, 'tap_reversal');
  return reshape(b, b.op('MatMul', [reshape(b, swapped, [c * o, taps]), exchange]), [c, o, ...kernel]);
}

/** The flipped-kernel Conv gives dX: 2-D group 1, stride 1, and no pad wider than the dilated kernel. */
export function flippedConvApplies(axes: readonly WindowAxis[], group: number): boolean {
  return isFast2d(axes.length, group) && axes.every((ax) => ax.stride === 1 && Math.max(ax.padBegin, ax.padEnd) <= ax.dilation * (ax.kernel - 1));
}

function biasGrad(ctx: GradContext, dy: string, rank: number): string {
  return reduceSum(ctx, dy, [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)], false);
}

function requireFloat(ctx: GradContext, value: string): void {
  const dt = ctx.dtype(value);
  if (dt !== 'float32' && dt !== 'float64' && dt !== 'float16') nodeError(ctx.node, `gradient of a ${dt} tensor is not supported`);
}

const convGrad = (ctx: GradContext): (string | undefined)[] => {
  const { b, node } = ctx;
  const dy = ctx.gradOutput(0);
  if (dy === undefined) return ctx.node.inputs.map(() => undefined);
  const [x, w, bias] = node.inputs as [string, string, string | undefined];
  requireFloat(ctx, x);
  const xShape = ctx.shape(x);
  const wShape = ctx.shape(w);
  const rank = xShape.length;
  const group = attrInt(node, 'group', 1);
  const axes = slidingWindowAxes(node, xShape.slice(2), wShape.slice(2), false);
  const grads: (string | undefined)[] = [undefined, undefined, undefined];

  if (ctx.needsGrad(0) && flippedConvApplies(axes, group)) {
    grads[0] = flippedKernelConv(b, dy, w, wShape, ctx.dtype(w), axes);
  } else if (ctx.needsGrad(0)) {
    const outputPadding = axes.map((ax) => {
      const reached = ax.stride * (ax.outSize - 1) + ax.dilation * (ax.kernel - 1) + 1 - ax.padBegin - ax.padEnd;
      return ax.inSize - reached;
    });
    grads[0] = b.op('ConvTranspose', [dy, w], {
      group,
      strides: axes.map((ax) => ax.stride),
      dilations: axes.map((ax) => ax.dilation),
      pads: [...axes.map((ax) => ax.padBegin), ...axes.map((ax) => ax.padEnd)],
      output_padding: outputPadding,
    });
  }
  const yShape = ctx.shape(node.outputs[0]!);
  // dW: the im2col copies go to the tensor with fewer channels when the geometry allows it
  const onGradSide = flippedConvApplies(axes, group) && yShape[1]! < xShape[1]!;
  // the X-side fast dW reads dY as [O, K] rows; the bias gradient is then a sum along each row
  let dyRows: string | undefined;
  if (ctx.needsGrad(1)) {
    if (onGradSide) {
      grads[1] = gradSideIm2col(b, x, xShape, dy, yShape, axes, ctx.variants);
    } else if (isFast2d(axes.length, group)) {
      const { correlation, kernelRows } = im2colCorrelation(b, x, xShape, dy, yShape, axes, ctx.variants);
      grads[1] = correlation;
      dyRows = kernelRows;
    } else {
      grads[1] = windowCorrelation(b, x, xShape, dy, yShape, group, axes);
    }
  }
  if (bias && ctx.needsGrad(2)) grads[2] = dyRows ? reduceSum(ctx, dyRows, [1], false) : biasGrad(ctx, dy, rank);
  return grads;
};

const convTransposeGrad = (ctx: GradContext): (string | undefined)[] => {
  const { b, node } = ctx;
  const dy = ctx.gradOutput(0);
  if (dy === undefined) return ctx.node.inputs.map(() => undefined);
  const [x, w, bias] = node.inputs as [string, string, string | undefined];
  requireFloat(ctx, x);
  const xShape = ctx.shape(x);
  const wShape = ctx.shape(w);
  const yShape = ctx.shape(node.outputs[0]!);
  const rank = xShape.length;
  const group = attrInt(node, 'group', 1);
  const axes = convTransposeAxes(node, xShape.slice(2), wShape.slice(2));
  const spatialAxes = axes.map((_, i) => i + 2);
  // positions of the full transposed result that the output dropped (cropEnd > 0) are padding
  // for the adjoint Conv; extra zero outputs (cropEnd < 0) are never read, hence the crop
  const padsEnd = axes.map((ax) => Math.max(0, ax.cropEnd));
  const grads: (string | undefined)[] = [undefined, undefined, undefined];

  if (ctx.needsGrad(0)) {
    // dX[i] = sum_kk W[kk] * dYfull[i*s + kk*d]: a Conv of dY with the same W (its [Cin, Cout/g]
    // layout is exactly Conv's [out, in/g] for the reverse direction)
    const conv = b.op('Conv', [dy, w], {
      group,
      strides: axes.map((ax) => ax.stride),
      dilations: axes.map((ax) => ax.dilation),
      pads: [...axes.map((ax) => ax.padBegin), ...padsEnd],
    });
    const convSizes = axes.map((ax, i) => Math.floor((ax.outSize + ax.padBegin + padsEnd[i]! - (ax.dilation * (ax.kernel - 1) + 1)) / ax.stride) + 1);
    grads[0] = cropTo(b, conv, [0, 0, ...convSizes], spatialAxes, axes.map((ax) => ax.inSize));
  }
  if (ctx.needsGrad(1)) {
    const corrAxes = axes.map((ax) => ({ stride: ax.stride, dilation: ax.dilation, padBegin: ax.padBegin, kernel: ax.kernel }));
    grads[1] = isFast2d(axes.length, group)
      ? im2colCorrelation(b, dy, yShape, x, xShape, corrAxes, ctx.variants).correlation
      : windowCorrelation(b, dy, yShape, x, xShape, group, corrAxes);
  }
  if (bias && ctx.needsGrad(2)) grads[2] = biasGrad(ctx, dy, rank);
  return grads;
};

export const convRules: RuleEntry[] = [
  { opType: 'Conv', rule: convGrad },
  { opType: 'ConvTranspose', rule: convTransposeGrad },
];
