// Rewrites ONNX Runtime contrib ops (domain com.microsoft, emitted by ORT's transformer
// optimiser for SD models) back into standard ONNX ops, so autodiff, shape inference and every
// execution provider can handle the graph. Each rewrite follows the op's definition in ORT's
// ContribOperators.md:
//   Gelu(x)             = 0.5 x (1 + erf(x / sqrt 2))
//   BiasGelu(a, b)      = Gelu(a + b)
//   FastGelu(x, b?)     = 0.5 y (1 + tanh(sqrt(2/pi) (y + 0.044715 y^3))),  y = x + b
//   BiasAdd(x, b, s)    = x + b + s
//   BiasSplitGelu(x, b) = left * Gelu(right), (left | right) = halves of x + b on the last axis
//   SkipLayerNormalization(x, skip, gamma, beta?, bias?): s = x + skip + bias,
//                         LayerNorm over the last axis of s, * gamma + beta
//   GroupNorm(x NHWC, gamma, beta): per sample and group of C/G channels, normalise over H, W and
//                         the group's channels, * gamma + beta, then SiLU when activation = 1
//   MultiHeadAttention(q, k, v): softmax(Q K^T * scale) V per head, scale = 1/sqrt(head size)

import { DTYPE_FROM_CODE, ONNX_DTYPE_CODE, type DType, type Model, type Node } from '../ir';
import { PassError, reduceMean, rewriteNodes, unsqueeze, type RewriteContext } from './graph-edit';

const PASS = 'defuseContribOps';
const CONTRIB = 'com.microsoft';

function attrNumber(node: Node, name: string, fallback: number): number {
  const a = node.attrs[name];
  if (!a) return fallback;
  if (a.type === 'int' || a.type === 'float') return a.value;
  throw new PassError(PASS, node, `attribute '${name}' is not a number`);
}

function input(node: Node, i: number): string | undefined {
  const v = node.inputs[i];
  return v === undefined || v === '' ? undefined : v;
}

function onlyOutputs(node: Node, allowed: number): void {
  for (let i = allowed; i < node.outputs.length; i++) {
    if (node.outputs[i]) throw new PassError(PASS, node, `output ${i} ('${node.outputs[i]}') is not supported`);
  }
}

const FLOAT_TYPES = new Set<DType>(['float32', 'float16', 'bfloat16', 'float64']);

/**
 * The floating-point type of a value: from value_info, graph inputs or initializers, else found by
 * walking up through its producers (Cast says its type); float32 when nothing says otherwise.
 * Constants the rewrites add are cast to it, so float16 models stay float16.
 */
function floatTypeOf(ctx: RewriteContext, value: string): DType {
  const g = ctx.model.graph;
  const producers = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producers.set(o, n);
  const seen = new Set<string>();
  const queue = [value];
  while (queue.length > 0 && seen.size < 64) {
    const v = queue.shift()!;
    if (seen.has(v)) continue;
    seen.add(v);
    const known = g.valueInfo.get(v)?.dtype ?? g.inputs.find((i) => i.name === v)?.dtype ?? g.initializers.get(v)?.dtype;
    if (known) {
      if (FLOAT_TYPES.has(known)) return known;
      continue;
    }
    const p = producers.get(v);
    if (!p) continue;
    const to = p.opType === 'Cast' && p.attrs.to?.type === 'int' ? DTYPE_FROM_CODE.get(p.attrs.to.value) : undefined;
    if (to) {
      if (FLOAT_TYPES.has(to)) return to;
      continue;
    }
    queue.push(...p.inputs.filter((i) => i !== ''));
  }
  return 'float32';
}

/** A rewrite's context: the float type of the node's data, used for every constant it adds. */
interface DefuseContext extends RewriteContext {
  dtype: DType;
}

function scalar(ctx: DefuseContext, value: number): string {
  const s = ctx.b.scalar(value);
  return ctx.dtype === 'float32' ? s : ctx.b.op('Cast', [s], { to: ONNX_DTYPE_CODE[ctx.dtype] });
}

function erfGelu(ctx: DefuseContext, x: string, output?: string): string {
  const { b } = ctx;
  const erf = b.op('Erf', [b.op('Mul', [x, scalar(ctx, Math.SQRT1_2)])]);
  const half = b.op('Mul', [x, scalar(ctx, 0.5)]);
  return b.op('Mul', [half, b.op('Add', [erf, scalar(ctx, 1)])], {}, output ? { output } : {});
}

