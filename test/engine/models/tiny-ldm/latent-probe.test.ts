// The latent learnability probe (train/probe.ts, latent-stats.ts) and the v2 smoke pretraining end
// to end: VAE with the KL term, cached latents, UNet, export, then the probe on its checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deriveSeed } from '../../../../src/engine/corpus';
import { parseManifest } from '../../../../src/engine/models/builtin/manifest';
import { buildUNetGraph, buildVocabulary } from '../../../../src/engine/models/tiny-ldm';
import { TOKEN_TABLE_PARAM } from '../../../../src/engine/models/tiny-ldm/train/graphs';
import { lag1Autocorrelation, median, summariseAutocorrelation } from '../../../../src/engine/models/tiny-ldm/train/latent-stats';
import { PROBE_SETTINGS, heldoutEpsMse, runProbe, type ProbeSettings } from '../../../../src/engine/models/tiny-ldm/train/probe';
import { SMOKE_PLAN, SMOKE_PLAN_V2, TrainLog, runPretraining } from '../../../../src/engine/models/tiny-ldm/train';
import { createSession } from '../../../../src/engine/runtime';
import { isUserError } from '../../../../src/shared/errors';
import { Rng } from '../../../../src/shared/random';

const root = mkdtempSync(path.join(tmpdir(), 'tiny ldm v2 ü-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

/** k x k blocks of independent normals (nearest upsampling of white noise), [1, h, w]. */
function blocky(rng: Rng, size: number, k: number): Float32Array {
  const coarse = rng.normals((size / k) ** 2);
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) out[y * size + x] = coarse[Math.floor(y / k) * (size / k) + Math.floor(x / k)]!;
  return out;
}

test('lag-1 autocorrelation: checkerboard -1, white noise ~0, k x k blocks ~(k-1)/k, constant none', () => {
  const n = 64;
  const checker = Float32Array.from({ length: n * n }, (_, i) => ((i % n) + Math.floor(i / n)) % 2 ? 1 : -1);
  assert.ok(Math.abs(lag1Autocorrelation(checker, 1, n, n, 0)! + 1) < 1e-9);
  const rng = new Rng(3);
  const noise = [0, 1, 2, 3].map(() => lag1Autocorrelation(rng.normals(n * n), 1, n, n, 0)!);
  // the estimator's standard error is ~1/sqrt(pairs) = 1/sqrt(8064) ~ 0.011
  for (const r of noise) assert.ok(Math.abs(r) < 0.05, `white noise r = ${r}`);
  for (const k of [2, 4]) {
    const rs = [0, 1, 2].map(() => lag1Autocorrelation(blocky(rng, n, k), 1, n, n, 0)!);
    // a neighbour pair lies inside one block (correlation 1) with probability (k - 1) / k, else
    // in two independent blocks (correlation 0)
    assert.ok(Math.abs(median(rs) - (k - 1) / k) < 0.06, `${k}x${k} blocks: r = ${rs}`);
  }
  assert.equal(lag1Autocorrelation(new Float32Array(16).fill(2), 1, 4, 4, 0), null);
  // channel indexing: channel 1 of a [2, n, n] latent is the checkerboard
  const two = new Float32Array(2 * n * n);
  two.set(rng.normals(n * n), 0);
  two.set(checker, n * n);
  assert.ok(Math.abs(lag1Autocorrelation(two, 2, n, n, 1)! + 1) < 1e-9);
  const summary = summariseAutocorrelation([two, two], 2, n, n);
  assert.deepEqual(summary.perChannel.map((r) => Math.round(r * 100) / 100), [Math.round(lag1Autocorrelation(two, 2, n, n, 0)! * 100) / 100, -1]);
  assert.equal(summary.constant, 0);
  // channel 0 (noise) is noise-like in both latents, the checkerboard (r = -1) too
  assert.equal(summary.noiseLike, 1);
  assert.equal(summariseAutocorrelation([blocky(rng, n, 4)], 1, n, n).noiseLike, 0);
  assert.throws(() => lag1Autocorrelation(new Float32Array(10), 1, 4, 4, 0), /10 values are not \[1, 4, 4\]/);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
});

test('probe eps-MSE: a UNet that predicts zero scores the mean square of the probe noise', async () => {
  const plan = SMOKE_PLAN_V2;
  const cfg = plan.model;
  const built = buildUNetGraph(cfg, 2, { aar: false });
  const weights = new Map<string, Float32Array>(built.params.map((p) => [p, new Float32Array((built.model.graph.initializers.get(p)!.data as Float32Array).length)]));
  const V = buildVocabulary(cfg.defectTokens).labels.length;
  weights.set(TOKEN_TABLE_PARAM, new Rng(1).normals(V * cfg.tokenWidth));
  const per = cfg.vae.latentChannels * 8 * 8;
  const latents = [new Rng(2).normals(per), new Rng(3).normals(per)];
  const labels = [['family:wood', ...Array.from({ length: 8 }, () => '<null>')], ['family:tile', ...Array.from({ length: 8 }, (_, i) => `defect:scratch:${i}`)]];
  const result = await heldoutEpsMse(plan, labels, latents, 0.7, weights, [50, 500], 'zero weights');
  for (const { t, conditional, unconditional } of result) {
    const eps = new Rng(deriveSeed(plan.seed, 'probe-eps', t)).normals(2 * per);
    const expected = eps.reduce((a, e) => a + e * e, 0) / eps.length;
    assert.ok(Math.abs(conditional - expected) < 1e-6 && Math.abs(unconditional - expected) < 1e-6, `t=${t}: ${conditional} / ${unconditional}, expected ${expected}`);
  }
  await assert.rejects(heldoutEpsMse(plan, labels, latents, 0.7, weights, [1000], 'zero weights'), /timestep 1000 is outside/);
});

test('v2 smoke pretraining end to end, then the probe on its VAE checkpoint', { timeout: 600_000 }, async () => {
  const dir = path.join(root, 'v2 run');
  const outDir = path.join(dir, 'package é');
  const summary = await runPretraining({ plan: SMOKE_PLAN_V2, dir, outDir });
  assert.equal(summary.complete, true);
  const records = new TrainLog(path.join(dir, 'train-log.jsonl')).records();
  const vae = records.filter((r) => r.phase === 'vae' && typeof r['step'] === 'number');
  assert.equal(vae.length, SMOKE_PLAN_V2.vae.steps);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const loss = vae.map((r) => r['loss'] as number);
  assert.ok(mean(loss.slice(-15)) < 0.8 * mean(loss.slice(0, 15)), `VAE loss did not go down: ${mean(loss.slice(0, 15))} -> ${mean(loss.slice(-15))}`);
  for (const r of vae) assert.ok(typeof r['kl'] === 'number' && (r['kl'] as number) >= 0 && typeof r['logvar_mean'] === 'number', 'the KL term is logged');
  const unet = records.filter((r) => r.phase === 'unet' && typeof r['step'] === 'number').map((r) => r['loss'] as number);
  assert.ok(mean(unet.slice(-15)) < 0.9 * mean(unet.slice(0, 15)), `UNet loss did not go down: ${mean(unet.slice(0, 15))} -> ${mean(unet.slice(-15))}`);
  const manifest = parseManifest(JSON.parse(readFileSync(path.join(outDir, 'manifest.json'), 'utf8')), 'v2 smoke manifest');
  assert.equal(manifest.latent.channels, 4);
  assert.deepEqual((manifest.training as { vae: Record<string, unknown> }).vae['posterior'], 'gaussian');
  assert.equal((manifest.training as { vae: Record<string, unknown> }).vae['klWeight'], SMOKE_PLAN_V2.vae.klWeight);
  // the shipped encoder is the deterministic mean: one input, one output, no noise input
  const encoderBytes = readFileSync(path.join(outDir, 'vae_encoder.onnx'));
  const encoder = await createSession(new Uint8Array(encoderBytes));
  const S = SMOKE_PLAN_V2.model.imageSize;
  const image = new Rng(5).uniforms(3 * S * S, -1, 1);
  const a = (await encoder.run({ image: { dtype: 'float32', dims: [1, 3, S, S], data: image } }))['latent']!.data;
  const b = (await encoder.run({ image: { dtype: 'float32', dims: [1, 3, S, S], data: image } }))['latent']!.data;
  await encoder.release();
  assert.deepEqual(a, b);

  const settings: ProbeSettings = { ...PROBE_SETTINGS, heldoutImages: SMOKE_PLAN_V2.eval.heldoutImages, bsdataImages: 0, latentSamples: 40, unetSteps: 30, unetBatch: 4 };
  const report = await runProbe(SMOKE_PLAN_V2, dir, settings);
  assert.equal(report.latentChannels, 4);
  assert.equal(report.posterior, 'gaussian');
  assert.equal(report.klWeight, SMOKE_PLAN_V2.vae.klWeight);
  assert.equal(report.vaeStep, SMOKE_PLAN_V2.vae.steps);
  // the same held-out images and weights as the VAE phase's own evaluation
  assert.ok(Math.abs(report.heldoutPsnr! - summary.vae!.eval!.heldoutPsnr!) < 1e-9, `${report.heldoutPsnr} vs ${summary.vae!.eval!.heldoutPsnr}`);
  assert.equal(report.bsdataPsnr, null);
  assert.equal(report.autocorrelation.perChannel.length, 4);
  assert.ok(report.autocorrelation.median >= -1 && report.autocorrelation.median <= 1);
  assert.ok(report.latentStd > 0);
  assert.ok(Object.keys(report.autocorrelationByFamily).length > 0);
  for (const r of Object.values(report.autocorrelationByFamily)) assert.ok(r >= -1 && r <= 1);
  assert.equal(report.unet!.steps, 30);
  assert.deepEqual(report.unet!.epsMse.map((e) => e.t), settings.timesteps);
  for (const e of report.unet!.epsMse) assert.ok(e.conditional > 0 && e.conditional < 3 && e.unconditional > 0 && e.unconditional < 3, JSON.stringify(e));
  assert.ok(existsSync(path.join(dir, 'probe', `vae-step-${SMOKE_PLAN_V2.vae.steps}`, 'probe.json')));
  // a rerun reuses the probe's latent cache and finished UNet: the same numbers
  const again = await runProbe(SMOKE_PLAN_V2, dir, settings);
  assert.deepEqual(again.unet!.epsMse, report.unet!.epsMse);
  // probing with the settings of another design is refused, naming the checkpoint
  await assert.rejects(runProbe(SMOKE_PLAN, dir, settings), (e: unknown) => isUserError(e) && e.code === 'TRAIN_PLAN_CHANGED' && e.message.includes('vae.ckpt'));
  // the VAE trains on (its step count raised): the probe of the later checkpoint gets a folder of its own
  const longer = { ...SMOKE_PLAN_V2, vae: { ...SMOKE_PLAN_V2.vae, steps: SMOKE_PLAN_V2.vae.steps + 10 } };
  await runPretraining({ plan: longer, dir, outDir, phase: 'vae' });
  const later = await runProbe(longer, dir, { ...settings, unetSteps: 10 });
  assert.equal(later.vaeStep, SMOKE_PLAN_V2.vae.steps + 10);
  assert.ok(existsSync(path.join(dir, 'probe', `vae-step-${SMOKE_PLAN_V2.vae.steps + 10}`, 'probe.json')));
});
