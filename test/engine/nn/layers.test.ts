import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession, type HostTensor } from '../../../src/engine/runtime';
import { Rng } from '../../../src/shared/random';
import {
  Net, attention, conv2d, downsample, groupNorm, linear, silu, sinusoidalFrequencies, timestepFeatures, upsampleNearest2x, type Value,
} from '../../../src/engine/nn';
import { attentionRef, conv2dRef, groupNormRef, matmul, maxAbsDiff } from './reference';

function f32(dims: number[], data: Float32Array): HostTensor {
  return { dtype: 'float32', dims, data };
}

async function runNet(net: Net, outputs: Value[], feeds: Record<string, HostTensor>): Promise<Float32Array[]> {
  for (const o of outputs) net.b.output(o.name, undefined, { dtype: 'float32', shape: o.shape });
  const session = await createSession(encodeModel(net.b.toModel()));
  const result = await session.run(feeds);
  await session.release();
  return outputs.map((o) => {
    const t = result[o.name]!;
    assert.deepEqual(t.dims, o.shape, `declared shape of ${o.name}`);
    return t.data as Float32Array;
  });
}

function initializer(net: Net, name: string): Float32Array {
  return net.b.graph.initializers.get(name)!.data as Float32Array;
}

function input(net: Net, name: string, shape: number[]): Value {
  return { name: net.b.input(name, 'float32', shape), shape };
}

test('linear matches x W + b computed by hand-written matmul', async () => {
  const net = new Net(new GraphBuilder('linear'), 1);
  const x = input(net, 'x', [2, 3, 5]);
  const y = linear(net, 'fc', x, 4);
  const xs = new Rng(2).normals(30);
  const [out] = await runNet(net, [y], { x: f32([2, 3, 5], xs) });
  const ref = matmul(xs, initializer(net, 'fc.weight'), 6, 5, 4);
  const bias = initializer(net, 'fc.bias');
  for (let i = 0; i < ref.length; i++) ref[i]! += bias[i % 4]!;
  assert.ok(maxAbsDiff(out!, ref) < 1e-5);
  // init bound 1/sqrt(fanIn)
  assert.ok(initializer(net, 'fc.weight').every((v) => Math.abs(v) <= 1 / Math.sqrt(5)));
});

test('conv2d (same padding) and the stride-2 downsampler match a naive convolution', async () => {
  const net = new Net(new GraphBuilder('conv'), 3);
  const x = input(net, 'x', [2, 3, 7, 6]);
  const same = conv2d(net, 'c', x, 4);
  const down = downsample(net, 'd', x, 5);
  assert.deepEqual(down.shape, [2, 5, 4, 3]);
  const xs = new Rng(4).normals(2 * 3 * 7 * 6);
  const [a, b] = await runNet(net, [same, down], { x: f32(x.shape, xs) });
  const refA = conv2dRef(xs, x.shape, initializer(net, 'c.weight'), initializer(net, 'c.bias'), 4, 3, 1, 1);
  const refB = conv2dRef(xs, x.shape, initializer(net, 'd.weight'), initializer(net, 'd.bias'), 5, 3, 2, 1);
  assert.deepEqual(refB.shape, down.shape);
  assert.ok(maxAbsDiff(a!, refA.data) < 1e-5);
  assert.ok(maxAbsDiff(b!, refB.data) < 1e-5);
});

test('groupNorm: both implementations equal the textbook definition', async () => {
  const shape = [2, 6, 3, 4];
  const xs = new Rng(5).normals(2 * 6 * 3 * 4, 3);
  for (let i = 0; i < xs.length; i++) xs[i]! += i % 7; // non-zero group means
  const ref = groupNormRef(xs, shape, 3, 1e-5);
  for (const impl of ['instance-norm', 'moments'] as const) {
    const net = new Net(new GraphBuilder(`gn_${impl}`), 1);
    const x = input(net, 'x', shape);
    const [out] = await runNet(net, [groupNorm(net, 'gn', x, 3, { impl })], { x: f32(shape, xs) });
    assert.ok(maxAbsDiff(out!, ref) < 1e-4, impl);
  }
  const net = new Net(new GraphBuilder('gn_bad'), 1);
  assert.throws(() => groupNorm(net, 'gn', input(net, 'x', shape), 4), /6 channels do not split into 4 groups/);
});

test('silu is x * sigmoid(x)', async () => {
  const net = new Net(new GraphBuilder('silu'), 1);
  const x = input(net, 'x', [5]);
  const xs = Float32Array.from([-3, -0.5, 0, 1, 4]);
  const [out] = await runNet(net, [silu(net, x)], { x: f32([5], xs) });
  assert.ok(maxAbsDiff(out!, Array.from(xs, (v) => v / (1 + Math.exp(-v)))) < 1e-6);
});

