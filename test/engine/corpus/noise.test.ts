import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/shared/random';
import { PerlinNoise, ValueNoise, WorleyNoise, fbm, noiseField, warpFields, worleyField } from '../../../src/engine/corpus/noise';

test('Perlin noise is zero at every lattice point and stays within [-1, 1]', () => {
  const p = new PerlinNoise(new Rng(1));
  for (let x = -5; x <= 5; x++) for (let y = -5; y <= 5; y++) assert.equal(p.at(x, y), 0);
  const rng = new Rng(2);
  let min = Infinity;
  let max = -Infinity;
  for (let k = 0; k < 20000; k++) {
    const v = p.at(rng.uniform() * 64, rng.uniform() * 64);
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.ok(min >= -1 && max <= 1, `range [${min}, ${max}]`);
  // it actually varies: a healthy share of the range is used
  assert.ok(max - min > 1, `range [${min}, ${max}] too narrow`);
});

test('Perlin noise is continuous and matches its analytic form at cell centres', () => {
  const p = new PerlinNoise(new Rng(3));
  const rng = new Rng(4);
  for (let k = 0; k < 500; k++) {
    const x = rng.uniform() * 30;
    const y = rng.uniform() * 30;
    // |grad| <= 4-ish for this noise: a 1e-4 step moves the value by far less than 1e-2
    assert.ok(Math.abs(p.at(x + 1e-4, y) - p.at(x, y)) < 1e-2);
  }
  // At a cell centre both fade weights are 1/2, so the value is sqrt(2) * (mean of the four corner
  // dot products). Each corner offset is (+-0.5, +-0.5) and each gradient an axis or diagonal
  // unit vector, so every dot product is one of {0, +-0.5, +-sqrt(1/2)}: the value must equal one
  // of the sums of four such numbers, times sqrt(2)/4.
  const parts = [0, 0.5, -0.5, Math.SQRT1_2, -Math.SQRT1_2];
  const sums = new Set<number>();
  for (const a of parts) for (const b of parts) for (const c of parts) for (const d of parts) sums.add(Math.round(((a + b + c + d) * Math.SQRT2) / 4 * 1e6));
  for (let k = 0; k < 40; k++) {
    const v = p.at(k + 0.5, 2 * k + 0.5);
    assert.ok(sums.has(Math.round(v * 1e6)), `value ${v} at a cell centre is no such sum`);
  }
});

test('value noise interpolates lattice values and fBm of one octave is the plain noise', () => {
  const v = new ValueNoise(new Rng(5));
  // between two lattice points along x (y integer) the quintic blend stays between them
  for (let x = 0; x < 10; x++) {
    const a = v.at(x, 2);
    const b = v.at(x + 1, 2);
    const mid = v.at(x + 0.5, 2);
    assert.ok(Math.abs(mid - (a + b) / 2) < 1e-6, 'fade(0.5) = 0.5: midpoint is the mean');
  }
  assert.equal(fbm(v, 1.3, 2.7, { octaves: 1 }), v.at(1.3, 2.7));
  const two = fbm(v, 1.3, 2.7, { octaves: 2 });
  const expected = (v.at(1.3, 2.7) + 0.5 * v.at(2.6 + 17.31, 5.4 + 9.73)) / 1.5;
  assert.ok(Math.abs(two - expected) < 1e-12);
});

test('noise fields are reproducible from the seed and differ between seeds', () => {
  const opts = { width: 32, height: 32, scale: 8, octaves: 3 };
  const a = noiseField(new PerlinNoise(new Rng(9)), opts);
  const b = noiseField(new PerlinNoise(new Rng(9)), opts);
  const c = noiseField(new PerlinNoise(new Rng(10)), opts);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const { dx, dy } = warpFields(new PerlinNoise(new Rng(1)), new PerlinNoise(new Rng(2)), { width: 16, height: 16, scale: 8, amount: 3, octaves: 2 });
  for (let i = 0; i < dx.length; i++) assert.ok(Math.abs(dx[i]!) <= 3 && Math.abs(dy[i]!) <= 3);
});

test('Worley noise with zero jitter equals the distance to the nearest cell centre (brute force)', () => {
  const w = new WorleyNoise(new Rng(11), 0);
  const s = { f1: 0, f2: 0, id: 0 };
  const rng = new Rng(12);
  for (let k = 0; k < 300; k++) {
    const x = rng.uniform() * 20 - 10;
    const y = rng.uniform() * 20 - 10;
    const ds: number[] = [];
    for (let i = -12; i <= 12; i++) for (let j = -12; j <= 12; j++) ds.push(Math.hypot(i + 0.5 - x, j + 0.5 - y));
    ds.sort((a, b) => a - b);
    w.sample(x, y, s);
    assert.ok(Math.abs(s.f1 - ds[0]!) < 1e-5, `f1 ${s.f1} vs ${ds[0]}`);
    assert.ok(Math.abs(s.f2 - ds[1]!) < 1e-5, `f2 ${s.f2} vs ${ds[1]}`);
  }
  const field = worleyField(new WorleyNoise(new Rng(13)), { width: 24, height: 24, cellSize: 6 });
  for (let i = 0; i < field.f1.length; i++) assert.ok(field.f1[i]! <= field.f2[i]!);
});
