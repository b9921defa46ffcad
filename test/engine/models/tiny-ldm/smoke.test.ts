// The --smoke pretraining end to end (tiny model, 64x64 images): VAE, cached latents, UNet,
// export. Checks that both losses go down, that the package reads back and runs, and that a run
// interrupted without a checkpoint (as kill -9 would leave it) and resumed is identical, step for
// step and byte for byte, to an uninterrupted one (the UNet's parameter average included), and
// that the package ships that average.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseManifest } from '../../../../src/engine/models/builtin/manifest';
import { createSession } from '../../../../src/engine/runtime';
import { readImage } from '../../../../src/engine/imaging';
import { writePreview } from '../../../../src/engine/models/tiny-ldm/train/preview';
import { readCheckpoint } from '../../../../src/engine/autodiff/checkpoint';
import { EMA_SLOT } from '../../../../src/engine/autodiff/optim';
import { SMOKE_PLAN as SMOKE_PLAN_V1, TrainLog, runPretraining, unetCheckpointPath, type RunSummary } from '../../../../src/engine/models/tiny-ldm/train';
import { TOKEN_TABLE_PARAM } from '../../../../src/engine/models/tiny-ldm/train/graphs';

/** The v1 smoke plan with the UNet's parameter average (as the shipped plan keeps one). */
const SMOKE_PLAN = { ...SMOKE_PLAN_V1, unet: { ...SMOKE_PLAN_V1.unet, emaDecay: 0.9 } };

