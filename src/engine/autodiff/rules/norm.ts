// Gradient rules for InstanceNormalization, LayerNormalization, GroupNormalization and
// BatchNormalization (inference form).
//
// The statistics-based norms share one core. Over the M elements of a normalised group:
//   mu = mean(x),  var = mean((x-mu)^2),  r = 1/sqrt(var + eps),  xhat = (x-mu)*r
// and for an upstream gradient dxhat (= dY * scale):
//   dx = r * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
// (differentiate xhat through mu and var; the mean term of dvar/dx cancels).
//
// The backward needs xhat and r, and takes them as cheaply as the forward node allows
// (normStatistics): LayerNormalization's own Mean/InvStdDev outputs when the model asked for
// them; when the affine part is the identity (scale all ones, bias zero: how exporters and
// src/engine/nn write GroupNorm as InstanceNormalization) xhat is the forward output itself and r
// follows from one mean of a product (see rstdFromStandardised); otherwise both are recomputed
// from X. In every norm here the normalised axes are the trailing ones (Rows).
// The whole GroupNorm chain (Reshape, InstanceNormalization, Reshape, * gamma + beta) is usually
// differentiated jointly by the GroupNorm pattern of ./patterns.ts; this rule serves the rest.
import type { DType } from '../../onnx/ir';
import { attrInt, nodeError } from '../../onnx/shapes/elementwise';
import { layerNormAxis, normEpsilon } from '../../onnx/shapes/nn';
import type { GradContext, RuleEntry } from '../types';
import { reduceMean, reduceSum, reshape, scalarOf, unbroadcast, type EmitContext } from '../unbroadcast';

interface Standardised {
  xhat: string;
  /** 1/sqrt(var + eps), keepdims over the normalised axes */
  rstd: string;
}

/** Where the normalised axes of a tensor are: the trailing axes from `from` on. */
interface Rows {
  shape: readonly number[];
  from: number;
  dtype: DType;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

function normAxes(rows: Rows): number[] {
  return range(rows.from, rows.shape.length);
}

/**
 * mean over the normalised axes of a * c (kept as size-1 axes). Mul + ReduceMean: a batched
 * [1, M] x [M, 1] MatMul writes no temporary but is slower in ORT 1.30 (an InstanceNormalization
 * backward over [4, 8, 12288] took 4.7 ms with it, 2.4 ms with Mul + ReduceMean).
 */
function meanOfProduct(ctx: EmitContext, a: string, c: string, rows: Rows): string {
  return reduceMean(ctx, ctx.b.op('Mul', [a, c]), normAxes(rows), true);
}

/** xhat and 1/std of x, recomputed: the two-pass (centred) variance, safe for any mean. */
function standardise(ctx: EmitContext, x: string, rows: Rows, eps: number): Standardised {
  const { b } = ctx;
  const centred = b.op('Sub', [x, reduceMean(ctx, x, normAxes(rows), true)]);
  const variance = meanOfProduct(ctx, centred, centred, rows);
  const rstd = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, scalarOf(b, eps, rows.dtype)])])]);
  return { xhat: b.op('Mul', [centred, rstd]), rstd };
}

/**
 * r = 1/sqrt(var + eps) from x and the forward's xhat. Since xhat sums to zero,
 *   S = mean(x * xhat) = mean((x - mu) * xhat) = r * var = r * (1/r^2 - eps) = 1/r - eps * r,
 * so eps r^2 + S r - 1 = 0, whose positive root, written without cancellation, is
 *   r = 2 / (S + sqrt(S^2 + 4 eps)).
 * One pass over x and xhat instead of the three of a recomputed (centred) variance.
 */
function rstdFromStandardised(ctx: EmitContext, x: string, xhat: string, rows: Rows, eps: number): string {
  const { b } = ctx;
  const s = meanOfProduct(ctx, x, xhat, rows);
  const root = b.op('Sqrt', [b.op('Add', [b.op('Mul', [s, s]), scalarOf(b, 4 * eps, rows.dtype)])]);
  return b.op('Div', [scalarOf(b, 2, rows.dtype), b.op('Add', [s, root])]);
}

