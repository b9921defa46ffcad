import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/shared/random';
import { augmentPair, DEFAULT_AUGMENT, NO_AUGMENT, resizeMask, resizeRgb } from '../../../src/engine/anomaly/augment';
import type { RawImage } from '../../../src/engine/imaging';

function gradientImage(W: number, H: number): RawImage {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.set([x * 3, y * 3, (x + y) % 256], (y * W + x) * 3);
  return { width: W, height: H, channels: 3, data };
}

function rectMask(W: number, H: number, x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * W + x] = 255;
  return m;
}

const area = (m: Uint8Array): number => m.reduce((a, v) => a + (v > 0 ? 1 : 0), 0);

test('no augmentation at the same size returns the pair unchanged', () => {
  const img = gradientImage(40, 30);
  const mask = rectMask(40, 30, 5, 6, 12, 20);
  const out = augmentPair(img, mask, { width: 40, height: 30 }, new Rng(1), NO_AUGMENT);
  assert.deepEqual(out.image.data, img.data);
  assert.deepEqual(out.mask, mask);
});

test('a horizontal flip mirrors image and mask exactly', () => {
  const img = gradientImage(20, 10);
  const mask = rectMask(20, 10, 2, 1, 5, 4);
  // find a seed whose draw is flipX only (flips drawn first; no rotation, no crop freedom)
  for (let seed = 0; seed < 100; seed++) {
    const out = augmentPair(img, mask, { width: 20, height: 10 }, new Rng(seed), { flips: true, maxRotationDeg: 0, minCropFraction: 1 });
    if (!out.transform.flipX || out.transform.flipY) continue;
    for (let y = 0; y < 10; y++) {
      for (let x = 0; x < 20; x++) {
        assert.equal(out.mask[y * 20 + x], mask[y * 20 + (19 - x)]);
        for (let c = 0; c < 3; c++) assert.equal(out.image.data[(y * 20 + x) * 3 + c], img.data[(y * 20 + 19 - x) * 3 + c]);
      }
    }
    return;
  }
  assert.fail('no seed drew a horizontal flip alone');
});

test('crops and rotations keep the whole mask: its area scales with the crop (rotations keep area)', () => {
  const W = 120;
  const H = 90;
  const img = gradientImage(W, H);
  const mask = rectMask(W, H, 40, 30, 70, 55); // 750 px
  for (let seed = 0; seed < 25; seed++) {
    const out = augmentPair(img, mask, { width: 64, height: 64 }, new Rng(seed), DEFAULT_AUGMENT);
    const { crop, rotationDeg } = out.transform;
    assert.ok(Math.abs(rotationDeg) <= 20);
    const expected = 750 * (64 / crop.width) * (64 / crop.height);
    const got = area(out.mask);
    // a kept mask loses at most its resampled boundary; a cut-off mask would lose much more
    assert.ok(Math.abs(got - expected) <= 0.15 * expected + 8, `seed ${seed}: area ${got}, expected ${expected.toFixed(1)} (crop ${JSON.stringify(crop)})`);
    // the crop lies inside the canvas and has the output's aspect
    assert.ok(crop.x >= -1e-9 && crop.y >= -1e-9 && crop.x + crop.width <= W + 1e-9 && crop.y + crop.height <= H + 1e-9);
    assert.ok(Math.abs(crop.width / crop.height - 1) < 1e-9);
  }
});

test('augmentation is a function of the seed', () => {
  const img = gradientImage(50, 50);
  const mask = rectMask(50, 50, 10, 10, 20, 30);
  const a = augmentPair(img, mask, { width: 32, height: 32 }, new Rng(42), DEFAULT_AUGMENT);
  const b = augmentPair(img, mask, { width: 32, height: 32 }, new Rng(42), DEFAULT_AUGMENT);
  const c = augmentPair(img, mask, { width: 32, height: 32 }, new Rng(43), DEFAULT_AUGMENT);
  assert.deepEqual(a.image.data, b.image.data);
  assert.deepEqual(a.mask, b.mask);
  assert.notDeepEqual(a.transform, c.transform);
});

test('a defect thinner than an output pixel survives downscaling', () => {
  const img = gradientImage(256, 256);
  const mask = new Uint8Array(256 * 256);
  mask[100 * 256 + 100] = 255; // one pixel
  const out = augmentPair(img, mask, { width: 16, height: 16 }, new Rng(1), NO_AUGMENT);
  assert.equal(area(out.mask), 1);
});

test('resizing: grey images become RGB; masks by majority coverage', () => {
  const grey: RawImage = { width: 4, height: 2, channels: 1, data: new Uint8Array([0, 0, 200, 200, 0, 0, 200, 200]) };
  const rgb = resizeRgb(grey, { width: 2, height: 1 });
  assert.deepEqual(Array.from(rgb.data), [0, 0, 0, 200, 200, 200]);
  const m = resizeMask(rectMask(4, 4, 0, 0, 2, 4), { width: 4, height: 4 }, { width: 2, height: 2 });
  assert.deepEqual(Array.from(m), [255, 0, 255, 0]);
});