const root = mkdtempSync(path.join(tmpdir(), 'tiny ldm smoke é-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

function stepLosses(dir: string, phase: string): number[] {
  return new TrainLog(path.join(dir, 'train-log.jsonl'))
    .records()
    .filter((r) => r.phase === phase && typeof r.step === 'number')
    .map((r) => r['loss'] as number);
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

let uninterrupted: { dir: string; summary: RunSummary } | undefined;

test('smoke pretraining: VAE and UNet losses go down and the package exports', { timeout: 300_000 }, async () => {
  const dir = path.join(root, 'straight run');
  const outDir = path.join(dir, 'package ü');
  const summary = await runPretraining({ plan: SMOKE_PLAN, dir, outDir });
  uninterrupted = { dir, summary };
  assert.equal(summary.complete, true);
  const vae = stepLosses(dir, 'vae');
  const unet = stepLosses(dir, 'unet');
  assert.equal(vae.length, SMOKE_PLAN.vae.steps);
  assert.equal(unet.length, SMOKE_PLAN.unet.steps);
  const first = (xs: number[]): number => mean(xs.slice(0, 15));
  const last = (xs: number[]): number => mean(xs.slice(-15));
  console.log(`VAE loss ${first(vae).toFixed(4)} -> ${last(vae).toFixed(4)}; UNet loss ${first(unet).toFixed(4)} -> ${last(unet).toFixed(4)}`);
  assert.ok(last(vae) < 0.8 * first(vae), `VAE loss did not go down: ${first(vae)} -> ${last(vae)}`);
  assert.ok(last(unet) < 0.9 * first(unet), `UNet loss did not go down: ${first(unet)} -> ${last(unet)}`);
  assert.ok(summary.vae?.eval?.heldoutPsnr !== null && summary.vae!.eval!.heldoutPsnr! > 10, `held-out PSNR ${summary.vae?.eval?.heldoutPsnr}`);

  const manifest = parseManifest(JSON.parse(readFileSync(path.join(outDir, 'manifest.json'), 'utf8')), 'smoke manifest');
  assert.equal(manifest.latent.channels, SMOKE_PLAN.model.vae.latentChannels);
  assert.ok(manifest.latent.scale > 0 && Number.isFinite(manifest.latent.scale));
  const training = manifest.training as Record<string, unknown>;
  assert.deepEqual(training['heldOutDefects'], ['crack', 'glue']);
  assert.ok(((training['cpuSeconds'] as Record<string, number>)['total'] ?? 0) > 0);
  // the exported UNet runs at batch 2 (symbolic batch)
  const unetSession = await createSession(path.join(outDir, manifest.files.unet.path));
  const g = manifest.latent.width;
  const L = 1 + manifest.tokens.defectTokens + manifest.tokens.spatialTokens;
  const f = (dims: number[], fill: number) => ({ dtype: 'float32' as const, dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(fill) });
  const out = await unetSession.run({ sample: f([2, manifest.latent.channels, g, g], 0.3), timestep: f([2], 500), context: f([2, L, manifest.tokens.width], 0.1), aar_weight: f([2, g * g], 1), aar_columns: f([2, L], 0) });
  await unetSession.release();
  assert.deepEqual(out['eps']!.dims, [2, manifest.latent.channels, g, g]);
  assert.ok((out['eps']!.data as Float32Array).every(Number.isFinite));

  // the package loads through the built-in loader and paints into masks with blended generation
  const previewFile = path.join(dir, 'preview é.png');
  const rows = await writePreview(outDir, previewFile, { rows: 2, steps: 4, guidance: 3, seed: 1 });
  assert.equal(rows.length, 2);
  for (const r of rows) assert.ok(r.changeInside > 0, `nothing painted inside the ${r.defect} mask`);
  const png = await readImage(previewFile);
  assert.deepEqual([png.width, png.height], [4 * SMOKE_PLAN.model.imageSize, 2 * SMOKE_PLAN.model.imageSize]);

  // the package's token table (trained in the UNet phase) is the parameter average, not the last weights
  const ckpt = await readCheckpoint(unetCheckpointPath(dir));
  const shipped = new Float32Array(new Uint8Array(readFileSync(path.join(outDir, manifest.files.token_table.path))).buffer);
  const averaged = ckpt.optimizer.slots[EMA_SLOT]![TOKEN_TABLE_PARAM]!;
  assert.deepEqual(Array.from(shipped), Array.from(averaged));
  assert.notDeepEqual(Array.from(shipped), Array.from(ckpt.params[TOKEN_TABLE_PARAM]!.data));
  assert.equal((training['unet'] as Record<string, unknown>)['emaDecay'], 0.9);
});

test('smoke pretraining interrupted without a checkpoint (twice) and resumed equals the uninterrupted run', { timeout: 300_000 }, async () => {
  assert.ok(uninterrupted, 'needs the first test');
  const dir = path.join(root, 'interrupted run');
  const outDir = path.join(dir, 'package');
  // checkpoints every 25 steps: a crash at 37 loses steps 26..37, which the resume redoes
  const a = await runPretraining({ plan: SMOKE_PLAN, dir, outDir, crash: { phase: 'vae', step: 37 } });
  assert.equal(a.complete, false);
  assert.equal(a.vae?.step, 37);
  const b = await runPretraining({ plan: SMOKE_PLAN, dir, outDir, crash: { phase: 'unet', step: 61 } });
  assert.equal(b.complete, false);
  assert.equal(b.vae?.resumedFrom, 25);
  assert.equal(b.unet?.step, 61);
  const c = await runPretraining({ plan: SMOKE_PLAN, dir, outDir });
  assert.equal(c.complete, true);
  assert.equal(c.unet?.resumedFrom, 50);
  // the log reads as one run: the lost steps were dropped and redone
  assert.deepEqual(stepLosses(dir, 'vae'), stepLosses(uninterrupted.dir, 'vae'));
  assert.deepEqual(stepLosses(dir, 'unet'), stepLosses(uninterrupted.dir, 'unet'));
  assert.equal(c.latentScale, uninterrupted.summary.latentScale);
  const files = (m: RunSummary) => Object.fromEntries(Object.entries(m.manifest!.files).map(([k, v]) => [k, v.sha256]));
  assert.deepEqual(files(c), files(uninterrupted.summary));
});

test('a checkpoint made with other settings is refused with a clear error', { timeout: 120_000 }, async () => {
  assert.ok(uninterrupted, 'needs the first test');
  const changed = { ...SMOKE_PLAN, unet: { ...SMOKE_PLAN.unet, steps: SMOKE_PLAN.unet.steps + 10, lr: 1e-3 } };
  // the VAE is done and still valid (its settings did not change); the UNet checkpoint is not
  await assert.rejects(runPretraining({ plan: changed, dir: uninterrupted.dir, outDir: path.join(root, 'other'), phase: 'unet' }), /made with other settings/);
});

test('raising a finished phase\'s steps extends it from its checkpoint', { timeout: 120_000 }, async () => {
  assert.ok(uninterrupted, 'needs the first test');
  const longer = { ...SMOKE_PLAN, unet: { ...SMOKE_PLAN.unet, steps: SMOKE_PLAN.unet.steps + 10 } };
  const summary = await runPretraining({ plan: longer, dir: uninterrupted.dir, outDir: path.join(root, 'longer') });
  assert.equal(summary.complete, true);
  assert.equal(summary.vae?.resumedFrom, SMOKE_PLAN.vae.steps, 'the VAE was done and stays done');
  assert.equal(summary.unet?.resumedFrom, SMOKE_PLAN.unet.steps);
  assert.equal(summary.unet?.step, SMOKE_PLAN.unet.steps + 10);
  const records = new TrainLog(summary.logPath).records();
  assert.ok(records.some((r) => r.phase === 'unet' && r.event === 'steps-changed' && r['from'] === SMOKE_PLAN.unet.steps && r['to'] === SMOKE_PLAN.unet.steps + 10));
  assert.equal(stepLosses(uninterrupted.dir, 'unet').length, SMOKE_PLAN.unet.steps + 10);
});