function tanhGelu(ctx: DefuseContext, x: string, output: string): string {
  const { b } = ctx;
  const cube = b.op('Mul', [b.op('Mul', [x, x]), x]);
  const inner = b.op('Mul', [b.op('Add', [x, b.op('Mul', [cube, scalar(ctx, 0.044715)])]), scalar(ctx, Math.sqrt(2 / Math.PI))]);
  const half = b.op('Mul', [x, scalar(ctx, 0.5)]);
  return b.op('Mul', [half, b.op('Add', [b.op('Tanh', [inner]), scalar(ctx, 1)])], {}, { output });
}

/** (x - mean) / sqrt(var + eps) over `axes`, returning the normalised value, mean and 1/std. */
function normalise(ctx: DefuseContext, x: string, axes: number[], epsilon: number): { y: string; mean: string; invStd: string } {
  const { b } = ctx;
  const mean = reduceMean(ctx, x, axes);
  const centred = b.op('Sub', [x, mean]);
  const variance = reduceMean(ctx, b.op('Mul', [centred, centred]), axes);
  const invStd = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, scalar(ctx, epsilon)])])]);
  return { y: b.op('Mul', [centred, invStd]), mean, invStd };
}

function defuseGelu(node: Node, ctx: DefuseContext): void {
  onlyOutputs(node, 1);
  const x = input(node, 0)!;
  const bias = node.opType === 'BiasGelu' ? input(node, 1) : undefined;
  erfGelu(ctx, bias ? ctx.b.op('Add', [x, bias]) : x, node.outputs[0]);
}

function defuseFastGelu(node: Node, ctx: DefuseContext): void {
  onlyOutputs(node, 1);
  const bias = input(node, 1);
  tanhGelu(ctx, bias ? ctx.b.op('Add', [input(node, 0)!, bias]) : input(node, 0)!, node.outputs[0]!);
}

function defuseBiasAdd(node: Node, ctx: DefuseContext): void {
  onlyOutputs(node, 1);
  const { b } = ctx;
  b.op('Add', [b.op('Add', [input(node, 0)!, input(node, 1)!]), input(node, 2)!], {}, { output: node.outputs[0]! });
}

function defuseBiasSplitGelu(node: Node, ctx: DefuseContext): void {
  onlyOutputs(node, 1);
  const { b } = ctx;
  const sum = b.op('Add', [input(node, 0)!, input(node, 1)!]);
  // equal split of the last axis into two outputs (no 'split' sizes given)
  const [left, right] = b.opN('Split', [sum], { axis: -1 }, { outputs: 2 });
  b.op('Mul', [left!, erfGelu(ctx, right!)], {}, { output: node.outputs[0]! });
}

function defuseSkipLayerNorm(node: Node, ctx: DefuseContext): void {
  const { b } = ctx;
  const [x, skip, gamma, beta, bias] = [0, 1, 2, 3, 4].map((i) => input(node, i));
  if (!x || !skip || !gamma) throw new PassError(PASS, node, 'needs input, skip and gamma');
  // ORT's default epsilon for SkipLayerNormalization
  const epsilon = attrNumber(node, 'epsilon', 1e-12);
  let sum = b.op('Add', [x, skip]);
  if (bias) sum = b.op('Add', [sum, bias]);
  const { y, mean, invStd } = normalise(ctx, sum, [-1], epsilon);
  const scaled = b.op('Mul', [y, gamma]);
  const [output, meanOut, invStdOut, sumOut] = node.outputs;
  b.op(beta ? 'Add' : 'Identity', beta ? [scaled, beta] : [scaled], {}, { output: output! });
  if (meanOut) b.op('Identity', [mean], {}, { output: meanOut });
  if (invStdOut) b.op('Identity', [invStd], {}, { output: invStdOut });
  if (sumOut) b.op('Identity', [sum], {}, { output: sumOut });
}

