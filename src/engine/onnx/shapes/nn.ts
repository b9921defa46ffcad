// Shape functions for the neural-network ops (Conv, ConvTranspose, pools, normalisations,
// Resize/Upsample), and the sliding-window geometry they rest on. The Conv/ConvTranspose/pool
// gradient rules resolve pads and output sizes through the very same functions, so the shape a
// node is inferred to have and the shape its gradient is built for cannot disagree.
//
// Where the ONNX spec and onnxruntime (our runtime) differ, these follow onnxruntime 1.30 and say
// so; test/engine/autodiff/nn-shapes.test.ts compares every function with ORT's actual outputs.
import type { Node } from '../ir';
import type { ShapeContext, ShapeFn, ShapeTable, StaticType } from './types';
import { attrFloat, attrInt, attrInts, attrString, nodeError, requireInput } from './elementwise';

/** One spatial axis of a sliding-window op, with auto_pad already resolved into explicit pads. */
export interface WindowAxis {
  /** input size along this axis */
  inSize: number;
  kernel: number;
  stride: number;
  dilation: number;
  padBegin: number;
  padEnd: number;
  /** output size along this axis */
  outSize: number;
}

/** Size of a dilated kernel window: d*(k-1)+1 input positions from first tap to last. */
export function windowExtent(a: Pick<WindowAxis, 'kernel' | 'dilation'>): number {
  return a.dilation * (a.kernel - 1) + 1;
}

function spatialAttr(node: Node, name: string, rank: number, fallback: number): number[] {
  const v = attrInts(node, name);
  if (v === undefined || v.length === 0) return new Array<number>(rank).fill(fallback);
  if (v.length !== rank) nodeError(node, `attribute '${name}' has ${v.length} values, expected ${rank} (one per spatial axis)`);
  return v;
}

function padsAttr(node: Node, rank: number): { begin: number[]; end: number[] } {
  const v = attrInts(node, 'pads');
  if (v === undefined || v.length === 0) return { begin: new Array<number>(rank).fill(0), end: new Array<number>(rank).fill(0) };
  if (v.length !== 2 * rank) nodeError(node, `attribute 'pads' has ${v.length} values, expected ${2 * rank} (begins then ends)`);
  if (v.some((p) => p < 0)) nodeError(node, `negative pads [${v.join(', ')}] are not supported`);
  return { begin: v.slice(0, rank), end: v.slice(rank) };
}

function autoPad(node: Node): 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID' {
  const mode = attrString(node, 'auto_pad', 'NOTSET');
  if (mode === 'NOTSET' || mode === 'SAME_UPPER' || mode === 'SAME_LOWER' || mode === 'VALID') return mode;
  return nodeError(node, `unknown auto_pad '${mode}'`);
}

/**
 * Geometry of Conv (ceilMode false) and of AveragePool/MaxPool/LpPool (ceil_mode attribute).
 *   NOTSET:  out = floor_or_ceil((in + padBegin + padEnd - extent) / stride) + 1
 *   VALID:   the same with zero pads
 *   SAME_*:  out = ceil(in / stride), total pad = max(0, (out-1)*stride + extent - in),
 *            split evenly with the odd one at the end (UPPER) or at the beginning (LOWER)
 * ceil_mode drops a last window that would start inside the end padding (onnxruntime's rule,
 * also PyTorch's): (out-1)*stride >= in + padBegin.
 */
