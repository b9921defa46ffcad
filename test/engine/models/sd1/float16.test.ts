import { test } from 'node:test';
import assert from 'node:assert/strict';
import { float32ToHalf, fromHalfBits, halfToFloat32, toHalfBits } from '../../../../src/engine/models/sd1/float16';

test('float32 -> float16 matches known bit patterns, rounding to nearest even', () => {
  // values from the IEEE 754 binary16 tables
  const cases: [number, number][] = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
    [0.1, 0x2e66], [1 / 3, 0x3555], [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -25, 0x0000],
    [1.5 * 2 ** -25, 0x0001], [65520, 0x7c00], [1e6, 0x7c00], [-Infinity, 0xfc00],
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1.0)
    [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02],
  ];
  for (const [value, bits] of cases) assert.equal(toHalfBits(value), bits, `toHalfBits(${value})`);
  assert.equal(toHalfBits(NaN) & 0x7c00, 0x7c00);
  assert.ok(Number.isNaN(fromHalfBits(0x7e00)));
});

test('every finite float16 survives a round trip through float32 exactly', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i).filter((b) => (b & 0x7c00) !== 0x7c00);
  const widened = halfToFloat32(all);
  assert.equal(fromHalfBits(0x3555), 0.333251953125);
  assert.deepEqual(float32ToHalf(widened), all);
});