/** dx = r * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) over the normalised axes. */
function standardiseBackward(ctx: EmitContext, dxhat: string, s: Standardised, rows: Rows): string {
  const { b } = ctx;
  const meanGrad = reduceMean(ctx, dxhat, normAxes(rows), true);
  const meanProj = meanOfProduct(ctx, dxhat, s.xhat, rows);
  const inner = b.op('Sub', [b.op('Sub', [dxhat, meanGrad]), b.op('Mul', [s.xhat, meanProj])]);
  return b.op('Mul', [s.rstd, inner]);
}

/** True when `value` is a constant whose every element equals `expected` (an absent input counts for zero). */
function isConstantFill(ctx: GradContext, value: string | undefined, expected: number): boolean {
  if (value === undefined || value === '') return expected === 0;
  const values = ctx.constant(value);
  return values !== undefined && values.every((v) => v === expected);
}

function requireFloat(ctx: GradContext, value: string): DType {
  const dt = ctx.dtype(value);
  if (dt !== 'float32' && dt !== 'float64') nodeError(ctx.node, `normalisation gradients are built for float32/float64, got ${dt}`);
  return dt;
}

/** A [C] parameter viewed as [1, C, 1, ...] against a rank-`rank` NC... tensor. */
function channelView(ctx: GradContext, param: string, rank: number): string {
  const c = ctx.shape(param)[0]!;
  return reshape(ctx.b, param, [1, c, ...range(2, rank).map(() => 1)]);
}

/**
 * xhat and r of a norm node whose forward output is `scale * xhat + bias`: the forward output
 * itself when the affine part is the identity, else recomputed from x.
 */
function normStatistics(ctx: GradContext, x: string, rows: Rows, scale: string, bias: string | undefined): Standardised {
  const eps = normEpsilon(ctx.node);
  if (isConstantFill(ctx, scale, 1) && isConstantFill(ctx, bias, 0)) {
    const xhat = ctx.node.outputs[0]!;
    return { xhat, rstd: rstdFromStandardised(ctx, x, xhat, rows, eps) };
  }
  return standardise(ctx, x, rows, eps);
}

const instanceNormGrad = (ctx: GradContext): (string | undefined)[] => {
  const { b, node } = ctx;
  const dy = ctx.gradOutput(0);
  if (dy === undefined) return ctx.node.inputs.map(() => undefined);
  const [x, scale, bias] = node.inputs as [string, string, string];
  const dtype = requireFloat(ctx, x);
  const xShape = ctx.shape(x);
  const rank = xShape.length;
  const spatial = range(2, rank);
  const rows: Rows = { shape: xShape, from: 2, dtype };
  const s = normStatistics(ctx, x, rows, scale, bias);
  const grads: (string | undefined)[] = [undefined, undefined, undefined];
  if (ctx.needsGrad(0)) {
    const dxhat = isConstantFill(ctx, scale, 1) ? dy : b.op('Mul', [dy, channelView(ctx, scale, rank)]);
    grads[0] = standardiseBackward(ctx, dxhat, s, rows);
  }
  if (ctx.needsGrad(1)) grads[1] = reduceSum(ctx, b.op('Mul', [dy, s.xhat]), [0, ...spatial], false);
  if (ctx.needsGrad(2)) grads[2] = reduceSum(ctx, dy, [0, ...spatial], false);
  return grads;
};

