// The v2 latent design (issue 5): the KL-regularised encoder, its loss terms and gradients (the
// shared harness and finite differences through the composer), the plan selection, and the
// exported encoder returning the posterior mean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import path from 'node:path';
import { composeTraining } from '../../../../src/engine/autodiff/composer';
import { Adam } from '../../../../src/engine/autodiff/optim';
import { GraphBuilder } from '../../../../src/engine/onnx/builder';
import { encodeModel } from '../../../../src/engine/onnx/serialize';
import { createSession, type HostTensor } from '../../../../src/engine/runtime';
import { Net, type Value } from '../../../../src/engine/nn';
import { SMOKE_LDM, SMOKE_LDM_V2, TINY_LDM, TINY_LDM_V2, TINY_LDM_V3, buildSpatialEncoderGraph, buildUNetGraph, buildVaeDecoderGraph, buildVaeEncoderGraph, checkConfig, contextLength, latentSize, packageGraphs, withWeights } from '../../../../src/engine/models/tiny-ldm';
import { vaeEncoderPosterior } from '../../../../src/engine/models/tiny-ldm/vae';
import { VAE_NOISE_INPUT, buildVaeTrainingGraph } from '../../../../src/engine/models/tiny-ldm/train/graphs';
import { klDivergence, reparameterise } from '../../../../src/engine/models/tiny-ldm/train/losses';
import { BASE_PLAN, BASE_PLAN_V2, BASE_PLAN_V3, BASE_PLAN_V4, BASE_PLAN_V5, SMOKE_PLAN, SMOKE_PLAN_V2, SMOKE_PLAN_V3, SMOKE_PLAN_V4, SMOKE_PLAN_V5, ZERO_SNR_V_SCHEDULE, defaultTrainDir, fingerprint, packageConfig, planVariant, selectPlan, unetSchedule, type TrainPlan } from '../../../../src/engine/models/tiny-ldm/train/plan';
import { vaeBatch, vaeLossWeights } from '../../../../src/engine/models/tiny-ldm/train/vae-phase';
import { DEFAULT_MODEL_NAME } from '../../../../src/main/default-model';
import { findRule } from '../../../../src/engine/autodiff/table';
import type { RuleEntry } from '../../../../src/engine/autodiff/types';
import { gradCheck } from '../../../helpers/gradcheck';
import { Rng } from '../../../../src/shared/random';
import { LDM_SCHEDULE } from '../../../../src/engine/diffusion/schedule';

const f = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

test('KL term equals the closed form KL(N(mu, s^2) || N(0, 1)) = -log s + (s^2 + mu^2) / 2 - 1/2', async () => {
  const shape = [2, 3, 2, 2];
  const n = 24;
  const rng = new Rng(21);
  const mean = rng.normals(n, 1.5);
  const logvar = rng.uniforms(n, -4, 2);
  const b = new GraphBuilder('kl');
  const net = new Net(b, 1);
  const kl = klDivergence(net, { name: b.input('m', 'float32', shape), shape }, { name: b.input('lv', 'float32', shape), shape }, 1000);
  b.output(kl.name, 'kl', { dtype: 'float32', shape: [] });
  const session = await createSession(encodeModel(b.toModel()));
  const out = await session.run({ m: f(shape, mean), lv: f(shape, logvar) });
  await session.release();
  let expected = 0;
  for (let i = 0; i < n; i++) {
    const s = Math.exp(logvar[i]! / 2);
    expected += -Math.log(s) + (s * s + mean[i]! ** 2) / 2 - 0.5;
  }
  expected /= 1000;
  const got = (out['kl']!.data as Float32Array)[0]!;
  assert.ok(Math.abs(got - expected) < 1e-5 * Math.max(1, expected), `KL ${got}, expected ${expected}`);
  // a standard normal posterior costs nothing
  const zero = await createSession(encodeModel(b.toModel()));
  const none = await zero.run({ m: f(shape, new Float32Array(n)), lv: f(shape, new Float32Array(n)) });
  await zero.release();
  assert.equal((none['kl']!.data as Float32Array)[0], 0);
});