export function slidingWindowAxes(node: Node, inSpatial: readonly number[], kernel: readonly number[], ceilMode: boolean): WindowAxis[] {
  const rank = inSpatial.length;
  if (kernel.length !== rank) nodeError(node, `kernel has ${kernel.length} spatial axes but the input has ${rank}`);
  const strides = spatialAttr(node, 'strides', rank, 1);
  const dilations = spatialAttr(node, 'dilations', rank, 1);
  const pads = padsAttr(node, rank);
  const mode = autoPad(node);
  const axes: WindowAxis[] = [];
  for (let i = 0; i < rank; i++) {
    const inSize = inSpatial[i]!;
    const stride = strides[i]!;
    const dilation = dilations[i]!;
    const k = kernel[i]!;
    if (stride < 1 || dilation < 1 || k < 1) nodeError(node, `kernel ${k}, stride ${stride} and dilation ${dilation} must all be >= 1`);
    const extent = dilation * (k - 1) + 1;
    let padBegin = pads.begin[i]!;
    let padEnd = pads.end[i]!;
    if (mode === 'VALID') padBegin = padEnd = 0;
    if (mode === 'SAME_UPPER' || mode === 'SAME_LOWER') {
      const target = Math.ceil(inSize / stride);
      const total = Math.max(0, (target - 1) * stride + extent - inSize);
      const small = Math.floor(total / 2);
      padBegin = mode === 'SAME_UPPER' ? small : total - small;
      padEnd = total - padBegin;
    }
    const span = inSize + padBegin + padEnd - extent;
    if (span < 0) nodeError(node, `axis ${i}: the window (extent ${extent}) is larger than the padded input (${inSize + padBegin + padEnd})`);
    let outSize = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
    if (ceilMode && (outSize - 1) * stride >= inSize + padBegin) outSize -= 1;
    axes.push({ inSize, kernel: k, stride, dilation, padBegin, padEnd, outSize });
  }
  return axes;
}

/** One spatial axis of ConvTranspose: the window geometry seen from its output. */
export interface TransposedAxis {
  inSize: number;
  kernel: number;
  stride: number;
  dilation: number;
  /** positions cropped from the start of the full transposed result */
  padBegin: number;
  /**
   * positions cropped from the end of the full result (full = stride*(in-1) + extent); negative
   * when the output is longer than the full result (output_padding, or a large output_shape):
   * the extra positions are zeros that depend on nothing.
   */
  cropEnd: number;
  outSize: number;
}

/**
 * ConvTranspose geometry (opset 11+ semantics, as onnxruntime 1.30 runs them):
 *   explicit pads:  out = stride*(in-1) + output_padding + extent - padBegin - padEnd
 *   output_shape:   out given; total pad = max(0, stride*(in-1) + output_padding + extent - out),
 *                   SAME_UPPER puts the odd one at the end, otherwise at the beginning
 *   SAME_*:         out = in*stride, the total pad split the same way; VALID: no pads
 */
export function convTransposeAxes(node: Node, inSpatial: readonly number[], kernel: readonly number[]): TransposedAxis[] {
  const rank = inSpatial.length;
  if (kernel.length !== rank) nodeError(node, `kernel has ${kernel.length} spatial axes but the input has ${rank}`);
  const strides = spatialAttr(node, 'strides', rank, 1);
  const dilations = spatialAttr(node, 'dilations', rank, 1);
  const outputPadding = spatialAttr(node, 'output_padding', rank, 0);
  const pads = padsAttr(node, rank);
  const mode = autoPad(node);
  const outputShapeAttr = attrInts(node, 'output_shape');
  let outputShape: number[] | undefined;
  if (outputShapeAttr !== undefined && outputShapeAttr.length > 0) {
    if (outputShapeAttr.length === rank) outputShape = outputShapeAttr;
    else if (outputShapeAttr.length === rank + 2) outputShape = outputShapeAttr.slice(2);
    else nodeError(node, `attribute 'output_shape' has ${outputShapeAttr.length} values, expected ${rank}`);
  }
  const axes: TransposedAxis[] = [];
  for (let i = 0; i < rank; i++) {
    const inSize = inSpatial[i]!;
    const stride = strides[i]!;
    const dilation = dilations[i]!;
    const k = kernel[i]!;
    const op = outputPadding[i]!;
    if (op < 0 || op >= Math.max(stride, dilation)) nodeError(node, `output_padding ${op} must be in [0, max(stride, dilation)) on axis ${i}`);
    const full = stride * (inSize - 1) + dilation * (k - 1) + 1;
    let padBegin: number;
    let outSize: number;
    if (outputShape !== undefined || mode === 'SAME_UPPER' || mode === 'SAME_LOWER') {
      outSize = outputShape !== undefined ? outputShape[i]! : inSize * stride;
      const total = Math.max(0, full + op - outSize);
      padBegin = mode === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
    } else if (mode === 'VALID') {
      padBegin = 0;
      outSize = full + op;
    } else {
      padBegin = pads.begin[i]!;
      outSize = full + op - padBegin - pads.end[i]!;
    }
    if (outSize < 1) nodeError(node, `axis ${i}: output size ${outSize} is not positive`);
    axes.push({ inSize, kernel: k, stride, dilation, padBegin, cropEnd: full - padBegin - outSize, outSize });
  }
  return axes;
}

