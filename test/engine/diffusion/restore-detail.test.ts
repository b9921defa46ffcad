// Paste-back's detail restoration (PasteBackSettings.restoreDetail): the generated image gets the
// original's detail layer, original - decode(encode(original)), before compositing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/shared/random';
import { generateBlended, type BlendedRequest } from '../../../src/engine/diffusion/blended';
import { LDM_SCHEDULE } from '../../../src/engine/diffusion/schedule';
import type { DiffusionModel } from '../../../src/engine/models/types';
import { imageToTensor, tensorToImage, type RgbImage } from '../../../src/engine/diffusion/image-tensor';
import { DEFAULT_PASTE_BACK, pasteBackOf, restoreDetail } from '../../../src/engine/diffusion/paste-back';

const SIZE = 32;
const F = 8;
const LAT = SIZE / F;

// A stand-in whose "VAE" keeps only 8x8 block means (batched, image by image): everything inside
// a block beyond its mean is the detail it loses. Its "UNet" pulls the latent toward a bright value.
function blockModel(): DiffusionModel {
  const plane = SIZE * SIZE;
  return {
    facts: {
      name: 'blocks', kind: 'builtin', imageSize: { width: SIZE, height: SIZE }, latentChannels: 3,
      latentSize: { width: LAT, height: LAT }, latentScale: 1, tokenWidth: 2, contextLength: 2,
      schedule: LDM_SCHEDULE, hasUnconditional: true, attentionGrids: [{ width: LAT, height: LAT }], contentHash: 'blockhash',
    },
    async encode(images, n) {
      const out = new Float32Array(n * 3 * LAT * LAT);
      for (let b = 0; b < n; b++) for (let c = 0; c < 3; c++) for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) {
        out[(b * 3 + c) * LAT * LAT + Math.floor(y / F) * LAT + Math.floor(x / F)] += images[(b * 3 + c) * plane + y * SIZE + x]! / (F * F);
      }
      return out;
    },
    async decode(latents, n) {
      const out = new Float32Array(n * 3 * plane);
      for (let b = 0; b < n; b++) for (let c = 0; c < 3; c++) for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) {
        out[(b * 3 + c) * plane + y * SIZE + x] = Math.max(-1, Math.min(1, latents[(b * 3 + c) * LAT * LAT + Math.floor(y / F) * LAT + Math.floor(x / F)]!));
      }
      return out;
    },
    async context(cond) {
      return { context: new Float32Array([cond ? 1 : 0, 0.5, 0, 0]), anomalyColumns: new Float32Array([1, 0]) };
    },
    async predictNoise(req) {
      const out = new Float32Array(req.latents.length);
      const per = req.latents.length / req.batch;
      for (let b = 0; b < req.batch; b++) for (let k = 0; k < per; k++) out[b * per + k] = 0.9 * req.latents[b * per + k]! - 0.5 * req.context[b * 4]!;
      return out;
    },
    async release() {},
  };
}

/**
 * A textured normal image (detail inside every 8x8 block) and a mask covering blocks (1, 1) to
 * (2, 2) exactly; `restore` undefined: paste-back settings as recorded before restoreDetail existed.
 */
function request(restore: boolean | undefined): BlendedRequest {
  const rng = new Rng(4);
  const normal: RgbImage = { width: SIZE, height: SIZE, channels: 3, data: Uint8Array.from({ length: SIZE * SIZE * 3 }, () => 40 + rng.int(60)) };
  const mask = new Uint8Array(SIZE * SIZE);
  for (let y = 8; y < 24; y++) for (let x = 8; x < 24; x++) mask[y * SIZE + x] = 255;
  const pasteBack = restore === undefined ? { dilate: DEFAULT_PASTE_BACK.dilate, feather: DEFAULT_PASTE_BACK.feather } : { ...DEFAULT_PASTE_BACK, restoreDetail: restore };
  return { normal, mask, conditioning: { prompt: 'x' }, seed: 11, sampler: { sampler: 'ddim', steps: 6, eta: 1 }, pasteBack };
}

test('restoreDetail adds original - decodedOriginal to decoded, rounded into 0..255', () => {
  const decoded = Uint8Array.from([10, 200, 250, 5]);
  const decodedOriginal = Uint8Array.from([20, 100, 240, 50]);
  const original = Uint8Array.from([30, 100, 250, 10]);
  assert.deepEqual(Array.from(restoreDetail(decoded, decodedOriginal, original)), [20, 200, 255, 0]);
  assert.throws(() => restoreDetail(decoded, decodedOriginal.subarray(1), original), /restore detail: images of 4, 3 and 4 bytes/);
});

test('with restoreDetail the generated region keeps the original texture; without it, only the decoder\'s blocks', async () => {
  const model = blockModel();
  const req = request(true);
  const out = await generateBlended(model, req, { keepDecoded: true });
  assert.equal(out.settings.pasteBack.restoreDetail, true, 'the setting is recorded for regeneration');
  // decodedNormal is the model's own reconstruction of the normal image
  const reconstruction = tensorToImage(await model.decode(await model.encode(imageToTensor(req.normal), 1), 1), SIZE, SIZE);
  assert.deepEqual(out.decodedNormal!.data, reconstruction.data);
  assert.deepEqual(out.unpasted!.data, restoreDetail(out.decoded!.data, reconstruction.data, req.normal.data));
  const plain = await generateBlended(model, request(false));
  // inside the mask (whole 8x8 blocks): with detail, the output is the original plus one constant
  // per block and channel (the generated change, clamped to 8 bits), so it varies like the
  // original inside each block; without it the output is constant per block
  let varying = 0;
  for (let by = 1; by <= 2; by++) for (let bx = 1; bx <= 2; bx++) for (let c = 0; c < 3; c++) {
    const at = (img: Uint8Array, y: number, x: number): number => img[((by * F + y) * SIZE + bx * F + x) * 3 + c]!;
    const shift = at(out.decoded!.data, 0, 0) - at(out.decodedNormal!.data, 0, 0);
    for (let y = 0; y < F; y++) for (let x = 0; x < F; x++) {
      const value = at(out.image.data, y, x);
      assert.equal(value, Math.min(255, Math.max(0, at(req.normal.data, y, x) + shift)), `block (${by}, ${bx}) channel ${c}`);
      if (value !== at(out.image.data, 0, 0)) varying++;
      assert.equal(at(plain.image.data, y, x), at(plain.image.data, 0, 0), 'without detail a decoded block is flat');
    }
  }
  assert.ok(varying > 100, `the restored region carries the texture (${varying} pixels differ from their block's first)`);
  // the change inside is the generated defect, as without detail (the same latents, same block means)
  assert.deepEqual(out.decoded!.data, (await generateBlended(model, request(false), { keepDecoded: true })).decoded!.data);
});

test('generation restores detail by default; off, or absent from recorded settings, generates the same bytes as before', async () => {
  assert.equal(DEFAULT_PASTE_BACK.restoreDetail, true);
  assert.deepEqual(pasteBackOf(undefined), { ...DEFAULT_PASTE_BACK, restoreDetail: false });
  const model = blockModel();
  const absent = await generateBlended(model, request(undefined), { keepDecoded: true });
  const off = await generateBlended(model, request(false), { keepDecoded: true });
  assert.deepEqual(absent.image.data, off.image.data);
  assert.equal(absent.decodedNormal, undefined);
  assert.deepEqual(absent.unpasted!.data, absent.decoded!.data);
});