const layerNormGrad = (ctx: GradContext): (string | undefined)[] => {
  const { b, node } = ctx;
  const dy = ctx.gradOutput(0);
  const dMean = ctx.gradOutput(1);
  const dInvStd = ctx.gradOutput(2);
  if (dy === undefined && dMean === undefined && dInvStd === undefined) return ctx.node.inputs.map(() => undefined);
  const [x, scale, bias] = node.inputs as [string, string, string | undefined];
  const dtype = requireFloat(ctx, x);
  const xShape = ctx.shape(x);
  const axis = layerNormAxis(node, xShape.length);
  const leading = range(0, axis);
  const count = xShape.slice(axis).reduce((a, d) => a * d, 1);
  const rows: Rows = { shape: xShape, from: axis, dtype };
  const statDtype = attrInt(node, 'stash_type', 1) === 1 ? 'float32' : dtype;
  const asX = (v: string): string => (statDtype === dtype ? v : b.op('Cast', [v], { to: dtype === 'float64' ? 11 : 1 }));
  // the forward's own statistics when it output them (computed by the very kernel that made Y)
  const [, fwdMean, fwdInvStd] = node.outputs;
  const s: Standardised =
    fwdMean && fwdInvStd
      ? { xhat: b.op('Mul', [b.op('Sub', [x, asX(fwdMean)]), asX(fwdInvStd)]), rstd: asX(fwdInvStd) }
      : fwdInvStd && isConstantFill(ctx, scale, 1) && isConstantFill(ctx, bias, 0)
        ? { xhat: node.outputs[0]!, rstd: asX(fwdInvStd) }
        : normStatistics(ctx, x, rows, scale, bias);
  const grads: (string | undefined)[] = [undefined, undefined, undefined];

  if (ctx.needsGrad(0)) {
    const parts: string[] = [];
    if (dy !== undefined) parts.push(standardiseBackward(ctx, isConstantFill(ctx, scale, 1) ? dy : b.op('Mul', [dy, scale]), s, rows));
    // Mean = mu: d mu / dx = 1/M
    if (dMean !== undefined) parts.push(b.op('Mul', [asX(dMean), scalarOf(b, 1 / count, dtype)]));
    // InvStdDev = r: d r / dx = -r^3 (x-mu) / M = -r^2 xhat / M
    if (dInvStd !== undefined) {
      const r2 = b.op('Mul', [s.rstd, s.rstd]);
      const coeff = b.op('Mul', [b.op('Mul', [asX(dInvStd), r2]), scalarOf(b, -1 / count, dtype)]);
      parts.push(b.op('Mul', [coeff, s.xhat]));
    }
    grads[0] = parts.length === 1 ? parts[0] : b.op('Sum', parts);
  }
  const sumToParam = (full: string, param: string): string => {
    // reduce the leading (batch) axes, then any axes the parameter broadcasts along
    const perFeature = leading.length > 0 ? reduceSum(ctx, full, leading, false) : full;
    return unbroadcast(ctx, perFeature, xShape.slice(axis), ctx.shape(param));
  };
  if (dy !== undefined && ctx.needsGrad(1)) grads[1] = sumToParam(b.op('Mul', [dy, s.xhat]), scale);
  if (dy !== undefined && bias && ctx.needsGrad(2)) grads[2] = sumToParam(dy, bias);
  return grads;
};

/**
 * GroupNormalization: channels split into num_groups groups, each normalised over its channels
 * and all spatial positions. Opset 18 has one scale/bias per group, opset 21 one per channel.
 */