test('KL term and reparameterisation: gradients match finite differences (shared harness)', async () => {
  const shape = [1, 2, 3, 3];
  const v = (name: string): Value => ({ name, shape });
  const kl = await gradCheck({
    build: (gb, x) => klDivergence(new Net(gb, 1), v(x.m!), v(x.lv!), 7).name,
    inputs: { m: { shape, wrt: true }, lv: { shape, wrt: true, generator: (r, k) => r.uniforms(k, -2, 1) } },
    seed: 5,
  });
  assert.ok(kl.worst < 3e-3, `KL: worst relative error ${kl.worst}`);
  const rep = await gradCheck({
    build: (gb, x) => reparameterise(new Net(gb, 1), v(x.m!), v(x.lv!), v(x.noise!)).name,
    inputs: { m: { shape, wrt: true }, lv: { shape, wrt: true, generator: (r, k) => r.uniforms(k, -2, 1) }, noise: { shape, wrt: false } },
    seed: 6,
  });
  assert.ok(rep.worst < 3e-3, `reparameterisation: worst relative error ${rep.worst}`);
  // the check bites: an Exp rule off by 2% (the op the KL term's variance and the sample's std
  // go through) fails it
  const exp = findRule('Exp', '', 17);
  if (!exp || exp.rule === 'no-gradient') throw new Error('no Exp rule');
  const realExp = exp.rule;
  const scaledExp: RuleEntry = { opType: 'Exp', rule: (ctx) => realExp(ctx).map((g) => (g === undefined ? g : ctx.b.op('Mul', [g, ctx.b.scalar(1.02)]))) };
  await assert.rejects(
    gradCheck({
      build: (gb, x) => klDivergence(new Net(gb, 1), v(x.m!), v(x.lv!), 7).name,
      inputs: { m: { shape, wrt: false }, lv: { shape, wrt: true, generator: (r, k) => r.uniforms(k, -2, 1) } },
      rules: [scaledExp],
      seed: 5,
    }),
    /gradient check failed/,
  );
});

test('gaussian VAE training graph: composer gradients of encoder (both heads) and decoder match finite differences', { timeout: 120_000 }, async () => {
  const batch = 2;
  const crop = 16;
  // a large beta so the KL term's share of the gradient is not lost in the reconstruction's
  const graph = buildVaeTrainingGraph(SMOKE_LDM_V2, batch, crop, { edge: 0.5, latent: 0, kl: 50 });
  assert.ok(graph.params.some((p) => p.endsWith('conv_logvar.weight') || p.includes('conv_logvar')), 'the log-variance head is trained');
  const trainer = await composeTraining(graph.model, { loss: graph.loss, train: graph.params, optimizer: new Adam({ lr: 0 }) });
  assert.deepEqual(trainer.warnings, []);
  const C = SMOKE_LDM_V2.vae.latentChannels;
  const g = crop / 8;
  const rng = new Rng(31);
  const feeds = { image: f([batch, 3, crop, crop], rng.uniforms(batch * 3 * crop * crop, -1, 1)), [VAE_NOISE_INPUT]: f([batch, C, g, g], rng.normals(batch * C * g * g)) };
  const { grads } = await trainer.gradients(feeds);
  const groups: [string, string[], number][] = [
    ['log-variance head', graph.params.filter((p) => p.includes('conv_logvar')), 0.05],
    ['mean head', graph.params.filter((p) => p.includes('encoder.conv_out')), 0.05],
    ['encoder', graph.params.filter((p) => p.startsWith('vae.encoder.')), 0.03],
    ['decoder', graph.params.filter((p) => p.startsWith('vae.decoder.')), 0.03],
  ];
  const dirRng = new Rng(32);
  for (const [label, names, h] of groups) {
    assert.ok(names.length > 0, label);
    let gradSq = 0;
    for (const n of names) for (const gi of grads.get(n)!) gradSq += gi * gi;
    const gradNorm = Math.sqrt(gradSq);
    assert.ok(gradNorm > 1e-4, `${label}: a vanishing gradient proves nothing (${gradNorm})`);
    for (let k = 0; k < 2; k++) {
      const dir = new Map(names.map((n) => [n, dirRng.normals(trainer.params.get(n)!.length)]));
      const norm = Math.sqrt([...dir.values()].reduce((a, d) => a + d.reduce((c, x) => c + x * x, 0), 0));
      let analytic = 0;
      for (const [n, d] of dir) {
        const gr = grads.get(n)!;
        for (let i = 0; i < d.length; i++) {
          d[i] = d[i]! / norm;
          analytic += gr[i]! * d[i]!;
        }
      }
      const along = async (step: number): Promise<number> => {
        const saved = new Map<string, Float32Array>();
        for (const [n, d] of dir) {
          const p = trainer.params.get(n) as Float32Array;
          saved.set(n, p.slice());
          for (let i = 0; i < p.length; i++) p[i] = p[i]! + step * d[i]!;
        }
        const { loss } = await trainer.gradients(feeds);
        for (const [n, p] of saved) (trainer.params.get(n) as Float32Array).set(p);
        return loss;
      };
      const numeric = ((await along(h)) - (await along(-h))) / (2 * h);
      const rel = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), 0.1 * gradNorm, 1e-6);
      assert.ok(rel < 1e-2, `${label}: analytic ${analytic} numeric ${numeric} rel ${rel}`);
    }
  }
  await trainer.release();
});