function sameShape(x: StaticType): StaticType {
  return { dtype: x.dtype, shape: [...x.shape] };
}

function requireRank(node: Node, x: StaticType, minRank: number, what: string): void {
  if (x.shape.length < minRank) nodeError(node, `${what} must have rank >= ${minRank}, got [${x.shape.join(', ')}]`);
}

/** Checks a per-channel parameter (scale, bias, mean, var) has shape [size]. */
function requireVector(ctx: ShapeContext, i: number, size: number, what: string): void {
  const t = ctx.input(i);
  if (!t) return;
  if (t.shape.length !== 1 || t.shape[0] !== size) nodeError(ctx.node, `${what} must have shape [${size}], got [${t.shape.join(', ')}]`);
}

const conv: ShapeFn = (ctx) => {
  const node = ctx.node;
  const x = requireInput(ctx, 0);
  const w = requireInput(ctx, 1);
  requireRank(node, x, 3, 'X');
  if (w.shape.length !== x.shape.length) nodeError(node, `W [${w.shape.join(', ')}] and X [${x.shape.join(', ')}] must have the same rank`);
  const group = attrInt(node, 'group', 1);
  const channels = x.shape[1]!;
  const outChannels = w.shape[0]!;
  if (channels !== w.shape[1]! * group) nodeError(node, `X has ${channels} channels but W expects ${w.shape[1]} per group x ${group} groups`);
  if (outChannels % group !== 0) nodeError(node, `${outChannels} output channels do not divide into ${group} groups`);
  const kernel = w.shape.slice(2);
  const kernelAttr = attrInts(node, 'kernel_shape');
  if (kernelAttr && kernelAttr.join() !== kernel.join()) nodeError(node, `kernel_shape [${kernelAttr.join(', ')}] differs from W's [${kernel.join(', ')}]`);
  requireVector(ctx, 2, outChannels, 'B');
  const axes = slidingWindowAxes(node, x.shape.slice(2), kernel, false);
  return [{ dtype: x.dtype, shape: [x.shape[0]!, outChannels, ...axes.map((a) => a.outSize)] }];
};

const convTranspose: ShapeFn = (ctx) => {
  const node = ctx.node;
  const x = requireInput(ctx, 0);
  const w = requireInput(ctx, 1);
  requireRank(node, x, 3, 'X');
  if (w.shape.length !== x.shape.length) nodeError(node, `W [${w.shape.join(', ')}] and X [${x.shape.join(', ')}] must have the same rank`);
  const group = attrInt(node, 'group', 1);
  if (w.shape[0] !== x.shape[1]) nodeError(node, `W has ${w.shape[0]} input channels but X has ${x.shape[1]}`);
  if (x.shape[1]! % group !== 0) nodeError(node, `${x.shape[1]} input channels do not divide into ${group} groups`);
  const outChannels = w.shape[1]! * group;
  requireVector(ctx, 2, outChannels, 'B');
  const axes = convTransposeAxes(node, x.shape.slice(2), w.shape.slice(2));
  return [{ dtype: x.dtype, shape: [x.shape[0]!, outChannels, ...axes.map((a) => a.outSize)] }];
};

/** Kernel of a (non-global) pool, from its required kernel_shape attribute. */
export function poolKernel(node: Node, spatialRank: number): number[] {
  const k = attrInts(node, 'kernel_shape');
  if (!k || k.length !== spatialRank) nodeError(node, `kernel_shape must have ${spatialRank} values, got ${k ? `[${k.join(', ')}]` : 'none'}`);
  return k;
}

