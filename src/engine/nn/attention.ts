// Multi-head scaled dot-product attention, and the spatial (NCHW) attention block of a diffusion
// UNet: self-attention when no context is given, cross-attention over context tokens otherwise.
//
//   q = x Wq, k = c Wk, v = c Wv                 (per head: width d = inner / heads)
//   P = Softmax(q k^T / sqrt(d)) over the M context tokens
//   P' = P * w                                   (optional re-weighting, AnomalyDiffusion's AAR)
//   out = (P' v) Wo + bo
//
// The re-weighting input w multiplies the attention probabilities per query position and per
// context token (METHOD.md, "Adaptive attention re-weighting"); it must broadcast to
// [B, heads, N, M], e.g. [B, 1, N, M] with ones in the columns of tokens that are not re-weighted.

import { linear } from './linear';
import { groupNorm, type GroupNormOptions } from './norm';
import { add, mul, type Net, type Value } from './net';

export interface AttentionOptions {
  heads?: number;
  /** width of q/k/v (all heads together); default: the query width */
  innerDim?: number;
  /** value broadcastable to [B, heads, N, M] multiplying the attention probabilities */
  reweight?: Value;
}

/** x: [B, N, Cq] queries; context: [B, M, Cc] keys/values (x itself for self-attention). */
export function attention(net: Net, name: string, x: Value, context: Value | undefined, opts: AttentionOptions = {}): Value {
  const kv = context ?? x;
  if (x.shape.length !== 3 || kv.shape.length !== 3) {
    throw new Error(`attention '${name}': expected [B, N, C] tokens, got '${x.name}' [${x.shape}] and '${kv.name}' [${kv.shape}]`);
  }
  const [batch, n, cq] = x.shape as [number, number, number];
  const m = kv.shape[1]!;
  if (kv.shape[0] !== batch) throw new Error(`attention '${name}': batch of '${kv.name}' [${kv.shape}] differs from '${x.name}' [${x.shape}]`);
  const heads = opts.heads ?? 1;
  const inner = opts.innerDim ?? cq;
  if (inner % heads !== 0) throw new Error(`attention '${name}': width ${inner} does not split into ${heads} heads`);
  const d = inner / heads;

  const splitHeads = (t: Value, len: number): Value => net.transpose(net.reshape(t, [batch, len, heads, d]), [0, 2, 1, 3]);
  // scaling q before the product costs N*inner multiplies instead of N*M per head
  const qScaled = mul(net, linear(net, `${name}.to_q`, x, inner, { bias: false }), net.constant([1 / Math.sqrt(d)], [], `${name}.scale`));
  const q = splitHeads(qScaled, n);
  const k = splitHeads(linear(net, `${name}.to_k`, kv, inner, { bias: false }), m);
  const v = splitHeads(linear(net, `${name}.to_v`, kv, inner, { bias: false }), m);
  const scores = net.op('MatMul', [q.name, net.transpose(k, [0, 1, 3, 2]).name], [batch, heads, n, m]);
  let probs = net.op('Softmax', [scores.name], scores.shape, { axis: -1 });
  if (opts.reweight) probs = mul(net, probs, opts.reweight);
  const mixed = net.op('MatMul', [probs.name, v.name], [batch, heads, n, d]);
  const merged = net.reshape(net.transpose(mixed, [0, 2, 1, 3]), [batch, n, inner]);
  return linear(net, `${name}.to_out`, merged, cq);
}

export interface SpatialAttentionOptions extends AttentionOptions {
  groups: number;
  norm?: GroupNormOptions;
}

/**
 * x: [B, C, H, W]. GroupNorm, flatten to H*W tokens, attention (over `context` tokens when given),
 * back to NCHW, and a residual connection. A re-weighting value is then [B, 1, H*W, M].
 */
export function spatialAttention(net: Net, name: string, x: Value, context: Value | undefined, opts: SpatialAttentionOptions): Value {
  const [batch, c, h, w] = x.shape as [number, number, number, number];
  const normed = groupNorm(net, `${name}.norm`, x, opts.groups, opts.norm);
  const tokens = net.transpose(net.reshape(normed, [batch, c, h * w]), [0, 2, 1]);
  const attended = attention(net, `${name}.attn`, tokens, context, opts);
  const back = net.reshape(net.transpose(attended, [0, 2, 1]), [batch, c, h, w]);
  return add(net, x, back);
}