test('exported encoder of a gaussian VAE returns the posterior mean, deterministically, without the log-variance head', async () => {
  const cfg = SMOKE_LDM_V2;
  const S = cfg.imageSize;
  // "trained" weights: the training graph's initial values, with a log-variance head that is far from zero
  const graph = buildVaeTrainingGraph(cfg, 1, S, vaeLossWeights(SMOKE_PLAN_V2));
  const weights = new Map<string, Float32Array>();
  for (const name of graph.params) weights.set(name, (graph.model.graph.initializers.get(name)!.data as Float32Array).slice());
  const exported = withWeights(buildVaeEncoderGraph(cfg, 1), weights, 'test weights');
  assert.ok(![...exported.graph.initializers.keys()].some((k) => k.includes('conv_logvar')), 'the shipped encoder carries no log-variance head');
  // the posterior's mean and log-variance from the same weights, through a separate graph
  const b = new GraphBuilder('posterior');
  const net = new Net(b, cfg.seed);
  const post = vaeEncoderPosterior(net, { name: b.input('image', 'float32', [1, 3, S, S]), shape: [1, 3, S, S] }, cfg.vae);
  b.output(post.mean.name, 'mean', { dtype: 'float32', shape: post.mean.shape });
  b.output(post.logvar.name, 'logvar', { dtype: 'float32', shape: post.logvar.shape });
  const posterior = withWeights({ model: b.toModel(), params: [...net.params] }, weights, 'test weights');
  const image = new Rng(41).uniforms(3 * S * S, -1, 1);
  const enc = await createSession(encodeModel(exported));
  const first = (await enc.run({ image: f([1, 3, S, S], image) }))['latent']!.data as Float32Array;
  const second = (await enc.run({ image: f([1, 3, S, S], image) }))['latent']!.data as Float32Array;
  await enc.release();
  const ps = await createSession(encodeModel(posterior));
  const out = await ps.run({ image: f([1, 3, S, S], image) });
  await ps.release();
  const mean = out['mean']!.data as Float32Array;
  const logvar = out['logvar']!.data as Float32Array;
  assert.equal(first.length, cfg.vae.latentChannels * (S / 8) ** 2);
  assert.deepEqual(first, second, 'the same image encodes to the same latent');
  for (let i = 0; i < mean.length; i++) assert.ok(Math.abs(first[i]! - mean[i]!) < 1e-5, `latent ${i}: ${first[i]} is not the mean ${mean[i]}`);
  // and the mean is not a degenerate case: the posterior has a spread the export leaves out
  assert.ok(logvar.some((v) => Math.abs(v) > 1e-3));
});

/** The VAE, decoder and latents phases of `a` have `b`'s fingerprints: a copy of b's finished folder leaves only a's UNet to train. */
function assertSameBeforeUnet(a: TrainPlan, b: TrainPlan): void {
  for (const phase of ['vae', 'decoder', 'latents'] as const) assert.equal(fingerprint(a, phase), fingerprint(b, phase), phase);
}

