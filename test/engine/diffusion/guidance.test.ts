import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guide } from '../../../src/engine/diffusion/guidance';

const close = (got: ArrayLike<number>, want: number[], what: string): void =>
  want.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) < 1e-6, `${what}[${i}]: ${got[i]} vs ${w}`));

test('classifier-free guidance: u + w (c - u), and rescale = 0 changes nothing', () => {
  const u = Float32Array.of(0, 1, -1, 2);
  const c = Float32Array.of(1, 1, 0, 0);
  close(guide(u, c, 3), [3, 1, 2, -4], 'w = 3');
  assert.deepEqual(guide(u, c, 3, 0), guide(u, c, 3));
  close(guide(u, c, 1), [1, 1, 0, 0], 'w = 1 is the conditional');
});

test('guidance rescale (Lin et al. 2024): the guided spread pulled towards the conditional one by phi', () => {
  // u = 0, c = [1, -1, 1, -1] (std 1): at w = 3 guided = [3, -3, 3, -3] (std 3), rescaled = c;
  // phi = 0.7 gives 0.7 c + 0.3 guided = [1.6, -1.6, ...]
  const u = new Float32Array(4);
  const c = Float32Array.of(1, -1, 1, -1);
  close(guide(u, c, 3, 1), [1, -1, 1, -1], 'phi = 1');
  close(guide(u, c, 3, 0.7), [1.6, -1.6, 1.6, -1.6], 'phi = 0.7');
  // the spread ratio, not the values: a shifted conditional (std 1, mean 5)
  const shifted = Float32Array.of(6, 4, 6, 4);
  const guided = guide(u, shifted, 2); // [12, 8, 12, 8], std 2
  close(guide(u, shifted, 2, 1), Array.from(guided, (v) => v / 2), 'scaled by std(c) / std(guided)');
  assert.throws(() => guide(u, c, 3, 1.5), /guidance rescale must be in \[0, 1\], got 1.5/);
  assert.throws(() => guide(u, Float32Array.of(1), 3), /4 unconditional values, 1 conditional/);
});
