// The tiny LDM's architecture: shapes, parameter counts, sizes and the one-step UNet time of the
// shipped configuration (printed), the symbolic batch of the package graphs, AAR semantics, the
// spatial encoder's sensitivity to where the mask is, and the token vocabulary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeModel } from '../../../../src/engine/onnx/serialize';
import { createSession, type HostTensor, type Session } from '../../../../src/engine/runtime';
import { vocabularyProblems } from '../../../../src/engine/models/builtin/token-table';
import {
  SMOKE_LDM, TINY_LDM, buildSpatialEncoderGraph, buildUNetGraph, buildVaeDecoderGraph, buildVaeEncoderGraph, buildVocabulary, checkConfig,
  contextLength, latentSize, oneHot, packageGraphs, vaeFactor, type BuiltGraph, type TinyLdmConfig,
} from '../../../../src/engine/models/tiny-ldm';
import { Rng } from '../../../../src/shared/random';

const f = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });
const count = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);
const paramCount = (g: BuiltGraph): number => g.params.reduce((a, p) => a + count(g.model.graph.initializers.get(p)!.dims), 0);

function initialWeights(cfg: TinyLdmConfig): Map<string, Float32Array> {
  const weights = new Map<string, Float32Array>();
  for (const g of [buildVaeEncoderGraph(cfg, 1), buildVaeDecoderGraph(cfg, 1), buildUNetGraph(cfg, 1), buildSpatialEncoderGraph(cfg, 1)]) {
    for (const p of g.params) weights.set(p, g.model.graph.initializers.get(p)!.data as Float32Array);
  }
  return weights;
}

function unetFeeds(cfg: TinyLdmConfig, batch: number, seed: number): Record<string, HostTensor> {
  const rng = new Rng(seed);
  const g = latentSize(cfg);
  const L = contextLength(cfg);
  const C = cfg.vae.latentChannels;
  return {
    sample: f([batch, C, g, g], rng.normals(batch * C * g * g)),
    timestep: f([batch], Float32Array.from({ length: batch }, (_, i) => 100 + 400 * i)),
    context: f([batch, L, cfg.tokenWidth], rng.normals(batch * L * cfg.tokenWidth)),
    aar_weight: f([batch, g * g], new Float32Array(batch * g * g).fill(1)),
    aar_columns: f([batch, L], new Float32Array(batch * L)),
  };
}

async function run(session: Session, feeds: Record<string, HostTensor>, output: string): Promise<Float32Array> {
  return (await session.run(feeds))[output]!.data as Float32Array;
}

const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('the shipped configuration: f=8, 32x32 latents, parameter counts, files under 40 MB, one UNet step under 100 ms', { timeout: 120_000 }, async () => {
  checkConfig(TINY_LDM);
  assert.equal(vaeFactor(TINY_LDM.vae), 8);
  assert.equal(latentSize(TINY_LDM), 32);
  assert.equal(contextLength(TINY_LDM), 13);
  const graphs = packageGraphs(TINY_LDM, initialWeights(TINY_LDM), 'initial weights');
  let bytes = 0;
  const lines: string[] = [];
  for (const [role, built] of [['vae_encoder', buildVaeEncoderGraph(TINY_LDM, 1)], ['vae_decoder', buildVaeDecoderGraph(TINY_LDM, 1)], ['unet', buildUNetGraph(TINY_LDM, 1)], ['spatial_encoder', buildSpatialEncoderGraph(TINY_LDM, 1)]] as const) {
    const size = encodeModel(graphs[role]).length;
    bytes += size;
    lines.push(`${role}: ${paramCount(built)} parameters, ${(size / 1e6).toFixed(2)} MB`);
  }
  console.log(lines.join('\n'));
  assert.ok(bytes <= 40e6, `ONNX files total ${bytes} bytes`);
  assert.deepEqual(graphs.unet.graph.inputs.map((i) => i.shape), [['batch', 16, 32, 32], ['batch'], ['batch', 13, 64], ['batch', 1024], ['batch', 13]]);

  const session = await createSession(encodeModel(graphs.unet), { intraOpNumThreads: 1 });
  const feeds = unetFeeds(TINY_LDM, 1, 1);
  await run(session, feeds, 'eps');
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await run(session, feeds, 'eps');
    times.push(performance.now() - t);
  }
  await session.release();
  times.sort((a, b) => a - b);
  console.log(`one UNet step, batch 1, 1 ORT thread: min ${times[0]!.toFixed(1)} ms, median ${times[2]!.toFixed(1)} ms`);
  assert.ok(times[0]! < 100, `UNet step ${times[0]} ms`);
});