function channelCount(node: Node, ctx: DefuseContext, gamma: string): number {
  const t = ctx.model.graph.initializers.get(gamma);
  const shape = t ? t.dims : ctx.model.graph.valueInfo.get(gamma)?.shape;
  const c = shape?.[shape.length - 1];
  if (typeof c !== 'number') throw new PassError(PASS, node, `the channel count (length of gamma '${gamma}') is not known statically`);
  return c;
}

function defuseGroupNorm(node: Node, ctx: DefuseContext): void {
  onlyOutputs(node, 1);
  const { b } = ctx;
  const [x, gamma, beta] = [0, 1, 2].map((i) => input(node, i));
  if (!x || !gamma || !beta) throw new PassError(PASS, node, 'needs input, gamma and beta');
  const groups = attrNumber(node, 'groups', 0);
  const epsilon = attrNumber(node, 'epsilon', 1e-5);
  const activation = attrNumber(node, 'activation', 0);
  const channelsLast = attrNumber(node, 'channels_last', 1);
  const channels = channelCount(node, ctx, gamma);
  if (groups <= 0 || channels % groups !== 0) throw new PassError(PASS, node, `${channels} channels do not split into ${groups} groups`);
  if (activation !== 0 && activation !== 1) throw new PassError(PASS, node, `activation ${activation} is not supported (0 none, 1 SiLU)`);
  const shape = b.op('Shape', [x]);
  let y: string;
  let g: string;
  let bt: string;
  if (channelsLast) {
    // [N, H, W, C] -> [N, H*W, G, C/G]; statistics over axes 1 and 3
    const grouped = b.op('Reshape', [x, b.ints([0, -1, groups, channels / groups])]);
    y = b.op('Reshape', [normalise(ctx, grouped, [1, 3], epsilon).y, shape]);
    g = gamma;
    bt = beta;
  } else {
    // [N, C, H, W] -> [N, G, C/G * H * W]; gamma and beta broadcast as [C, 1, 1]
    const grouped = b.op('Reshape', [x, b.ints([0, groups, -1])]);
    y = b.op('Reshape', [normalise(ctx, grouped, [2], epsilon).y, shape]);
    g = unsqueeze(ctx, gamma, [1, 2]);
    bt = unsqueeze(ctx, beta, [1, 2]);
  }
  const affine = b.op('Add', [b.op('Mul', [y, g]), bt], {}, activation === 0 ? { output: node.outputs[0]! } : {});
  if (activation === 1) b.op('Mul', [affine, b.op('Sigmoid', [affine])], {}, { output: node.outputs[0]! });
}

/** [B, S, N*H] -> [B, N, S, H] */
function splitHeads(ctx: DefuseContext, x: string, heads: number): string {
  const { b } = ctx;
  return b.op('Transpose', [b.op('Reshape', [x, b.ints([0, 0, heads, -1])])], { perm: [0, 2, 1, 3] });
}

