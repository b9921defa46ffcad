import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../../../src/engine/onnx/builder';
import type { Model } from '../../../../src/engine/onnx/ir';
import { defuseContribOps } from '../../../../src/engine/onnx/passes/defuse-contrib';
import type { HostTensor } from '../../../../src/engine/runtime';
import { Rng } from '../../../../src/shared/random';
import { assertClose, assertSameOutputs, randomFeed, runModel } from './helpers';

const MS = { domain: 'com.microsoft' };

/** One contrib node over float32 graph inputs of the given shapes ('' = omitted input). */
function contribModel(op: string, inputs: [string, number[]][], attrs: Record<string, number> = {}, outputs = 1): Model {
  const b = new GraphBuilder(op);
  const names = inputs.map(([n, s]) => (n === '' ? '' : b.input(n, 'float32', s)));
  const outs = b.opN(op, names, attrs, { ...MS, outputs });
  outs.forEach((o, i) => b.output(o, `out${i}`));
  return b.toModel();
}

function feedsFor(rng: Rng, inputs: [string, number[]][]): Record<string, HostTensor> {
  return Object.fromEntries(inputs.filter(([n]) => n !== '').map(([n, s]) => [n, randomFeed(rng, s)]));
}

function assertNoContrib(model: Model): void {
  assert.deepEqual(
    model.graph.nodes.filter((n) => n.domain === 'com.microsoft').map((n) => n.opType),
    [],
  );
  assert.ok(!model.opsetImports.some((o) => o.domain === 'com.microsoft'));
}

/** Checks the rewrite against ORT executing the contrib op itself. */
async function checkAgainstOrt(op: string, inputs: [string, number[]][], attrs: Record<string, number> = {}, outputs = 1, tolerance = 2e-5): Promise<void> {
  const model = contribModel(op, inputs, attrs, outputs);
  const defused = defuseContribOps(model);
  assertNoContrib(defused);
  await assertSameOutputs(model, defused, feedsFor(new Rng(op.length * 7919 + inputs.length), inputs), tolerance);
}

test('Gelu, BiasGelu and FastGelu (with and without bias) match ORT', async () => {
  await checkAgainstOrt('Gelu', [['x', [2, 5, 8]]]);
  await checkAgainstOrt('BiasGelu', [['x', [2, 5, 8]], ['bias', [8]]]);
  await checkAgainstOrt('FastGelu', [['x', [2, 5, 8]]]);
  await checkAgainstOrt('FastGelu', [['x', [2, 5, 8]], ['bias', [8]]]);
});

test('SkipLayerNormalization matches ORT, with optional beta/bias and the extra outputs', async () => {
  await checkAgainstOrt('SkipLayerNormalization', [['x', [2, 4, 16]], ['skip', [2, 4, 16]], ['gamma', [16]]], { epsilon: 1e-5 });
  await checkAgainstOrt('SkipLayerNormalization', [['x', [2, 4, 16]], ['skip', [2, 4, 16]], ['gamma', [16]], ['beta', [16]], ['bias', [16]]], { epsilon: 1e-5 }, 1);
  // default epsilon, and the input+skip+bias sum (output 3) requested
  const model = contribModel('SkipLayerNormalization', [['x', [1, 3, 8]], ['skip', [1, 3, 8]], ['gamma', [8]], ['beta', [8]], ['bias', [8]]]);
  const node = model.graph.nodes[0]!;
  node.outputs = [node.outputs[0]!, '', '', 'sum'];
  model.graph.outputs.push({ name: 'sum', dtype: 'float32', shape: [1, 3, 8] });
  const defused = defuseContribOps(model);
  assertNoContrib(defused);
  await assertSameOutputs(model, defused, feedsFor(new Rng(5), [['x', [1, 3, 8]], ['skip', [1, 3, 8]], ['gamma', [8]], ['beta', [8]], ['bias', [8]]]), 2e-5);
});

test('MultiHeadAttention (separate Q/K/V, with bias, cross-attention lengths) matches ORT', async () => {
  await checkAgainstOrt('MultiHeadAttention', [['q', [2, 6, 16]], ['k', [2, 6, 16]], ['v', [2, 6, 16]]], { num_heads: 4 }, 1, 5e-5);
  await checkAgainstOrt('MultiHeadAttention', [['q', [1, 5, 16]], ['k', [1, 7, 16]], ['v', [1, 7, 16]], ['bias', [48]]], { num_heads: 2 }, 1, 5e-5);
  await checkAgainstOrt('MultiHeadAttention', [['q', [1, 5, 8]], ['k', [1, 3, 8]], ['v', [1, 3, 8]]], { num_heads: 2, scale: 0.3 }, 1, 5e-5);
});