test('package graphs have a symbolic batch: batch 2 gives each image the batch-1 result', { timeout: 60_000 }, async () => {
  const graphs = packageGraphs(SMOKE_LDM, initialWeights(SMOKE_LDM), 'initial weights');
  const rng = new Rng(5);
  const S = SMOKE_LDM.imageSize;
  const g = latentSize(SMOKE_LDM);
  const C = SMOKE_LDM.vae.latentChannels;
  const cases: [keyof typeof graphs, string, Record<string, HostTensor>][] = [
    ['vae_encoder', 'latent', { image: f([2, 3, S, S], rng.uniforms(2 * 3 * S * S, -1, 1)) }],
    ['vae_decoder', 'image', { latent: f([2, C, g, g], rng.normals(2 * C * g * g)) }],
    ['spatial_encoder', 'tokens', { mask: f([2, 1, S, S], rng.uniforms(2 * S * S, -1, 1)) }],
    ['unet', 'eps', unetFeeds(SMOKE_LDM, 2, 6)],
  ];
  for (const [role, output, feeds] of cases) {
    const session = await createSession(encodeModel(graphs[role]));
    const both = await run(session, feeds, output);
    const first: Record<string, HostTensor> = {};
    for (const [k, v] of Object.entries(feeds)) {
      const per = count(v.dims.slice(1));
      first[k] = f([1, ...v.dims.slice(1)], (v.data as Float32Array).slice(0, per));
    }
    const one = await run(session, first, output);
    await session.release();
    assert.equal(both.length, 2 * one.length, role);
    assert.ok(maxDiff(one, both.subarray(0, one.length)) < 1e-5, `${role}: batch of 2 differs from batch of 1`);
    assert.ok(maxDiff(both.subarray(0, one.length), both.subarray(one.length)) > 1e-4, `${role}: the two images gave the same output`);
  }
  const decoded = await createSession(encodeModel(graphs.vae_decoder));
  const image = await run(decoded, { latent: f([1, C, g, g], new Rng(9).normals(C * g * g, 50)) }, 'image');
  await decoded.release();
  assert.ok(image.every((v) => v >= -1 && v <= 1), 'the packaged decoder clips to [-1, 1]');
});

test('AAR: weight 1 or zero columns leave the UNet unchanged; re-weighted columns change it', { timeout: 60_000 }, async () => {
  const weights = initialWeights(SMOKE_LDM);
  const withAar = await createSession(encodeModel(packageGraphs(SMOKE_LDM, weights, 'w').unet));
  const plain = buildUNetGraph(SMOKE_LDM, 1, { aar: false });
  const withoutAar = await createSession(encodeModel(plain.model));
  const feeds = unetFeeds(SMOKE_LDM, 1, 2);
  const { aar_weight: _w, aar_columns: _c, ...rest } = feeds;
  const reference = await run(withoutAar, rest, 'eps');
  assert.ok(maxDiff(reference, await run(withAar, feeds, 'eps')) < 1e-6, 'w = 1 must be the plain model');
  const g = latentSize(SMOKE_LDM);
  const L = contextLength(SMOKE_LDM);
  const w = f([1, g * g], new Rng(3).uniforms(g * g, 0.5, 2));
  assert.ok(maxDiff(reference, await run(withAar, { ...feeds, aar_weight: w }, 'eps')) < 1e-6, 'zero columns must be the plain model');
  const cols = new Float32Array(L);
  cols.fill(1, 1, 1 + SMOKE_LDM.defectTokens);
  assert.ok(maxDiff(reference, await run(withAar, { ...feeds, aar_weight: w, aar_columns: f([1, L], cols) }, 'eps')) > 1e-4, 're-weighting the anomaly columns must change eps');
  await withAar.release();
  await withoutAar.release();
});

