import { test } from 'node:test';
import assert from 'node:assert/strict';
import { psnr, reconstructionPsnr } from '../../../src/engine/adapt/psnr';
import type { RgbImage } from '../../../src/engine/diffusion/image-tensor';
import type { DiffusionModel } from '../../../src/engine/models/types';

test('psnr on [-1, 1] tensors matches hand-computed values on the [0, 1] scale', () => {
  // a constant error of 0.2 on [-1, 1] is 0.1 on [0, 1]: MSE 0.01 -> 20 dB
  const ref = Float32Array.from([0, 0.5, -0.5, 1]);
  assert.ok(Math.abs(psnr(ref, ref.map((v) => v + 0.2)) - 20) < 1e-5);
  // one pixel of four off by the full range (2 on [-1, 1], 1 on [0, 1]): MSE 1/4 -> 10 log10(4) dB
  assert.ok(Math.abs(psnr(Float32Array.from([-1, 0, 0, 0]), Float32Array.from([1, 0, 0, 0])) - 6.0206) < 1e-4);
  assert.equal(psnr(ref, ref), Infinity);
  assert.throws(() => psnr(ref, new Float32Array(3)), /psnr/);
});

/** A 2x1 "model" whose round trip adds `offset` to every value (encode is the identity). */
function shiftingModel(offset: number): DiffusionModel {
  return {
    facts: { name: 'shift', imageSize: { width: 2, height: 1 } },
    encode: async (x: Float32Array) => x.slice(),
    decode: async (z: Float32Array) => z.map((v) => v + offset),
  } as unknown as DiffusionModel;
}

const image = (values: number[]): RgbImage => ({ width: 2, height: 1, channels: 3, data: Uint8Array.from(values) });

test('reconstructionPsnr: the mean of per-image PSNRs of the clamped round trip', async () => {
  // 255 -> +1 and 0 -> -1 on [-1, 1]. Shifted by +0.2: the +1 values clamp back to +1 (no error),
  // the -1 values become -0.8 (error 0.1 on [0, 1]). Image A is all -1: MSE01 0.01 -> 20 dB.
  // Image B has three -1 and three +1 values: MSE01 0.005 -> 10 log10(200) = 23.0103 dB.
  const a = image([0, 0, 0, 0, 0, 0]);
  const b = image([0, 255, 0, 255, 0, 255]);
  const value = await reconstructionPsnr(shiftingModel(0.2), [a, b]);
  assert.ok(Math.abs(value - (20 + 10 * Math.log10(200)) / 2) < 1e-4, `${value}`);
  assert.equal(await reconstructionPsnr(shiftingModel(0), [a, b]), Infinity);
});

test('reconstructionPsnr refuses an image not at the model\'s size, and an empty set', async () => {
  const wrong: RgbImage = { width: 1, height: 2, channels: 3, data: new Uint8Array(6) };
  await assert.rejects(reconstructionPsnr(shiftingModel(0), [wrong]), /image 0 is 1x2; model 'shift' works at 2x1/);
  await assert.rejects(reconstructionPsnr(shiftingModel(0), []), /no images/);
});
