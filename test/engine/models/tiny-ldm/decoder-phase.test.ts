// The decoder phase (plan.decoder): a wider decoder trained from scratch on the finished VAE's
// frozen encoder. What users of the package rely on: the encoder (and so the cached latents and
// the UNet) is exactly the VAE's, the package ships the new decoder, and adding the phase to a
// plan leaves the checkpoints of the other phases valid (a running pretraining can take it on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readCheckpoint } from '../../../../src/engine/autodiff/checkpoint';
import { loadModel } from '../../../../src/engine/onnx/io';
import { parseManifest } from '../../../../src/engine/models/builtin/manifest';
import { SMOKE_PLAN_V2, TrainLog, fingerprint, runPretraining } from '../../../../src/engine/models/tiny-ldm/train';
import { decoderCheckpointPath, latentWindowBatch } from '../../../../src/engine/models/tiny-ldm/train/decoder-phase';
import { DECODER_LATENT_INPUT } from '../../../../src/engine/models/tiny-ldm/train/graphs';
import { Rng } from '../../../../src/shared/random';
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

test('decoder on latents: a batch pairs each pixel crop with the same window of its own image\'s latents (mirrored: the mirror\'s)', () => {
  const plan = SMOKE_PLAN_V2;
  const S = plan.model.imageSize;
  const f = 8;
  const g = S / f;
  const C = plan.model.vae.latentChannels;
  const crop = 32;
  const w = crop / f;
  // pixel (x, y) of pool image i: R = x, G = y, B = 10 i; latent cell values name (image, channel, row, column), negative when mirrored
  const pool = Array.from({ length: 3 }, (_, i) => {
    const rgb = new Uint8Array(S * S * 3);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) rgb.set([x, y, 10 * i], (y * S + x) * 3);
    return rgb;
  });
  const code = (i: number, c: number, r: number, col: number): number => 1 + i * 10_000 + c * 1000 + r * g + col;
  const latentsOf = (sign: number): Float32Array[] => pool.map((_, i) => Float32Array.from({ length: C * g * g }, (_, k) => sign * code(i, Math.floor(k / (g * g)), Math.floor((k % (g * g)) / g), k % g)));
  const latents = { plain: latentsOf(1), mirrored: latentsOf(-1) };
  const batch = 16;
  const feeds = latentWindowBatch(plan, pool, latents, batch, crop, new Rng(5));
  assert.deepEqual(feeds['image']!.dims, [batch, 3, crop, crop]);
  assert.deepEqual(feeds[DECODER_LATENT_INPUT]!.dims, [batch, C, w, w]);
  const image = feeds['image']!.data as Float32Array;
  const latent = feeds[DECODER_LATENT_INPUT]!.data as Float32Array;
  const byte = (v: number): number => Math.round((v + 1) * 127.5);
  const plane = crop * crop;
  const seen = new Set<string>();
  for (let b = 0; b < batch; b++) {
    const px = (x: number, y: number, c: number): number => byte(image[b * 3 * plane + c * plane + y * crop + x]!);
    const i = px(0, 0, 2) / 10;
    const y0 = px(0, 0, 1);
    const mirrored = px(1, 0, 0) < px(0, 0, 0);
    // the crop's left edge in the image it shows (mirrored: the mirror image's column 0 is the source's S - 1)
    const x0 = mirrored ? S - 1 - px(0, 0, 0) : px(0, 0, 0);
    assert.ok(Number.isInteger(i) && x0 % f === 0 && y0 % f === 0, `sample ${b}: crop at (${x0}, ${y0}) of image ${i} is not on the latent grid`);
    for (let c = 0; c < C; c++) {
      for (let r = 0; r < w; r++) {
        for (let col = 0; col < w; col++) {
          assert.equal(latent[((b * C + c) * w + r) * w + col], (mirrored ? -1 : 1) * code(i, c, y0 / f + r, x0 / f + col), `sample ${b} channel ${c} (${r}, ${col})`);
        }
      }
    }
    seen.add(`${i} ${mirrored}`);
  }
  assert.ok(seen.size > 3, 'images and mirrors are both drawn');
  assert.deepEqual(latentWindowBatch(plan, pool, latents, batch, crop, new Rng(5)), feeds, 'a batch is a pure function of its seed');
});

test('decoder on latents: trains the decoder alone from the pool\'s latents, with its own fingerprint', { timeout: 300_000 }, async () => {
  const plan = { ...SMOKE_PLAN_V2, decoder: { ...SMOKE_PLAN_V2.decoder!, input: 'latents' as const } };
  assert.notEqual(fingerprint(plan, 'decoder'), fingerprint(SMOKE_PLAN_V2, 'decoder'));
  for (const phase of ['vae', 'latents', 'unet'] as const) assert.equal(fingerprint(plan, phase), fingerprint(SMOKE_PLAN_V2, phase), phase);
  // the finished VAE of the test above (and its crop pool), in a folder of its own
  const from = path.join(root, 'run');
  const dir = path.join(root, 'on latents');
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(from).filter((n) => n === 'vae.ckpt' || n.startsWith('vae-pool-'))) copyFileSync(path.join(from, f), path.join(dir, f));
  const summary = await runPretraining({ plan, dir, outDir: path.join(dir, 'package'), phase: 'decoder' });
  assert.equal(summary.complete, true);
  const losses = new TrainLog(path.join(dir, 'train-log.jsonl')).records().filter((r) => r.phase === 'decoder' && typeof r.step === 'number').map((r) => r['loss'] as number);
  assert.equal(losses.length, plan.decoder.steps);
  assert.ok(mean(losses.slice(-10)) < 0.8 * mean(losses.slice(0, 10)), `decoder loss did not go down: ${mean(losses.slice(0, 10))} -> ${mean(losses.slice(-10))}`);
  const psnr = summary.decoder?.eval?.heldoutPsnr;
  assert.ok(typeof psnr === 'number' && psnr > 10, `decoder held-out PSNR ${psnr}`);
  const trained = await readCheckpoint(decoderCheckpointPath(dir));
  assert.ok(Object.keys(trained.params).every((n) => n.startsWith(VAE_DECODER_PREFIX)));
});