/** softmax(Q K^T * scale) V per head, in float64, from [B, S, N, H] per-head arrays. */
function attentionReference(q: Float32Array, k: Float32Array, v: Float32Array, B: number, S: number, L: number, N: number, H: number): number[] {
  const out = new Array<number>(B * S * N * H).fill(0);
  const at = (t: Float32Array, len: number, b: number, s: number, n: number, h: number) => t[((b * len + s) * N + n) * H + h]!;
  for (let b = 0; b < B; b++)
    for (let n = 0; n < N; n++)
      for (let s = 0; s < S; s++) {
        const scores = Array.from({ length: L }, (_, l) => {
          let dot = 0;
          for (let h = 0; h < H; h++) dot += at(q, S, b, s, n, h) * at(k, L, b, l, n, h);
          return dot / Math.sqrt(H);
        });
        const m = Math.max(...scores);
        const e = scores.map((x) => Math.exp(x - m));
        const z = e.reduce((a, x) => a + x, 0);
        for (let h = 0; h < H; h++) out[((b * S + s) * N + n) * H + h] = e.reduce((a, w, l) => a + (w / z) * at(v, L, b, l, n, h), 0);
      }
  return out;
}

test('MultiHeadAttention with packed QKV and packed KV matches a direct computation', async () => {
  const [B, S, L, N, H] = [2, 3, 4, 2, 4];
  const rng = new Rng(11);
  const qkv = rng.normals(B * S * N * 3 * H);
  // unpack [B, S, N, 3, H] into three [B, S, N, H]
  const part = (src: Float32Array, len: number, parts: number, p: number) =>
    Float32Array.from({ length: B * len * N * H }, (_, i) => {
      const h = i % H;
      const bsn = Math.floor(i / H);
      return src[(bsn * parts + p) * H + h]!;
    });
  const packedQkv = contribModel('MultiHeadAttention', [['qkv', [B, S, N, 3, H]]], { num_heads: N });
  const d1 = defuseContribOps(packedQkv);
  assertNoContrib(d1);
  const out1 = await runModel(d1, { qkv: { dtype: 'float32', dims: [B, S, N, 3, H], data: qkv } });
  assert.deepEqual(out1.out0!.dims, [B, S, N * H]);
  assertClose(out1.out0!.data as Float32Array, attentionReference(part(qkv, S, 3, 0), part(qkv, S, 3, 1), part(qkv, S, 3, 2), B, S, S, N, H), 1e-5, 'packed QKV');

  const q = rng.normals(B * S * N * H);
  const kv = rng.normals(B * L * N * 2 * H);
  const packedKv = contribModel('MultiHeadAttention', [['q', [B, S, N * H]], ['kv', [B, L, N, 2, H]]], { num_heads: N });
  const d2 = defuseContribOps(packedKv);
  assertNoContrib(d2);
  const out2 = await runModel(d2, { q: { dtype: 'float32', dims: [B, S, N * H], data: q }, kv: { dtype: 'float32', dims: [B, L, N, 2, H], data: kv } });
  assertClose(out2.out0!.data as Float32Array, attentionReference(q, part(kv, L, 2, 0), part(kv, L, 2, 1), B, S, L, N, H), 1e-5, 'packed KV');
});