test('plan selection: v5 (v3 on the zero-SNR v-prediction schedule) is the shipped tiny-ldm; v4, v3 (v2 + the UNet mask input), v2 (4 channels + KL, wider decoder) and v1 stay trainable', () => {
  assert.equal(BASE_PLAN_V5.name, DEFAULT_MODEL_NAME, 'the default export replaces the embedded default model');
  assert.equal(BASE_PLAN_V3.name, 'tiny-ldm-v3');
  assert.equal(BASE_PLAN_V2.name, 'tiny-ldm-v2');
  assert.equal(BASE_PLAN.name, 'tiny-ldm-v1');
  assert.equal(selectPlan('v1', false), BASE_PLAN);
  assert.equal(selectPlan('v1', true), SMOKE_PLAN);
  assert.equal(selectPlan('v2', false), BASE_PLAN_V2);
  assert.equal(selectPlan('v2', true), SMOKE_PLAN_V2);
  assert.equal(selectPlan('v3', false), BASE_PLAN_V3);
  assert.equal(selectPlan('v3', true), SMOKE_PLAN_V3);
  assert.equal(selectPlan('v4', false), BASE_PLAN_V4);
  assert.equal(selectPlan('v4', true), SMOKE_PLAN_V4);
  assert.equal(selectPlan('v5', false), BASE_PLAN_V5);
  assert.equal(selectPlan('v5', true), SMOKE_PLAN_V5);
  assert.throws(() => selectPlan('v6', false), /--plan must be v1, v2, v3, v4 or v5, got 'v6'/);
  // v5 = v3 with the UNet on ZERO_SNR_V_SCHEDULE: its UNet alone is new, and it is exactly what
  // `--plan v3 --zero-snr` trains (the shipped UNet was trained so, on a copy of a v3 folder)
  assert.deepEqual(BASE_PLAN_V5.model, BASE_PLAN_V3.model);
  assert.equal(unetSchedule(BASE_PLAN_V5), ZERO_SNR_V_SCHEDULE);
  assertSameBeforeUnet(BASE_PLAN_V5, BASE_PLAN_V3);
  assert.equal(fingerprint(BASE_PLAN_V5, 'unet'), fingerprint(planVariant(BASE_PLAN_V3, { zeroSnr: true }), 'unet'));
  assert.notEqual(fingerprint(BASE_PLAN_V5, 'unet'), fingerprint(BASE_PLAN_V3, 'unet'));
  assert.equal(BASE_PLAN_V5.trainFolder, 'train-base-v5');
  assert.equal(unetSchedule(SMOKE_PLAN_V5), ZERO_SNR_V_SCHEDULE);
  // v4 = v3 + the UNet's family embedding: its UNet alone is new
  assert.deepEqual(BASE_PLAN_V4.model, { ...TINY_LDM_V3, unet: { ...TINY_LDM_V3.unet, familyEmbedding: true } });
  assertSameBeforeUnet(BASE_PLAN_V4, BASE_PLAN_V3);
  assert.notEqual(fingerprint(BASE_PLAN_V4, 'unet'), fingerprint(BASE_PLAN_V3, 'unet'));
  assert.equal(BASE_PLAN_V4.trainFolder, 'train-base-v4');
  // v3 = v2 + the UNet's mask input: every phase before the UNet keeps v2's fingerprint, so a
  // finished v2 folder's VAE, decoder and latents serve it
  assert.deepEqual(TINY_LDM_V3, { ...TINY_LDM_V2, unet: { ...TINY_LDM_V2.unet, maskInput: true } });
  assertSameBeforeUnet(BASE_PLAN_V3, BASE_PLAN_V2);
  assert.notEqual(fingerprint(BASE_PLAN_V3, 'unet'), fingerprint(BASE_PLAN_V2, 'unet'));
  assert.equal(BASE_PLAN_V3.trainFolder, 'train-base-v3');
  // TINY_LDM's numbers are untouched, and its fingerprints carry none of the new fields (so the
  // checkpoints of the running v1 training still resume)
  assert.equal(TINY_LDM.vae.latentChannels, 16);
  assert.equal(TINY_LDM.vae.posterior, undefined);
  for (const phase of ['vae', 'latents', 'unet'] as const) assert.ok(!/posterior|klWeight|trainFolder/.test(fingerprint(BASE_PLAN, phase)), phase);
  assert.equal(BASE_PLAN_V2.model, TINY_LDM_V2);
  assert.equal(TINY_LDM_V2.vae.latentChannels, 4);
  assert.equal(TINY_LDM_V2.vae.posterior, 'gaussian');
  assert.deepEqual({ ...TINY_LDM_V2, vae: TINY_LDM.vae }, TINY_LDM, 'v2 differs from v1 in the VAE only');
  assert.ok(BASE_PLAN_V2.vae.klWeight! > 0);
  assert.notEqual(fingerprint(BASE_PLAN_V2, 'vae'), fingerprint(BASE_PLAN, 'vae'));
  assert.equal(defaultTrainDir({}, BASE_PLAN_V2.trainFolder), path.join(homedir(), '.cache', 'defectforge', 'train-base-v2'));
  assert.equal(defaultTrainDir({}), path.join(homedir(), '.cache', 'defectforge', 'train-base'));
  checkConfig(TINY_LDM_V2);
  checkConfig(SMOKE_LDM_V2);
  assert.throws(() => checkConfig({ ...TINY_LDM_V2, vae: { ...TINY_LDM_V2.vae, decoderChannels: [32, 64, 128] } }), /decoder channels \[32,64,128\] must have 4 levels/);
  assert.throws(() => checkConfig({ ...TINY_LDM, vae: { ...TINY_LDM.vae, posterior: 'laplace' as 'gaussian' } }), /posterior must be 'gaussian'/);
});

