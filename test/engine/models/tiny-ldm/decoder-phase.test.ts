// The decoder phase (plan.decoder): a wider decoder trained from scratch on the finished VAE's
// frozen encoder. What users of the package rely on: the encoder (and so the cached latents and
// the UNet) is exactly the VAE's, the package ships the new decoder, and adding the phase to a
// plan leaves the checkpoints of the other phases valid (a running pretraining can take it on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readCheckpoint } from '../../../../src/engine/autodiff/checkpoint';
import { loadModel } from '../../../../src/engine/onnx/io';
import { parseManifest } from '../../../../src/engine/models/builtin/manifest';
import { SMOKE_PLAN_V2, TrainLog, fingerprint, runPretraining } from '../../../../src/engine/models/tiny-ldm/train';
import { decoderCheckpointPath } from '../../../../src/engine/models/tiny-ldm/train/decoder-phase';
import { vaeCheckpointPath } from '../../../../src/engine/models/tiny-ldm/train/vae-phase';
import { VAE_DECODER_PREFIX, VAE_ENCODER_PREFIX } from '../../../../src/engine/models/tiny-ldm/vae';

const root = mkdtempSync(path.join(tmpdir(), 'decoder phase é-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

test('adding a decoder phase to a plan keeps the VAE, latents and UNet checkpoints valid', () => {
  const without = { ...SMOKE_PLAN_V2, decoder: undefined };
  for (const phase of ['vae', 'latents', 'unet'] as const) assert.equal(fingerprint(SMOKE_PLAN_V2, phase), fingerprint(without, phase), phase);
  // while the decoder's own settings (not its step count) are in its fingerprint
  const wider = { ...SMOKE_PLAN_V2, decoder: { ...SMOKE_PLAN_V2.decoder!, channels: [16, 32, 32, 32] } };
  const longer = { ...SMOKE_PLAN_V2, decoder: { ...SMOKE_PLAN_V2.decoder!, steps: 999 } };
  assert.notEqual(fingerprint(wider, 'decoder'), fingerprint(SMOKE_PLAN_V2, 'decoder'));
  assert.equal(fingerprint(longer, 'decoder'), fingerprint(SMOKE_PLAN_V2, 'decoder'));
  assert.throws(() => fingerprint(without, 'decoder'), /no decoder phase/);
});

test('decoder phase: refused before the VAE; trains a wider decoder on the frozen encoder; the package ships it', { timeout: 300_000 }, async () => {
  const plan = SMOKE_PLAN_V2;
  const decoder = plan.decoder!;
  const dir = path.join(root, 'run');
  const outDir = path.join(dir, 'package ü');
  await assert.rejects(runPretraining({ plan, dir, outDir, phase: 'decoder' }), /needs the finished VAE/);

  const summary = await runPretraining({ plan, dir, outDir });
  assert.equal(summary.complete, true);
  const losses = new TrainLog(path.join(dir, 'train-log.jsonl')).records().filter((r) => r.phase === 'decoder' && typeof r.step === 'number').map((r) => r['loss'] as number);
  assert.equal(losses.length, decoder.steps);
  assert.ok(mean(losses.slice(-10)) < 0.8 * mean(losses.slice(0, 10)), `decoder loss did not go down: ${mean(losses.slice(0, 10))} -> ${mean(losses.slice(-10))}`);
  const psnr = summary.decoder?.eval?.heldoutPsnr;
  assert.ok(typeof psnr === 'number' && psnr > 10, `decoder held-out PSNR ${psnr}`);

  const vae = await readCheckpoint(vaeCheckpointPath(dir));
  const trained = await readCheckpoint(decoderCheckpointPath(dir));
  assert.ok(Object.keys(trained.params).length > 0 && Object.keys(trained.params).every((n) => n.startsWith(VAE_DECODER_PREFIX)), 'the decoder phase trains decoder weights only');

  const manifest = parseManifest(JSON.parse(readFileSync(path.join(outDir, 'manifest.json'), 'utf8')), 'manifest');
  // the shipped encoder is the VAE's, value for value
  const encoder = await loadModel(path.join(outDir, manifest.files.vae_encoder.path));
  const encoderParams = Object.entries(vae.params).filter(([name]) => name.startsWith(VAE_ENCODER_PREFIX) && !name.includes('conv_logvar'));
  assert.ok(encoderParams.length > 0);
  for (const [name, p] of encoderParams) {
    const t = encoder.graph.initializers.get(name);
    assert.ok(t, `${name}: not in the exported encoder`);
    assert.deepEqual(Array.from(t.data as Float32Array), Array.from(p.data), name);
  }
  // the shipped decoder is the phase's: its widths and its values
  const shipped = await loadModel(path.join(outDir, manifest.files.vae_decoder.path));
  const convOut = `${VAE_DECODER_PREFIX}.conv_out.weight`;
  assert.deepEqual(shipped.graph.initializers.get(convOut)?.dims, [3, decoder.channels[0], 3, 3]);
  assert.deepEqual(Array.from(shipped.graph.initializers.get(convOut)!.data as Float32Array), Array.from(trained.params[convOut]!.data));
  const training = manifest.training as Record<string, Record<string, unknown>>;
  assert.deepEqual(training['decoder']?.['channels'], decoder.channels);
  assert.equal((training['decoder']?.['reconstruction'] as Record<string, unknown>)['heldoutPsnr'], psnr);
  assert.ok((training['cpuSeconds']?.['decoder'] as number) > 0);
});