test('spatial encoder: 4 tokens per mask, and they depend on where the defect is', { timeout: 60_000 }, async () => {
  const cfg = SMOKE_LDM;
  const S = cfg.imageSize;
  const built = buildSpatialEncoderGraph(cfg, 3);
  const session = await createSession(encodeModel(built.model));
  const masks = new Float32Array(3 * S * S).fill(-1);
  const square = (b: number, x0: number, y0: number): void => {
    for (let y = y0; y < y0 + 8; y++) for (let x = x0; x < x0 + 8; x++) masks[b * S * S + y * S + x] = 1;
  };
  square(0, 4, 4);
  square(1, 4, 4);
  square(2, 48, 40);
  const out = await session.run({ mask: f([3, 1, S, S], masks) });
  await session.release();
  assert.deepEqual(out['tokens']!.dims, [3, cfg.spatialTokens, cfg.tokenWidth]);
  const tokens = out['tokens']!.data as Float32Array;
  const n = cfg.spatialTokens * cfg.tokenWidth;
  assert.ok(maxDiff(tokens.subarray(0, n), tokens.subarray(n, 2 * n)) < 1e-6, 'the same mask gives the same tokens');
  assert.ok(maxDiff(tokens.subarray(0, n), tokens.subarray(2 * n)) > 1e-3, 'a moved mask gives other tokens');
  console.log(`spatial encoder (shipped config): ${paramCount(buildSpatialEncoderGraph(TINY_LDM, 1))} parameters`);
});

test('the VAE is fully convolutional with f=8 and rejects sizes it cannot halve three times', () => {
  const crop = buildVaeEncoderGraph(TINY_LDM, 2, 64);
  assert.deepEqual(crop.model.graph.outputs[0]!.shape, [2, 16, 8, 8]);
  assert.deepEqual(buildVaeDecoderGraph(TINY_LDM, 1, 64).model.graph.outputs[0]!.shape, [1, 3, 64, 64]);
  assert.throws(() => buildVaeEncoderGraph(TINY_LDM, 1, 60), /60x60, not divisible by 8/);
  assert.throws(() => checkConfig({ ...TINY_LDM, vae: { ...TINY_LDM.vae, latentChannels: 32 } }), /latent channels must be 4\.\.16/);
  assert.throws(() => checkConfig({ ...TINY_LDM, unet: { ...TINY_LDM.unet, attentionAt: [16] } }), /two resolutions/);
});

test('token vocabulary: null, 14 families, the mask family, 8 rows per defect family; one-hot rows', () => {
  const vocab = buildVocabulary(8);
  assert.equal(vocab.labels.length, 1 + 14 + 1 + 10 * 8);
  assert.equal(vocab.index['<null>'], 0);
  assert.ok('family:wood' in vocab.index && 'family:mask' in vocab.index);
  for (let i = 0; i < 8; i++) assert.ok(`defect:scratch:${i}` in vocab.index && `defect:crack:${i}` in vocab.index);
  assert.deepEqual(vocabularyProblems(vocab.index, vocab.labels.length, 8), []);
  const hot = oneHot(vocab, [['family:wood', '<null>'], ['family:mask', 'defect:hole:3']]);
  const V = vocab.labels.length;
  assert.equal(hot.length, 2 * 2 * V);
  assert.equal(hot[vocab.index['family:wood']!], 1);
  assert.equal(hot[V + 0], 1);
  assert.equal(hot[3 * V + vocab.index['defect:hole:3']!], 1);
  assert.equal(hot.reduce((a, b) => a + b, 0), 4);
  assert.throws(() => oneHot(vocab, [['family:moon']]), /no row for label 'family:moon'/);
});