const groupNormGrad = (ctx: GradContext): (string | undefined)[] => {
  const { b, node } = ctx;
  const dy = ctx.gradOutput(0);
  if (dy === undefined) return ctx.node.inputs.map(() => undefined);
  const [x, scale] = node.inputs as [string, string, string];
  const dtype = requireFloat(ctx, x);
  const xShape = ctx.shape(x);
  const rank = xShape.length;
  const [n, c] = xShape as [number, number];
  const groups = attrInt(node, 'num_groups', 0);
  if (groups < 1 || c % groups !== 0) nodeError(node, `num_groups ${groups} must divide the ${c} channels`);
  const perChannel = ctx.opset >= 21;
  const grouped = [n, groups, (c / groups) * xShape.slice(2).reduce((a, d) => a * d, 1)];
  const rows: Rows = { shape: grouped, from: 2, dtype };
  const s = standardise(ctx, reshape(b, x, grouped), rows, normEpsilon(node));
  const dyGrouped = reshape(b, dy, grouped);
  const grads: (string | undefined)[] = [undefined, undefined, undefined];
  if (ctx.needsGrad(0)) {
    const dxhat = perChannel
      ? reshape(b, b.op('Mul', [dy, channelView(ctx, scale, rank)]), grouped)
      : b.op('Mul', [dyGrouped, reshape(b, scale, [1, groups, 1])]);
    grads[0] = reshape(b, standardiseBackward(ctx, dxhat, s, rows), xShape);
  }
  const spatial = range(2, rank);
  if (ctx.needsGrad(1)) {
    grads[1] = perChannel
      ? reduceSum(ctx, b.op('Mul', [dy, reshape(b, s.xhat, xShape)]), [0, ...spatial], false)
      : reduceSum(ctx, b.op('Mul', [dyGrouped, s.xhat]), [0, 2], false);
  }
  if (ctx.needsGrad(2)) grads[2] = perChannel ? reduceSum(ctx, dy, [0, ...spatial], false) : reduceSum(ctx, dyGrouped, [0, 2], false);
  return grads;
};

/**
 * BatchNormalization with given statistics (training_mode 0):
 *   y = scale * (x - mean) * r + B,  r = 1/sqrt(var + eps), per channel.
 * Gradients for X, scale, B, and for mean and var too (they are ordinary inputs).
 */
const batchNormGrad = (ctx: GradContext): (string | undefined)[] => {
  const { b, node } = ctx;
  const training = ctx.opset >= 14 ? attrInt(node, 'training_mode', 0) !== 0 : node.outputs.filter((o) => o !== '').length > 1;
  if (training) nodeError(node, 'the gradient of BatchNormalization in training mode is not supported; use running statistics (training_mode 0)');
  const dy = ctx.gradOutput(0);
  if (dy === undefined) return ctx.node.inputs.map(() => undefined);
  const [x, scale, , mean, variance] = node.inputs as [string, string, string, string, string];
  const dtype = requireFloat(ctx, x);
  const rank = ctx.shape(x).length;
  const reduceAxes = [0, ...range(2, rank)];
  const rstd = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, scalarOf(b, normEpsilon(node), dtype)])])]);
  const view = (v: string): string => reshape(b, v, [1, ctx.shape(scale)[0]!, ...range(2, rank).map(() => 1)]);
  const grads: (string | undefined)[] = [undefined, undefined, undefined, undefined, undefined];
  const gain = b.op('Mul', [scale, rstd]);
  if (ctx.needsGrad(0)) grads[0] = b.op('Mul', [dy, view(gain)]);
  const needCentred = ctx.needsGrad(1) || ctx.needsGrad(4);
  const centredDotDy = needCentred ? reduceSum(ctx, b.op('Mul', [dy, b.op('Sub', [x, view(mean)])]), reduceAxes, false) : undefined;
  const sumDy = ctx.needsGrad(2) || ctx.needsGrad(3) ? reduceSum(ctx, dy, reduceAxes, false) : undefined;
  if (ctx.needsGrad(1)) grads[1] = b.op('Mul', [centredDotDy!, rstd]);
  if (ctx.needsGrad(2)) grads[2] = sumDy;
  if (ctx.needsGrad(3)) grads[3] = b.op('Neg', [b.op('Mul', [sumDy!, gain])]);
  // d r / d var = -r^3 / 2
  if (ctx.needsGrad(4)) {
    const r3 = b.op('Mul', [b.op('Mul', [rstd, rstd]), rstd]);
    grads[4] = b.op('Mul', [b.op('Mul', [centredDotDy!, b.op('Mul', [scale, r3])]), scalarOf(b, -0.5, dtype)]);
  }
  return grads;
};

export const normRules: RuleEntry[] = [
  { opType: 'InstanceNormalization', rule: instanceNormGrad },
  { opType: 'LayerNormalization', rule: layerNormGrad },
  { opType: 'GroupNormalization', rule: groupNormGrad },
  { opType: 'BatchNormalization', rule: batchNormGrad },
];