/** Geometry of AveragePool / MaxPool / LpPool on input shape x. */
export function poolAxes(node: Node, x: readonly number[]): WindowAxis[] {
  const spatial = x.slice(2);
  return slidingWindowAxes(node, spatial, poolKernel(node, spatial.length), attrInt(node, 'ceil_mode', 0) !== 0);
}

const pool: ShapeFn = (ctx) => {
  const x = requireInput(ctx, 0);
  requireRank(ctx.node, x, 3, 'X');
  const shape = [x.shape[0]!, x.shape[1]!, ...poolAxes(ctx.node, x.shape).map((a) => a.outSize)];
  const out: StaticType[] = [{ dtype: x.dtype, shape }];
  // MaxPool's optional second output: flat indices of the maxima
  if (ctx.node.opType === 'MaxPool' && ctx.node.outputs.length > 1) out.push({ dtype: 'int64', shape: [...shape] });
  return out;
};

const globalPool: ShapeFn = (ctx) => {
  const x = requireInput(ctx, 0);
  requireRank(ctx.node, x, 3, 'X');
  return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)] }];
};

const instanceNorm: ShapeFn = (ctx) => {
  const x = requireInput(ctx, 0);
  requireRank(ctx.node, x, 3, 'X');
  requireVector(ctx, 1, x.shape[1]!, 'scale');
  requireVector(ctx, 2, x.shape[1]!, 'B');
  return [sameShape(x)];
};