test('GroupNorm (NHWC, SiLU activation), BiasSplitGelu and BiasAdd match direct computations (ORT CPU lacks them)', async () => {
  const rng = new Rng(3);
  const [N, Hh, W, C, G] = [2, 3, 4, 8, 2];
  const x = rng.normals(N * Hh * W * C, 2);
  const gamma = rng.normals(C);
  const beta = rng.normals(C);
  for (const activation of [0, 1]) {
    const b = new GraphBuilder('gn');
    const xi = b.input('x', 'float32', [N, Hh, W, C]);
    const gi = b.constant(gamma, [C]);
    const bi = b.constant(beta, [C]);
    b.output(b.op('GroupNorm', [xi, gi, bi], { groups: G, epsilon: { type: 'float', value: 1e-5 }, activation, channels_last: 1 }, MS), 'y');
    const defused = defuseContribOps(b.toModel());
    assertNoContrib(defused);
    const out = (await runModel(defused, { x: { dtype: 'float32', dims: [N, Hh, W, C], data: x } })).y!.data as Float32Array;
    const expected = new Array<number>(x.length);
    const per = C / G;
    for (let n = 0; n < N; n++)
      for (let g = 0; g < G; g++) {
        const idx: number[] = [];
        for (let p = 0; p < Hh * W; p++) for (let c = g * per; c < (g + 1) * per; c++) idx.push((n * Hh * W + p) * C + c);
        const mean = idx.reduce((a, i) => a + x[i]!, 0) / idx.length;
        const variance = idx.reduce((a, i) => a + (x[i]! - mean) ** 2, 0) / idx.length;
        for (const i of idx) {
          const y = ((x[i]! - mean) / Math.sqrt(variance + 1e-5)) * gamma[i % C]! + beta[i % C]!;
          expected[i] = activation ? y / (1 + Math.exp(-y)) : y;
        }
      }
    assertClose(out, expected, 1e-5, `GroupNorm activation=${activation}`);
  }

  const erfGelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
  const xs = rng.normals(2 * 3 * 8);
  const bias = rng.normals(8);
  const bsg = contribModel('BiasSplitGelu', [['x', [2, 3, 8]], ['bias', [8]]]);
  const out = (await runModel(defuseContribOps(bsg), { x: { dtype: 'float32', dims: [2, 3, 8], data: xs }, bias: { dtype: 'float32', dims: [8], data: bias } })).out0!;
  assert.deepEqual(out.dims, [2, 3, 4]);
  const want = Array.from({ length: 2 * 3 * 4 }, (_, i) => {
    const row = Math.floor(i / 4);
    const j = i % 4;
    return (xs[row * 8 + j]! + bias[j]!) * erfGelu(xs[row * 8 + 4 + j]! + bias[4 + j]!);
  });
  assertClose(out.data as Float32Array, want, 1e-5, 'BiasSplitGelu');

  const skip = rng.normals(2 * 3 * 8);
  const ba = contribModel('BiasAdd', [['x', [2, 3, 8]], ['bias', [8]], ['skip', [2, 3, 8]]]);
  const sum = (await runModel(defuseContribOps(ba), {
    x: { dtype: 'float32', dims: [2, 3, 8], data: xs },
    bias: { dtype: 'float32', dims: [8], data: bias },
    skip: { dtype: 'float32', dims: [2, 3, 8], data: skip },
  })).out0!.data as Float32Array;
  assertClose(sum, Array.from(xs, (v, i) => v + bias[i % 8]! + skip[i]!), 1e-6, 'BiasAdd');
});

test('float16 graphs get float16 constants; unsupported inputs name the node', async () => {
  const b = new GraphBuilder('half');
  const x = b.input('x', 'float16', [4]);
  b.output(b.op('Gelu', [x], {}, MS), 'y', { dtype: 'float16' });
  const defused = defuseContribOps(b.toModel());
  const bytes = Uint16Array.from([0x3c00, 0xbc00, 0x0000, 0x4000]); // 1, -1, 0, 2
  const y = (await runModel(defused, { x: { dtype: 'float16', dims: [4], data: bytes } })).y!;
  assert.equal(y.dtype, 'float16');

  const m = contribModel('MultiHeadAttention', [['q', [1, 2, 4]], ['k', [1, 2, 4]], ['v', [1, 2, 4]], ['', []], ['mask', [1, 2]]], { num_heads: 2 });
  m.graph.nodes[0]!.name = 'attn_17';
  assert.throws(() => defuseContribOps(m), /node 'attn_17' \(com\.microsoft\.MultiHeadAttention\): input key_padding_mask is not supported/);
  const other = contribModel('QuickGelu', [['x', [2]]]);
  assert.equal(defuseContribOps(other).graph.nodes[0]!.opType, 'QuickGelu');
  assert.throws(() => defuseContribOps(other, { strict: true }), /QuickGelu.*no standard-op rewrite/);
});

/** erf by Abramowitz-Stegun 7.1.26 refined with a Taylor series for small |x| (error < 1e-7). */
function erf(x: number): number {
  if (Math.abs(x) < 2) {
    // Maclaurin series: erf x = 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    for (let n = 1; n < 40; n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return Math.sign(x) * y;
}
