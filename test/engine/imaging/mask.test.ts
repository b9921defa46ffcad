import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binariseMask, MASK_THRESHOLD } from '../../../src/engine/imaging/mask';

test('gray masks threshold at 128 and count pixels that were neither 0 nor 255', () => {
  const data = Uint8Array.from([0, 255, 127, 128, 1, 254, 0, 255]);
  const r = binariseMask({ width: 4, height: 2, channels: 1, data });
  assert.equal(MASK_THRESHOLD, 128);
  assert.deepEqual(Array.from(r.mask.data), [0, 255, 0, 255, 0, 255, 0, 255]);
  assert.equal(r.areaPx, 4);
  assert.equal(r.nonBinaryPx, 4); // 127, 128, 1, 254
  assert.equal(r.mask.channels, 1);
});

test('colour masks use the brightest channel, so coloured annotations count', () => {
  // red, black, dark green, white
  const data = Uint8Array.from([255, 0, 0, 0, 0, 0, 0, 100, 0, 255, 255, 255]);
  const r = binariseMask({ width: 2, height: 2, channels: 3, data });
  assert.deepEqual(Array.from(r.mask.data), [255, 0, 0, 255]);
  assert.equal(r.areaPx, 2);
  assert.equal(r.nonBinaryPx, 1);
});

test('an already binary mask is unchanged and reports nothing', () => {
  const data = Uint8Array.from({ length: 100 }, (_, i) => (i % 7 === 0 ? 255 : 0));
  const r = binariseMask({ width: 10, height: 10, channels: 1, data });
  assert.deepEqual(r.mask.data, data);
  assert.equal(r.nonBinaryPx, 0);
  assert.equal(r.areaPx, 15);
});