test('multi-head cross-attention with re-weighting matches a per-head reference', async () => {
  const [batch, n, m, cq, cc, heads] = [2, 5, 3, 8, 6, 2];
  const d = cq / heads;
  const net = new Net(new GraphBuilder('attn'), 7);
  const x = input(net, 'x', [batch, n, cq]);
  const ctx = input(net, 'ctx', [batch, m, cc]);
  const w = input(net, 'w', [batch, 1, n, m]);
  const y = attention(net, 'a', x, ctx, { heads, reweight: w });
  const rng = new Rng(8);
  const xs = rng.normals(batch * n * cq);
  const cs = rng.normals(batch * m * cc);
  const ws = rng.uniforms(batch * n * m, 0.5, 1.5);
  const [out] = await runNet(net, [y], { x: f32(x.shape, xs), ctx: f32(ctx.shape, cs), w: f32(w.shape, ws) });
  const [wq, wk, wv, wo, bo] = ['a.to_q.weight', 'a.to_k.weight', 'a.to_v.weight', 'a.to_out.weight', 'a.to_out.bias'].map((p) => initializer(net, p));
  for (let b = 0; b < batch; b++) {
    const q = matmul(xs.subarray(b * n * cq, (b + 1) * n * cq), wq!, n, cq, cq);
    const k = matmul(cs.subarray(b * m * cc, (b + 1) * m * cc), wk!, m, cc, cq);
    const v = matmul(cs.subarray(b * m * cc, (b + 1) * m * cc), wv!, m, cc, cq);
    const merged = new Float64Array(n * cq);
    for (let hd = 0; hd < heads; hd++) {
      const pick = (t: Float64Array, rows: number): Float64Array => {
        const s = new Float64Array(rows * d);
        for (let r = 0; r < rows; r++) for (let l = 0; l < d; l++) s[r * d + l] = t[r * cq + hd * d + l]!;
        return s;
      };
      const o = attentionRef(pick(q, n), pick(k, m), pick(v, m), n, m, d, d, ws.subarray(b * n * m, (b + 1) * n * m));
      for (let r = 0; r < n; r++) for (let l = 0; l < d; l++) merged[r * cq + hd * d + l] = o[r * d + l]!;
    }
    const ref = matmul(merged, wo!, n, cq, cq);
    for (let i = 0; i < ref.length; i++) ref[i]! += bo![i % cq]!;
    assert.ok(maxAbsDiff(out!.subarray(b * n * cq, (b + 1) * n * cq), ref) < 1e-5, `batch ${b}`);
  }
});

test('timestep features are [sin(t f), cos(t f)] with geometric frequencies from 1 to 1/10000', async () => {
  const freqs = sinusoidalFrequencies(8);
  assert.equal(freqs[0], 1);
  assert.ok(Math.abs(freqs[3]! - 1e-4) < 1e-9);
  assert.ok(Math.abs(freqs[1]! - Math.pow(10000, -1 / 3)) < 1e-7);
  const net = new Net(new GraphBuilder('temb'), 1);
  const t = input(net, 't', [2]);
  const [out] = await runNet(net, [timestepFeatures(net, t, 8)], { t: f32([2], Float32Array.from([0, 250])) });
  const expected = [0, 0, 0, 0, 1, 1, 1, 1, ...[...freqs].map((f) => Math.sin(250 * f)), ...[...freqs].map((f) => Math.cos(250 * f))];
  assert.ok(maxAbsDiff(out!, expected) < 1e-4);
});

test('nearest x2 upsampling: Resize and Expand forms copy pixel (i, j) to (2i+a, 2j+b)', async () => {
  const shape = [1, 2, 3, 2];
  const xs = Float32Array.from({ length: 12 }, (_, i) => i + 1);
  const expected = new Float32Array(1 * 2 * 6 * 4);
  for (let c = 0; c < 2; c++) for (let y = 0; y < 6; y++) for (let x = 0; x < 4; x++) expected[(c * 6 + y) * 4 + x] = xs[(c * 3 + (y >> 1)) * 2 + (x >> 1)]!;
  for (const impl of ['resize', 'expand'] as const) {
    const net = new Net(new GraphBuilder(`up_${impl}`), 1);
    const x = input(net, 'x', shape);
    const [out] = await runNet(net, [upsampleNearest2x(net, x, impl)], { x: f32(shape, xs) });
    assert.deepEqual(Array.from(out!), Array.from(expected), impl);
  }
});

test('parameter init depends only on (seed, name)', () => {
  const a = new Net(new GraphBuilder('a'), 11);
  const b = new Net(new GraphBuilder('b'), 11);
  const c = new Net(new GraphBuilder('c'), 12);
  linear(b, 'other', { name: 'z', shape: [1, 3] }, 3); // an extra layer first must not shift later weights
  const wa = a.param('layer.weight', [4, 4], { kind: 'normal', std: 1 });
  const wb = b.param('layer.weight', [4, 4], { kind: 'normal', std: 1 });
  const wc = c.param('layer.weight', [4, 4], { kind: 'normal', std: 1 });
  assert.deepEqual(initializer(a, wa.name), initializer(b, wb.name));
  assert.notDeepEqual(initializer(a, wa.name), initializer(c, wc.name));
  assert.deepEqual(a.params, ['layer.weight']);
});
