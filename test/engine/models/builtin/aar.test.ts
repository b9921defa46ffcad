import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../../../src/engine/onnx/builder';
import { encodeModel } from '../../../../src/engine/onnx/serialize';
import { createSession, type HostTensor } from '../../../../src/engine/runtime';
import { emitAarFactor } from '../../../../src/engine/models/builtin/aar-inputs';
import { Rng } from '../../../../src/shared/random';
import { TINY, tinyUnet, tinyUnetWithoutAar } from '../../../fixtures/builtin/tiny-package';

const f32 = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

test('the AAR factor subgraph pools w to each grid and forms 1 + cols (x) (w - 1), checked against plain arithmetic', async () => {
  const B = 2, h = 8, w = 8, L = 5;
  const b = new GraphBuilder('aar_factor');
  const weight = b.input('aar_weight', 'float32', ['batch', h * w]);
  const columns = b.input('aar_columns', 'float32', ['batch', L]);
  const spec = { latent: { width: w, height: h }, contextLength: L };
  b.output(emitAarFactor(b, weight, columns, spec, { width: 8, height: 8 }), 'f8');
  b.output(emitAarFactor(b, weight, columns, spec, { width: 4, height: 4 }), 'f4');
  b.output(emitAarFactor(b, weight, columns, spec, { width: 2, height: 2 }), 'f2');
  const session = await createSession(encodeModel(b.toModel()));
  const rng = new Rng(1);
  const wm = rng.uniforms(B * h * w, 0.5, 2);
  const cols = Float32Array.from({ length: B * L }, (_, i) => [1, 0, 1, 1, 0, 0, 1, 0, 0, 1][i]!);
  const out = await session.run({ aar_weight: f32([B, h * w], wm), aar_columns: f32([B, L], cols) });
  for (const g of [8, 4, 2]) {
    const got = out[`f${g}`]!;
    assert.deepEqual(got.dims, [B, 1, g * g, L]);
    const k = h / g;
    for (let bi = 0; bi < B; bi++) {
      for (let gy = 0; gy < g; gy++) for (let gx = 0; gx < g; gx++) {
        let sum = 0;
        for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) sum += wm[bi * h * w + (gy * k + dy) * w + gx * k + dx]!;
        const pooled = sum / (k * k);
        for (let l = 0; l < L; l++) {
          const expected = 1 + cols[bi * L + l]! * (pooled - 1);
          const v = (got.data as Float32Array)[((bi * g * g) + gy * g + gx) * L + l]!;
          assert.ok(Math.abs(v - expected) < 1e-6, `grid ${g} batch ${bi} cell ${gx},${gy} column ${l}: ${v} vs ${expected}`);
        }
      }
    }
  }
  await session.release();
});

test('UNet with AAR inputs: w = 1 (or no column selected) gives bit for bit the UNet without re-weighting', async () => {
  const withAar = await createSession(encodeModel(tinyUnet(31)));
  const plain = await createSession(encodeModel(tinyUnetWithoutAar(31)));
  const rng = new Rng(2);
  const B = 2, C = TINY.latentChannels, s = TINY.latent, L = TINY.contextLength, D = TINY.width;
  const base = {
    sample: f32([B, C, s, s], rng.normals(B * C * s * s)),
    timestep: f32([B], new Float32Array([700, 20])),
    context: f32([B, L, D], rng.normals(B * L * D)),
  };
  const reference = (await plain.run(base)).eps!.data as Float32Array;
  const anomalyCols = new Float32Array(B * L);
  for (let bi = 0; bi < B; bi++) anomalyCols.fill(1, bi * L + 1, bi * L + 1 + TINY.defectTokens);
  const run = async (weights: Float32Array, cols: Float32Array): Promise<Float32Array> =>
    (await withAar.run({ ...base, aar_weight: f32([B, s * s], weights), aar_columns: f32([B, L], cols) })).eps!.data as Float32Array;

  assert.deepEqual(await run(new Float32Array(B * s * s).fill(1), anomalyCols), reference);
  const nonTrivial = rng.uniforms(B * s * s, 1, 1.5);
  assert.deepEqual(await run(nonTrivial, new Float32Array(B * L)), reference);
  const weighted = await run(nonTrivial, anomalyCols);
  let maxDiff = 0;
  for (let k = 0; k < weighted.length; k++) maxDiff = Math.max(maxDiff, Math.abs(weighted[k]! - reference[k]!));
  assert.ok(maxDiff > 1e-4, `re-weighting changed eps by only ${maxDiff}`);
  // per item: the second item's weights do not touch the first item's output
  const secondOnly = Float32Array.from(nonTrivial, (v, i) => (i < s * s ? 1 : v));
  const mixed = await run(secondOnly, anomalyCols);
  const per = C * s * s;
  assert.deepEqual(mixed.subarray(0, per), reference.subarray(0, per));
  assert.deepEqual(mixed.subarray(per), weighted.subarray(per));
  await withAar.release();
  await plain.release();
});
