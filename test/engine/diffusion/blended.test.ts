import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/shared/random';
import { generateBlended, CancelledError, type BlendedRequest } from '../../../src/engine/diffusion/blended';
import { LDM_SCHEDULE } from '../../../src/engine/diffusion/schedule';
import type { DiffusionModel, NoiseRequest } from '../../../src/engine/models/types';
import type { RgbImage } from '../../../src/engine/diffusion/image-tensor';
import { squaredDistanceToMask } from '../../../src/engine/diffusion/paste-back';

// A hand-written stand-in with the DiffusionModel contract: the "VAE" is an 8x8 average pool /
// nearest upsample of the 3 colour planes, the "UNet" predicts noise that pulls the latent toward a
// bright value inside, scaled by the context. The pipeline's own logic is what is under test.
function fakeModel(log: NoiseRequest[] = []): DiffusionModel {
  const size = 32, f = 8, lat = size / f;
  return {
    facts: {
      name: 'fake', kind: 'builtin', imageSize: { width: size, height: size }, latentChannels: 3,
      latentSize: { width: lat, height: lat }, latentScale: 1, tokenWidth: 2, contextLength: 2,
      schedule: LDM_SCHEDULE, hasUnconditional: true, attentionGrids: [{ width: lat, height: lat }], contentHash: 'fakehash',
    },
    async encode(images) {
      const out = new Float32Array(3 * lat * lat);
      for (let c = 0; c < 3; c++) for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
        out[c * lat * lat + Math.floor(y / f) * lat + Math.floor(x / f)] += images[c * size * size + y * size + x]! / (f * f);
      }
      return out;
    },
    async decode(latents, n) {
      const out = new Float32Array(n * 3 * size * size);
      for (let b = 0; b < n; b++) for (let c = 0; c < 3; c++) for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
        out[(b * 3 + c) * size * size + y * size + x] = Math.max(-1, Math.min(1, latents[(b * 3 + c) * lat * lat + Math.floor(y / f) * lat + Math.floor(x / f)]!));
      }
      return out;
    },
    async context(cond) {
      return { context: new Float32Array([cond ? 1 : 0, 0.5, 0, 0]), anomalyColumns: new Float32Array([1, 0]) };
    },
    async predictNoise(req) {
      log.push(req);
      const out = new Float32Array(req.latents.length);
      const per = req.latents.length / req.batch;
      for (let b = 0; b < req.batch; b++) {
        const strength = req.context[b * 4]!;
        for (let k = 0; k < per; k++) out[b * per + k] = 0.9 * req.latents[b * per + k]! - 0.5 * strength;
      }
      return out;
    },
    async release() {},
  };
}

function request(seed: number): BlendedRequest {
  const rng = new Rng(1);
  const normal: RgbImage = { width: 32, height: 32, channels: 3, data: Uint8Array.from({ length: 32 * 32 * 3 }, () => 60 + rng.int(40)) };
  const mask = new Uint8Array(32 * 32);
  for (let y = 12; y < 20; y++) for (let x = 12; x < 20; x++) mask[y * 32 + x] = 255;
  return { normal, mask, conditioning: { prompt: 'x' }, seed, sampler: { sampler: 'ddim', steps: 8, eta: 1 } };
}

test('same inputs and seed give bit-identical output; another seed differs', async () => {
  const a = await generateBlended(fakeModel(), request(5));
  const b = await generateBlended(fakeModel(), request(5));
  const c = await generateBlended(fakeModel(), request(6));
  assert.deepEqual(a.image.data, b.image.data);
  assert.notDeepEqual(a.image.data, c.image.data);
});

test('the background is bit-exact outside the dilated, feathered mask and the defect is painted inside', async () => {
  const req = request(7);
  const out = await generateBlended(fakeModel(), req);
  const dist2 = squaredDistanceToMask(req.mask, 32, 32);
  let insideChange = 0, inside = 0;
  for (let p = 0; p < 32 * 32; p++) {
    for (let c = 0; c < 3; c++) {
      const k = p * 3 + c;
      if (Math.sqrt(dist2[p]!) >= 2 + 3) assert.equal(out.image.data[k], req.normal.data[k]);
      if (req.mask[p]) {
        insideChange += Math.abs(out.image.data[k]! - req.normal.data[k]!);
        inside++;
      }
    }
  }
  assert.ok(insideChange / inside > 10, `mean change inside ${insideChange / inside}`);
  assert.deepEqual(Array.from(new Set(out.mask)).sort(), [0, 255]);
  assert.equal(out.settings.modelHash, 'fakehash');
});

test('AAR passes weights (from the second step) and anomaly columns; off passes none', async () => {
  const on: NoiseRequest[] = [];
  await generateBlended(fakeModel(on), { ...request(1), guidanceScale: 1 });
  assert.equal(on[0]!.attentionWeights, undefined);
  assert.ok(on.slice(1).every((r) => r.attentionWeights?.length === 16 && r.attentionColumns?.[0] === 1));
  const off: NoiseRequest[] = [];
  await generateBlended(fakeModel(off), { ...request(1), guidanceScale: 1, aar: { enabled: false, clamp: [1, 1.5], dilationRadius: 0 } });
  assert.ok(off.every((r) => r.attentionWeights === undefined));
});

test('classifier-free guidance batches unconditional and conditional contexts', async () => {
  const log: NoiseRequest[] = [];
  await generateBlended(fakeModel(log), { ...request(1), guidanceScale: 3 });
  assert.ok(log.every((r) => r.batch === 2 && r.context[0] === 0 && r.context[4] === 1));
  // only the conditional half is re-weighted
  const w = log[2]!.attentionWeights!;
  assert.ok(w.slice(0, 16).every((v) => v === 1));
});

test('strength < 1 starts later and runs fewer steps; cancel stops between steps', async () => {
  const log: NoiseRequest[] = [];
  const res = await generateBlended(fakeModel(log), { ...request(1), guidanceScale: 1, strength: 0.5 });
  assert.equal(res.settings.startStep, 4);
  assert.equal(log.length, 4);
  const controller = new AbortController();
  await assert.rejects(
    generateBlended(fakeModel(), request(1), { signal: controller.signal, onStep: (e) => e.step === 2 && controller.abort() }),
    CancelledError,
  );
});

test('previews are decoded every N steps', async () => {
  const previews: number[] = [];
  await generateBlended(fakeModel(), request(2), { previewEvery: 3, onStep: (e) => e.preview && previews.push(e.step) });
  assert.deepEqual(previews, [3, 6]);
});