/** LayerNormalization's first normalised axis, made non-negative. */
export function layerNormAxis(node: Node, rank: number): number {
  const axis = attrInt(node, 'axis', -1);
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) nodeError(node, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

const layerNorm: ShapeFn = (ctx) => {
  const x = requireInput(ctx, 0);
  const axis = layerNormAxis(ctx.node, x.shape.length);
  // Mean and InvStdDev keep the leading axes and have size 1 on the normalised ones; they are
  // computed in float32 unless stash_type says otherwise
  const statDtype = attrInt(ctx.node, 'stash_type', 1) === 1 ? 'float32' : x.dtype;
  const statShape = x.shape.map((d, i) => (i < axis ? d : 1));
  const out: StaticType[] = [sameShape(x)];
  if (ctx.node.outputs.length > 1) out.push({ dtype: statDtype, shape: statShape });
  if (ctx.node.outputs.length > 2) out.push({ dtype: statDtype, shape: [...statShape] });
  return out;
};

const groupNorm: ShapeFn = (ctx) => {
  const x = requireInput(ctx, 0);
  requireRank(ctx.node, x, 3, 'X');
  const groups = attrInt(ctx.node, 'num_groups', 0);
  const channels = x.shape[1]!;
  if (groups < 1 || channels % groups !== 0) nodeError(ctx.node, `num_groups ${groups} must be >= 1 and divide the ${channels} channels`);
  // opset 18: one scale/bias per group; opset 21: one per channel
  const paramSize = ctx.opset >= 21 ? channels : groups;
  requireVector(ctx, 1, paramSize, 'scale');
  requireVector(ctx, 2, paramSize, 'bias');
  return [sameShape(x)];
};

const batchNorm: ShapeFn = (ctx) => {
  const x = requireInput(ctx, 0);
  requireRank(ctx.node, x, 2, 'X');
  const c = x.shape[1]!;
  for (const [i, what] of [[1, 'scale'], [2, 'B'], [3, 'input_mean'], [4, 'input_var']] as const) requireVector(ctx, i, c, what);
  const out: StaticType[] = [sameShape(x)];
  // training_mode (opset 14+) adds running_mean and running_var
  for (let i = 1; i < Math.min(ctx.node.outputs.length, 3); i++) out.push({ dtype: x.dtype, shape: [c] });
  return out;
};

/** Where Resize/Upsample find their scales and sizes, by op and opset. */
interface ResizeOperands {
  scales?: number[];
  sizes?: number[];
  /** the axes scales/sizes refer to (opset 18 `axes`; otherwise all) */
  axes: number[];
}

/** Constant values of an optional input; an empty tensor counts as absent. */
function optionalConstant(ctx: Pick<ShapeContext, 'node' | 'input' | 'constant'>, i: number, what: string): number[] | undefined {
  if (!ctx.node.inputs[i]) return undefined;
  const t = ctx.input(i);
  if (t && t.shape.length === 1 && t.shape[0] === 0) return undefined;
  const v = ctx.constant(i);
  if (v === undefined) nodeError(ctx.node, `${what} (input ${i}, '${ctx.node.inputs[i]}') must be a constant: shapes are static`);
  return v.length === 0 ? undefined : v;
}

export function resizeOperands(ctx: Pick<ShapeContext, 'node' | 'input' | 'constant' | 'opset'>, rank: number): ResizeOperands {
  const node = ctx.node;
  let scales: number[] | undefined;
  let sizes: number[] | undefined;
  if (node.opType === 'Upsample' && node.attrs['scales'] !== undefined) {
    const a = node.attrs['scales'];
    scales = a.type === 'floats' ? a.value : nodeError(node, `attribute 'scales' must be floats`);
  } else if (node.opType === 'Upsample' || ctx.opset < 11) {
    scales = optionalConstant(ctx, 1, 'scales');
  } else {
    scales = optionalConstant(ctx, 2, 'scales');
    sizes = optionalConstant(ctx, 3, 'sizes');
  }
  if ((scales === undefined) === (sizes === undefined)) nodeError(node, 'exactly one of scales and sizes must be given');
  let axes = attrInts(node, 'axes');
  if (axes === undefined || axes.length === 0) axes = Array.from({ length: rank }, (_, i) => i);
  axes = axes.map((a) => (a < 0 ? a + rank : a));
  if (axes.some((a) => a < 0 || a >= rank)) nodeError(node, `axes [${attrInts(node, 'axes')!.join(', ')}] out of range for rank ${rank}`);
  const given = (scales ?? sizes)!;
  if (given.length !== axes.length) nodeError(node, `${scales ? 'scales' : 'sizes'} has ${given.length} values for ${axes.length} axes`);
  if (attrString(node, 'keep_aspect_ratio_policy', 'stretch') !== 'stretch') {
    nodeError(node, `keep_aspect_ratio_policy '${attrString(node, 'keep_aspect_ratio_policy', '')}' is not supported (only 'stretch')`);
  }
  return { scales, sizes, axes };
}

/**
 * Output size of one resized axis from a scale. onnxruntime multiplies in float32 and
 * truncates: (int64)(float(in) * scale). The spec's floor(in * scale) agrees except at float
 * rounding boundaries, where the runtime decides.
 */
export function scaledSize(inSize: number, scale: number): number {
  return Math.floor(Math.fround(Math.fround(inSize) * Math.fround(scale)));
}

const resize: ShapeFn = (ctx) => {
  const x = requireInput(ctx, 0);
  const rank = x.shape.length;
  const { scales, sizes, axes } = resizeOperands(ctx, rank);
  const shape = [...x.shape];
  axes.forEach((axis, i) => {
    const size = sizes ? sizes[i]! : scaledSize(x.shape[axis]!, scales![i]!);
    if (!(size >= 1)) nodeError(ctx.node, `axis ${axis} would have size ${size}`);
    shape[axis] = size;
  });
  return [{ dtype: x.dtype, shape }];
};

/** The epsilon of a normalisation node (its spec default 1e-5). */
export function normEpsilon(node: Node): number {
  return attrFloat(node, 'epsilon', 1e-5);
}

export const nnShapes: ShapeTable = {
  Conv: conv,
  ConvTranspose: convTranspose,
  AveragePool: pool,
  MaxPool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
  InstanceNormalization: instanceNorm,
  LayerNormalization: layerNorm,
  GroupNormalization: groupNorm,
  BatchNormalization: batchNorm,
  Resize: resize,
  Upsample: resize,
};