test('plan variants for the latent experiments: names, posterior switch, loss weights, bad values', () => {
  const c8 = planVariant(BASE_PLAN_V2, { latentChannels: 8, kl: 1e-5, vaeSteps: 2000 });
  assert.equal(c8.name, 'tiny-ldm-v2-c8-kl0.00001-vae2000');
  assert.equal(c8.model.vae.latentChannels, 8);
  assert.equal(c8.vae.klWeight, 1e-5);
  assert.equal(c8.vae.steps, 2000);
  assert.deepEqual(vaeLossWeights(c8), { edge: 0.5, latent: 0, kl: 1e-5 });
  const det = planVariant(BASE_PLAN_V2, { kl: 'off' });
  assert.equal(det.model.vae.posterior, undefined);
  assert.equal(det.vae.klWeight, undefined);
  assert.deepEqual(vaeLossWeights(det), { edge: 0.5, latent: 1e-4 });
  // a v1 plan with only its step count changed trains exactly the v1 VAE (same fingerprint)
  const shortV1 = planVariant(BASE_PLAN, { vaeSteps: 1500 });
  assert.equal(fingerprint({ ...shortV1, vae: { ...shortV1.vae, warmup: BASE_PLAN.vae.warmup } }, 'vae'), fingerprint(BASE_PLAN, 'vae'));
  assert.notEqual(shortV1.name, BASE_PLAN.name, 'a variant never takes the shipped package name');
  const klOnV1 = planVariant(BASE_PLAN, { latentChannels: 4, kl: 1e-4 });
  assert.equal(klOnV1.model.vae.posterior, 'gaussian');
  assert.throws(() => planVariant(BASE_PLAN, { latentChannels: 2 }), /latent channels must be 4\.\.16, got 2/);
  assert.throws(() => planVariant(BASE_PLAN, { kl: -1 }), /KL weight must be a number >= 0/);
  assert.throws(() => planVariant(BASE_PLAN, { vaeSteps: 0 }), /VAE steps must be a positive integer/);
  // a UNet defect weight reuses the trained autoencoder, decoder and latents (same fingerprints)
  const dw = planVariant(BASE_PLAN_V2, { defectWeight: 5 });
  assert.equal(dw.name, 'tiny-ldm-v2-dw5');
  assert.equal(dw.unet.defectWeight, 5);
  assertSameBeforeUnet(dw, BASE_PLAN_V2);
  assert.notEqual(fingerprint(dw, 'unet'), fingerprint(BASE_PLAN_V2, 'unet'));
  assert.throws(() => planVariant(BASE_PLAN_V2, { defectWeight: 0.5 }), /defect weight must be a number >= 1, got 0\.5/);
  // so do the Min-SNR weighting and the offset noise
  const offset = planVariant(BASE_PLAN_V4, { offsetNoise: 0.1, minSnrGamma: 5 });
  assert.equal(offset.name, 'tiny-ldm-v4-snr5-offset0.1');
  assert.equal(offset.unet.offsetNoise, 0.1);
  assertSameBeforeUnet(offset, BASE_PLAN_V4);
  assert.notEqual(fingerprint(planVariant(BASE_PLAN_V4, { offsetNoise: 0.1 }), 'unet'), fingerprint(BASE_PLAN_V4, 'unet'));
  assert.throws(() => planVariant(BASE_PLAN_V4, { offsetNoise: 0 }), /offset noise must be a number > 0, got 0/);
  // and so does the zero-terminal-SNR v-prediction schedule
  const zeroSnr = planVariant(BASE_PLAN_V3, { zeroSnr: true });
  assert.equal(zeroSnr.name, 'tiny-ldm-v3-zsnr');
  assert.equal(unetSchedule(zeroSnr).predictionType, 'v_prediction');
  assert.equal(unetSchedule(BASE_PLAN_V3), LDM_SCHEDULE);
  assertSameBeforeUnet(zeroSnr, BASE_PLAN_V3);
  assert.notEqual(fingerprint(zeroSnr, 'unet'), fingerprint(BASE_PLAN_V3, 'unet'));
  assert.throws(() => planVariant(BASE_PLAN_V4, { minSnrGamma: -1 }), /Min-SNR gamma must be a number > 0, got -1/);
  assert.throws(() => vaeLossWeights({ ...BASE_PLAN_V2, vae: { ...BASE_PLAN.vae } }), /needs vae.klWeight/);
  assert.throws(() => buildVaeTrainingGraph(SMOKE_LDM_V2, 1, 16), /gaussian VAE needs a KL weight/);
});

