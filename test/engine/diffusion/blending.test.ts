import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/shared/random';
import { aarDilationAt, aarWeights } from '../../../src/engine/diffusion/aar';
import { blendLatents, dilateGrid, maskToLatent } from '../../../src/engine/diffusion/latent-mask';
import { pasteBack, pasteBackAlpha, squaredDistanceToMask } from '../../../src/engine/diffusion/paste-back';

test('AAR weights follow the formula: |m|_1 softmax(1/d) over the mask, 1 outside', () => {
  // 4 cells, 1 channel; mask on cells 1 and 2; d1 = 0.25 (1/d = 4), d2 = 1 (1/d = 1)
  const y = new Float32Array([0, 0, 0, 0]);
  const x0 = new Float32Array([9, 0.5, 1, 9]);
  const mask = new Float32Array([0, 1, 1, 0]);
  const w = aarWeights(y, x0, mask, [-Infinity, Infinity]);
  const e4 = Math.exp(4), e1 = Math.exp(1);
  assert.equal(w[0], 1);
  assert.equal(w[3], 1);
  assert.ok(Math.abs(w[1]! - (2 * e4) / (e4 + e1)) < 1e-6);
  assert.ok(Math.abs(w[2]! - (2 * e1) / (e4 + e1)) < 1e-6);
  // unclamped weights average to 1 over the mask
  assert.ok(Math.abs((w[1]! + w[2]!) / 2 - 1) < 1e-6);
  // clamped to [1, 1.5] as the public code
  const c = aarWeights(y, x0, mask, [1, 1.5]);
  assert.deepEqual(Array.from(c), [1, 1.5, 1, 1]);
});

test('AAR averages the squared difference over channels and survives d = 0', () => {
  const cells = 2;
  const y = new Float32Array([0, 0, 0, 0]); // 2 channels x 2 cells
  const x0 = new Float32Array([0, 1, 0, 1]); // cell 0 identical to y, cell 1 differs
  const w = aarWeights(y, x0, new Float32Array(cells).fill(1), [0, 10]);
  assert.ok(w[0]! > 1.99 && w[1]! < 0.01, `weights ${Array.from(w)}`);
  assert.ok(Number.isFinite(w[0]!));
});

test('AAR dilation shrinks linearly from the first to the last step', () => {
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => aarDilationAt(i, 5, 4)), [4, 3, 2, 1, 0]);
  assert.equal(aarDilationAt(0, 1, 4), 0);
});

test('latent masks: any-pixel for generation, majority for the training loss', () => {
  // 16x16 pixels -> 2x2 cells; a 3x3 blob in the first cell, the whole last cell
  const mask = new Uint8Array(256);
  for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) mask[y * 16 + x] = 255;
  for (let y = 8; y < 16; y++) for (let x = 8; x < 16; x++) mask[y * 16 + x] = 1;
  const grid = { width: 2, height: 2 };
  assert.deepEqual(Array.from(maskToLatent(mask, { width: 16, height: 16 }, grid, 'any')), [1, 0, 0, 1]);
  assert.deepEqual(Array.from(maskToLatent(mask, { width: 16, height: 16 }, grid, 'majority')), [0, 0, 0, 1]);
  assert.throws(() => maskToLatent(mask, { width: 8, height: 8 }, grid, 'any'), /256 values for 8x8/);
});

test('grid dilation and latent blending', () => {
  const m = new Float32Array(25);
  m[12] = 1; // centre of 5x5
  const d = dilateGrid(m, { width: 5, height: 5 }, 1);
  assert.equal(d.reduce((a, b) => a + b, 0), 9);
  const inside = new Float32Array(50).fill(2);
  const outside = new Float32Array(50).fill(-1);
  const b = blendLatents(inside, outside, m);
  assert.equal(b[12], 2);
  assert.equal(b[25 + 12], 2);
  assert.equal(b[0], -1);
});

test('the distance transform equals brute force', () => {
  const rng = new Rng(5);
  const w = 17, h = 11;
  const mask = Array.from({ length: w * h }, () => (rng.uniform() < 0.05 ? 1 : 0));
  const dt = squaredDistanceToMask(mask, w, h);
  for (let p = 0; p < w * h; p++) {
    let best = Infinity;
    for (let q = 0; q < w * h; q++) if (mask[q]) best = Math.min(best, ((p % w) - (q % w)) ** 2 + (Math.floor(p / w) - Math.floor(q / w)) ** 2);
    assert.equal(dt[p], best, `pixel ${p}`);
  }
});

test('paste-back keeps the background bit-exact beyond the feathered seam', () => {
  const w = 32, h = 32, ch = 3;
  const rng = new Rng(9);
  const original = Uint8Array.from({ length: w * h * ch }, () => rng.int(256));
  const generated = Uint8Array.from({ length: w * h * ch }, () => rng.int(256));
  const mask = new Uint8Array(w * h);
  for (let y = 10; y < 14; y++) for (let x = 10; x < 16; x++) mask[y * w + x] = 255;
  const settings = { dilate: 2, feather: 3 };
  const out = pasteBack(original, generated, mask, { width: w, height: h, channels: ch }, settings);
  const alpha = pasteBackAlpha(mask, w, h, settings);
  const dist2 = squaredDistanceToMask(mask, w, h);
  let seam = 0;
  for (let p = 0; p < w * h; p++) {
    const dist = Math.sqrt(dist2[p]!);
    for (let c = 0; c < ch; c++) {
      const k = p * ch + c;
      if (dist >= 5) assert.equal(out[k], original[k], `background pixel ${p} changed`);
      if (dist <= 2) assert.equal(out[k], generated[k], `masked pixel ${p} not generated`);
    }
    if (alpha[p]! > 0 && alpha[p]! < 1) seam++;
  }
  assert.ok(seam > 0, 'the seam is feathered');
});
