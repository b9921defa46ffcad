import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateBlended, type BlendedRequest } from '../../../../src/engine/diffusion/blended';
import type { RgbImage } from '../../../../src/engine/diffusion/image-tensor';
import { loadSd1Folder } from '../../../../src/engine/models/sd1';
import { Rng } from '../../../../src/shared/random';
import { BASE_VARIANT, IMAGE_SIZE, writeTinySd1Folder, type Sd1Variant } from '../../../fixtures/sd1';
import { TEXT_WIDTH } from '../../../fixtures/sd1/models';

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sd1 blended ü '));
after(() => fs.rm(root, { recursive: true, force: true }));

// every axis of the exports covered at least once in each direction
const VARIANTS: Partial<Sd1Variant>[] = [
  { precision: 'fp32', timestepType: 'int64', timestepRank: 1, vaeOutput: 'latent_sample', unetWeights: 'weights.pb', idsType: 'int32' },
  { precision: 'fp32', timestepType: 'float', timestepRank: 0, vaeOutput: 'latent_parameters', unetWeights: 'model.onnx_data', idsType: 'int64' },
  { precision: 'fp16', timestepType: 'int64', timestepRank: 0, vaeOutput: 'latent_parameters', unetWeights: 'weights.pb', idsType: 'int32' },
  { precision: 'fp16', timestepType: 'float', timestepRank: 1, vaeOutput: 'latent_sample', unetWeights: 'model.onnx_data', idsType: 'int64' },
];

function request(seed: number, aar: boolean): BlendedRequest {
  const rng = new Rng(1);
  const normal: RgbImage = { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 3, data: Uint8Array.from({ length: IMAGE_SIZE * IMAGE_SIZE * 3 }, () => 80 + rng.int(60)) };
  const mask = new Uint8Array(IMAGE_SIZE * IMAGE_SIZE);
  for (let y = 20; y < 44; y++) for (let x = 16; x < 40; x++) mask[y * IMAGE_SIZE + x] = 255;
  return {
    normal,
    mask,
    conditioning: { injected: new Rng(2).normals(12 * TEXT_WIDTH) },
    seed,
    sampler: { sampler: 'ddim', steps: 4, eta: 1 },
    guidanceScale: 3,
    aar: { enabled: aar, clamp: [0, 10], dilationRadius: 1 },
  };
}

for (const variant of VARIANTS) {
  const label = `${variant.precision}, timestep ${variant.timestepType} ${variant.timestepRank === 1 ? '[B]' : 'scalar'}, ${variant.vaeOutput}, ${variant.unetWeights}, ${variant.idsType} ids`;
  test(`generateBlended runs end to end on a tiny SD folder (${label}), reproducibly, with and without AAR`, async () => {
    const dir = path.join(root, label.replace(/[^\w ]/g, '_'));
    await writeTinySd1Folder(dir, { ...BASE_VARIANT, ...variant });
    const model = await loadSd1Folder(dir, { imageSize: { width: IMAGE_SIZE, height: IMAGE_SIZE } });
    try {
      const calls: number[] = [];
      const withAar = await generateBlended(model, request(5, true), { onStep: (e) => calls.push(e.step) });
      const again = await generateBlended(model, request(5, true));
      const withoutAar = await generateBlended(model, request(5, false));
      assert.deepEqual(calls, [1, 2, 3, 4]);
      assert.deepEqual(again.image.data, withAar.image.data, 'same seed, same bits');
      assert.notDeepEqual(withoutAar.image.data, withAar.image.data, 'AAR changes the result');
      // outside the dilated, feathered mask the normal image is untouched
      const req = request(5, true);
      for (let p = 0; p < IMAGE_SIZE * IMAGE_SIZE; p++) {
        const [y, x] = [Math.floor(p / IMAGE_SIZE), p % IMAGE_SIZE];
        if (y < 10 || y >= 54 || x < 6 || x >= 50) for (let c = 0; c < 3; c++) assert.equal(withAar.image.data[p * 3 + c], req.normal.data[p * 3 + c]);
      }
      let changed = 0;
      for (let k = 0; k < withAar.image.data.length; k++) if (withAar.image.data[k] !== req.normal.data[k]) changed++;
      assert.ok(changed > 0, 'something was painted inside the mask');
      assert.equal(withAar.settings.modelHash, model.facts.contentHash);
    } finally {
      await model.release();
    }
  });
}
