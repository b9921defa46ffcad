import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeTempDir } from '../../fixtures/temp-dir';
import { TINY, writeTinyPackage } from '../../fixtures/builtin/tiny-package';
import { loadBuiltinModel, type BuiltinModel } from '../../../src/engine/models/builtin/load';
import { generateBlended, generateBlendedBatch, type BlendedRequest } from '../../../src/engine/diffusion/blended';
import { Rng } from '../../../src/shared/random';

// Batching runs several images through one UNet evaluation per step. Each item keeps its own seed
// stream, so on a batch-invariant model (ORT CPU here) every item equals generating it alone.

const tmp = makeTempDir('blended-batch');
let model: BuiltinModel;

before(async () => {
  const dir = join(tmp.dir, 'tiny');
  await writeTinyPackage(dir, 7);
  model = await loadBuiltinModel(dir);
});
after(async () => {
  await model.release();
  tmp.cleanup();
});

function request(seed: number, aar: boolean, defect: string): BlendedRequest {
  const rng = new Rng(seed * 31 + 1);
  const size = TINY.image;
  const normal = { width: size, height: size, channels: 3 as const, data: Uint8Array.from({ length: size * size * 3 }, () => 90 + rng.int(60)) };
  const mask = new Uint8Array(size * size);
  const x0 = 8 + rng.int(30), y0 = 8 + rng.int(30);
  for (let y = y0; y < y0 + 16; y++) for (let x = x0; x < x0 + 12; x++) mask[y * size + x] = 255;
  return {
    normal,
    mask,
    conditioning: { prompt: 'wood', defect },
    seed,
    sampler: { sampler: 'ddim', steps: 6, eta: 1 },
    guidanceScale: 2.5,
    aar: { enabled: aar, clamp: [1, 1.5], dilationRadius: 1 },
  };
}

test('a batch of three (mixed AAR, different defects and seeds) equals three single runs, bit for bit', async () => {
  const requests = [request(1, true, 'scratch'), request(2, false, 'hole'), request(3, true, 'hole')];
  const batch = await generateBlendedBatch(model, requests);
  for (const [k, r] of requests.entries()) {
    const single = await generateBlended(model, r);
    assert.deepEqual(batch[k]!.image.data, single.image.data, `item ${k}`);
    assert.deepEqual(batch[k]!.mask, single.mask);
    assert.equal(batch[k]!.settings.seed, r.seed);
  }
  assert.notDeepEqual(batch[0]!.image.data, batch[2]!.image.data);
});

test('a batch refuses items that cannot step together', async () => {
  const a = request(1, true, 'scratch');
  const b = { ...request(2, true, 'scratch'), sampler: { sampler: 'ddim' as const, steps: 7, eta: 1 } };
  await assert.rejects(generateBlendedBatch(model, [a, b]), /item 1: a batch must share sampler settings/);
  await assert.rejects(generateBlendedBatch(model, [a, { ...request(2, true, 'scratch'), guidanceRescale: 0.7 }]), /item 1: a batch must share .*rescale/);
  assert.deepEqual(await generateBlendedBatch(model, []), []);
});