function defuseMultiHeadAttention(node: Node, ctx: DefuseContext): void {
  onlyOutputs(node, 1);
  const { b } = ctx;
  const heads = attrNumber(node, 'num_heads', 0);
  if (heads <= 0) throw new PassError(PASS, node, 'num_heads must be positive');
  if (attrNumber(node, 'unidirectional', 0) !== 0) throw new PassError(PASS, node, 'unidirectional (causal) attention is not supported');
  for (const [i, what] of [[4, 'key_padding_mask'], [5, 'attention_bias'], [6, 'past_key'], [7, 'past_value']] as const) {
    if (input(node, i)) throw new PassError(PASS, node, `input ${what} is not supported`);
  }
  const query = input(node, 0)!;
  const key = input(node, 1);
  const value = input(node, 2);
  const bias = input(node, 3);
  const rankOf = (v: string): number | undefined => ctx.model.graph.valueInfo.get(v)?.shape?.length ?? ctx.model.graph.inputs.find((i) => i.name === v)?.shape?.length;
  let q: string;
  let k: string;
  let v: string;
  if (!key && !value) {
    // packed QKV: [B, S, N, 3, H]
    if (bias) throw new PassError(PASS, node, 'bias with packed QKV is not supported');
    const parts = b.opN('Split', [query], { axis: 3 }, { outputs: 3 });
    const [pq, pk, pv] = parts.map((p) => b.op('Transpose', [b.op('Reshape', [p, b.ints([0, 0, heads, -1])])], { perm: [0, 2, 1, 3] }));
    [q, k, v] = [pq!, pk!, pv!];
  } else if (key && !value) {
    // packed KV: key [B, L, N, 2, H]
    if (bias) throw new PassError(PASS, node, 'bias with packed KV is not supported');
    q = splitHeads(ctx, query, heads);
    const [pk, pv] = b.opN('Split', [key], { axis: 3 }, { outputs: 2 }).map((p) => b.op('Transpose', [b.op('Reshape', [p, b.ints([0, 0, heads, -1])])], { perm: [0, 2, 1, 3] }));
    [k, v] = [pk!, pv!];
  } else if (key && value) {
    let [qIn, kIn, vIn] = [query, key, value];
    if (bias) {
      // bias = [bias_q | bias_k | bias_v], split into three equal parts
      const [bq, bk, bv] = b.opN('Split', [bias], { axis: 0 }, { outputs: 3 });
      [qIn, kIn, vIn] = [b.op('Add', [query, bq!]), b.op('Add', [key, bk!]), b.op('Add', [value, bv!])];
    }
    q = splitHeads(ctx, qIn, heads);
    // key/value may already be per-head [B, N, L, H] (cross-attention caches)
    const kRank = rankOf(key);
    if (kRank === 4 && bias) throw new PassError(PASS, node, 'bias with per-head key/value is not supported');
    k = kRank === 4 ? kIn : splitHeads(ctx, kIn, heads);
    v = kRank === 4 ? vIn : splitHeads(ctx, vIn, heads);
  } else {
    throw new PassError(PASS, node, 'value without key is not a valid input combination');
  }
  // scale = 1 / sqrt(head size), the head size read from Q's shape at run time unless given
  let scale: string;
  const scaleAttr = node.attrs.scale;
  if (scaleAttr && scaleAttr.type === 'float' && scaleAttr.value !== 0) scale = scalar(ctx, scaleAttr.value);
  else {
    const headSize = b.op('Cast', [b.op('Slice', [b.op('Shape', [q]), b.ints([-1]), b.ints([2 ** 31 - 1])])], { to: ONNX_DTYPE_CODE[ctx.dtype] });
    scale = b.op('Reciprocal', [b.op('Sqrt', [headSize])]);
  }
  const scores = b.op('Mul', [b.op('MatMul', [q, b.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), scale]);
  const probs = b.op('Softmax', [scores], { axis: -1 });
  const context = b.op('Transpose', [b.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] });
  b.op('Reshape', [context, b.ints([0, 0, -1])], {}, { output: node.outputs[0]! });
}

const REWRITES: Record<string, (node: Node, ctx: DefuseContext) => void> = {
  Gelu: defuseGelu,
  BiasGelu: defuseGelu,
  FastGelu: defuseFastGelu,
  BiasAdd: defuseBiasAdd,
  BiasSplitGelu: defuseBiasSplitGelu,
  SkipLayerNormalization: defuseSkipLayerNorm,
  GroupNorm: defuseGroupNorm,
  MultiHeadAttention: defuseMultiHeadAttention,
};

export const DEFUSABLE_CONTRIB_OPS: readonly string[] = Object.keys(REWRITES);

/**
 * Replaces the supported com.microsoft ops by standard ones. Other contrib ops are left alone
 * unless `strict`, which fails naming the first one.
 */
export function defuseContribOps(model: Model, options: { strict?: boolean } = {}): Model {
  const out = rewriteNodes(model, (node, ctx) => {
    if (node.domain !== CONTRIB) return false;
    const rewrite = REWRITES[node.opType];
    if (!rewrite) {
      if (options.strict) throw new PassError(PASS, node, `no standard-op rewrite for this contrib op (supported: ${DEFUSABLE_CONTRIB_OPS.join(', ')})`);
      return false;
    }
    if (ctx.opset < 13) throw new PassError(PASS, node, `the model's opset ${ctx.opset} is below 13, the lowest these rewrites target`);
    rewrite(node, { ...ctx, dtype: floatTypeOf(ctx, node.inputs[0]!) });
    return true;
  });
  if (!out.graph.nodes.some((n) => n.domain === CONTRIB)) out.opsetImports = out.opsetImports.filter((o) => o.domain !== CONTRIB);
  return out;
}
