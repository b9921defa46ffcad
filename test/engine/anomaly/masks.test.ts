import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/shared/random';
import { maskArea, maskRejection, thresholdMaskImage } from '../../../src/engine/anomaly/mask-rules';
import { intersectMasks, otsuForeground, otsuThreshold } from '../../../src/engine/anomaly/foreground';
import { perlinMaskSource, storedMaskSource, withForeground, DEFAULT_REAL_MASK, type MaskSource, type StoredMask } from '../../../src/engine/anomaly/mask-sources';
import { isUserError } from '../../../src/shared/errors';

function rect(W: number, H: number, x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * W + x] = 255;
  return m;
}

test('the mask image is thresholded on the channel mean at > 0.8', () => {
  // planar [3, 1, 3]: pixel 0 channels (1, 1, 0.5) mean 0.833 -> defect; pixel 1 (1, 1, 0.3)
  // mean 0.767 -> not, though two channels are above 0.8; pixel 2 all -1 -> not
  const img = new Float32Array([1, 1, -1, 1, 1, -1, 0.5, 0.3, -1]);
  assert.deepEqual(Array.from(thresholdMaskImage(img, 3, 1)), [255, 0, 0]);
  assert.deepEqual(Array.from(thresholdMaskImage(img, 3, 1, 0.7)), [255, 255, 0]);
});

test('rejection: empty masks, and masks over a third of a border row or column', () => {
  const W = 12;
  const H = 9;
  assert.equal(maskRejection(new Uint8Array(W * H), W, H), 'empty');
  assert.equal(maskRejection(rect(W, H, 3, 3, 6, 6), W, H), null);
  // top row: 4 of 12 = exactly one third: kept; 5 of 12: rejected
  assert.equal(maskRejection(rect(W, H, 0, 0, 4, 2), W, H), null);
  assert.equal(maskRejection(rect(W, H, 0, 0, 5, 2), W, H), 'border');
  // right column: 3 of 9 kept, 4 of 9 rejected
  assert.equal(maskRejection(rect(W, H, W - 1, 2, W, 5), W, H), null);
  assert.equal(maskRejection(rect(W, H, W - 1, 2, W, 6), W, H), 'border');
  // bottom row
  assert.equal(maskRejection(rect(W, H, 2, H - 1, 9, H), W, H), 'border');
});

test('Perlin masks are a function of the seed, differ between seeds and are never empty', async () => {
  const source = perlinMaskSource();
  const a = await source.next({ width: 48, height: 40, seed: 7 });
  const b = await source.next({ width: 48, height: 40, seed: 7 });
  const c = await source.next({ width: 48, height: 40, seed: 8 });
  assert.deepEqual(a.data, b.data);
  assert.deepEqual(a.origin, b.origin);
  assert.notDeepEqual(a.data, c.data);
  for (let seed = 0; seed < 20; seed++) {
    const m = await source.next({ width: 32, height: 32, seed });
    assert.ok(maskArea(m.data) > 0);
    assert.ok(m.data.every((v) => v === 0 || v === 255));
  }
});

test('real masks: resized, flipped, scaled within 0.75..1.25 and shifted; deterministic from the seed', async () => {
  const W = 80;
  const H = 60;
  const masks: StoredMask[] = [{ id: 3, width: W, height: H, data: rect(W, H, 10, 10, 30, 20) }];
  const source = storedMaskSource('real', masks, DEFAULT_REAL_MASK);
  // resized to 40x30: a 10x5 rectangle of 50 px
  for (let seed = 0; seed < 20; seed++) {
    const m = await source.next({ width: 40, height: 30, seed });
    const again = await source.next({ width: 40, height: 30, seed });
    assert.deepEqual(m.data, again.data);
    const s = m.origin['scale'] as number;
    assert.ok(s >= 0.75 && s <= 1.25);
    const area = maskArea(m.data);
    // nearest sampling of a scaled rectangle: area within a pixel row/column of 50 s^2
    assert.ok(Math.abs(area - 50 * s * s) <= 2 * (10 + 5) * s + 2, `seed ${seed}: area ${area}, scale ${s}`);
    assert.equal(m.origin['maskId'], 3);
  }
  // drawn masks pass through unchanged when the size matches
  const drawn = storedMaskSource('drawn', masks, { flips: false, scale: [1, 1], shift: false });
  const d = await drawn.next({ width: W, height: H, seed: 1 });
  assert.deepEqual(d.data, masks[0]!.data);
  assert.throws(() => storedMaskSource('drawn', [], DEFAULT_REAL_MASK), (e) => isUserError(e) && /no drawn masks/.test(e.message));
});

test('Otsu separates a bright object from a dark background, and "auto" picks the object', () => {
  const W = 40;
  const H = 30;
  const data = new Uint8Array(W * H);
  const rng = new Rng(1);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const inside = (x - 20) ** 2 + (y - 15) ** 2 < 100;
    data[y * W + x] = (inside ? 180 : 40) + rng.int(20);
  }
  const t = otsuThreshold(data);
  assert.ok(t >= 59 && t < 180, `threshold ${t}`);
  const fg = otsuForeground({ width: W, height: H, channels: 1, data });
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) assert.equal(fg[y * W + x], (x - 20) ** 2 + (y - 15) ** 2 < 100 ? 255 : 0);
  // a dark object on a bright background is found too
  const inverted = otsuForeground({ width: W, height: H, channels: 1, data: Uint8Array.from(data, (v) => 255 - v) });
  assert.deepEqual(inverted, fg);
  assert.deepEqual(Array.from(intersectMasks([1, 0, 1], [1, 1, 0])), [255, 0, 0]);
});

test('the foreground constraint keeps every mask pixel on the foreground, redrawing as needed', async () => {
  const W = 48;
  const H = 48;
  const foreground = rect(W, H, 8, 8, 40, 40);
  const constrained = withForeground(perlinMaskSource(), { minKept: 0.5, maxAttempts: 50 });
  for (let seed = 0; seed < 10; seed++) {
    const m = await constrained.next({ width: W, height: H, seed, foreground });
    assert.ok(maskArea(m.data) > 0);
    for (let k = 0; k < W * H; k++) if (m.data[k]) assert.equal(foreground[k], 255, `seed ${seed}: pixel ${k} off the foreground`);
    const kept = (m.origin['foreground'] as { kept: number }).kept;
    assert.ok(kept >= 0.5);
    assert.deepEqual((await constrained.next({ width: W, height: H, seed, foreground })).data, m.data);
  }
  // a source that only paints the left edge never fits a right-hand foreground: a clear error
  const leftEdge: MaskSource = { kind: 'drawn', next: async (r) => ({ width: r.width, height: r.height, data: rect(r.width, r.height, 0, 10, 5, 20), origin: { kind: 'drawn', seed: r.seed } }) };
  await assert.rejects(
    withForeground(leftEdge, { minKept: 0.5, maxAttempts: 3 }).next({ width: W, height: H, seed: 1, foreground: rect(W, H, 30, 0, 48, 48) }),
    (e) => isUserError(e) && e.code === 'MASK_FOREGROUND',
  );
  // without a foreground the source's masks pass unchanged
  const plain = await withForeground(perlinMaskSource()).next({ width: W, height: H, seed: 3 });
  assert.deepEqual(plain.data, (await perlinMaskSource().next({ width: W, height: H, seed: 3 })).data);
});