test('VAE batches: a gaussian plan adds seeded noise after the same crops; a deterministic plan has none', () => {
  const S = SMOKE_LDM.imageSize;
  const pool = Array.from({ length: 3 }, (_, i) => new Rng(50 + i).uniforms(S * S * 3, 0, 255)).map((a) => Uint8Array.from(a));
  const v1 = vaeBatch(SMOKE_PLAN, pool, 7);
  const v2 = vaeBatch(SMOKE_PLAN_V2, pool, 7);
  assert.deepEqual(Object.keys(v1), ['image']);
  assert.deepEqual(v2['image'], v1['image'], 'the crops do not depend on the posterior');
  const { batch, crop } = SMOKE_PLAN_V2.vae;
  const noise = v2[VAE_NOISE_INPUT]!;
  assert.deepEqual(noise.dims, [batch, SMOKE_LDM_V2.vae.latentChannels, crop / 8, crop / 8]);
  assert.deepEqual(vaeBatch(SMOKE_PLAN_V2, pool, 7)[VAE_NOISE_INPUT], noise, 'a step always gets the same noise');
  assert.notDeepEqual(vaeBatch(SMOKE_PLAN_V2, pool, 8)[VAE_NOISE_INPUT], noise);
  const data = noise.data as Float32Array;
  const m = data.reduce((a, x) => a + x, 0) / data.length;
  assert.ok(Math.abs(m) < 0.3, `noise mean ${m}`);
});

for (const plan of [BASE_PLAN_V2, BASE_PLAN_V3]) test(`the ${plan.name} configuration keeps the targets: package files under 40 MB, one 256x256 UNet step under 100 ms`, { timeout: 120_000 }, async () => {
  // the shipped shape: with the decoder phase's wider decoder
  const cfg = packageConfig(plan);
  assert.deepEqual(cfg.vae.decoderChannels, plan.decoder!.channels);
  assert.equal(packageConfig(BASE_PLAN), BASE_PLAN.model, 'v1 ships its own decoder');
  const weights = new Map<string, Float32Array>();
  for (const g of [buildVaeEncoderGraph(cfg, 1), buildVaeDecoderGraph(cfg, 1), buildUNetGraph(cfg, 1), buildSpatialEncoderGraph(cfg, 1)]) {
    for (const p of g.params) weights.set(p, g.model.graph.initializers.get(p)!.data as Float32Array);
  }
  const graphs = packageGraphs(cfg, weights, 'initial weights');
  const bytes = Object.values(graphs).reduce((a, m) => a + encodeModel(m).length, 0);
  assert.ok(bytes <= 40e6, `ONNX files total ${bytes} bytes`);
  const g = latentSize(cfg);
  const L = contextLength(cfg);
  assert.deepEqual(graphs.unet.graph.inputs[0]!.shape, ['batch', 4, 32, 32]);
  assert.deepEqual(graphs.vae_encoder.graph.outputs[0]!.shape, ['batch', 4, 32, 32]);
  const session = await createSession(encodeModel(graphs.unet), { intraOpNumThreads: 1 });
  const rng = new Rng(1);
  const feeds = {
    sample: f([1, 4, g, g], rng.normals(4 * g * g)),
    timestep: f([1], Float32Array.of(300)),
    context: f([1, L, cfg.tokenWidth], rng.normals(L * cfg.tokenWidth)),
    aar_weight: f([1, g * g], new Float32Array(g * g).fill(1)),
    aar_columns: f([1, L], new Float32Array(L)),
    ...(cfg.unet.maskInput ? { mask: f([1, 1, cfg.imageSize, cfg.imageSize], new Float32Array(cfg.imageSize ** 2).fill(1)) } : {}),
  };
  await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t);
  }
  await session.release();
  times.sort((a, b) => a - b);
  console.log(`${plan.name}: ONNX files ${(bytes / 1e6).toFixed(2)} MB; one UNet step, batch 1, 1 ORT thread: min ${times[0]!.toFixed(1)} ms, median ${times[2]!.toFixed(1)} ms`);
  assert.ok(times[0]! < 100, `UNet step ${times[0]} ms`);
});
