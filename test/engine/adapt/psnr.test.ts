import { test } from 'node:test';
import assert from 'node:assert/strict';
import { psnr } from '../../../src/engine/adapt/psnr';

test('psnr on [-1, 1] tensors matches hand-computed values on the [0, 1] scale', () => {
  // a constant error of 0.2 on [-1, 1] is 0.1 on [0, 1]: MSE 0.01 -> 20 dB
  const ref = Float32Array.from([0, 0.5, -0.5, 1]);
  assert.ok(Math.abs(psnr(ref, ref.map((v) => v + 0.2)) - 20) < 1e-5);
  // one pixel of four off by the full range (2 on [-1, 1], 1 on [0, 1]): MSE 1/4 -> 10 log10(4) dB
  assert.ok(Math.abs(psnr(Float32Array.from([-1, 0, 0, 0]), Float32Array.from([1, 0, 0, 0])) - 6.0206) < 1e-4);
  assert.equal(psnr(ref, ref), Infinity);
  assert.throws(() => psnr(ref, new Float32Array(3)), /psnr/);
});
