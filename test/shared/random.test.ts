import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/shared/random';

test('the same seed gives the same sequence, another seed another one', () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const sa = Array.from({ length: 8 }, () => a.nextU32());
  assert.deepEqual(sa, Array.from({ length: 8 }, () => b.nextU32()));
  assert.notDeepEqual(sa, Array.from({ length: 8 }, () => c.nextU32()));
});

test('normals have mean 0 and variance 1 within sampling error', () => {
  const x = new Rng(7).normals(200000);
  let m = 0;
  for (const v of x) m += v;
  m /= x.length;
  let v2 = 0;
  for (const v of x) v2 += (v - m) ** 2;
  v2 /= x.length;
  // standard errors: mean 1/sqrt(n) = 0.0022, variance sqrt(2/n) = 0.0032
  assert.ok(Math.abs(m) < 0.01, `mean ${m}`);
  assert.ok(Math.abs(v2 - 1) < 0.015, `variance ${v2}`);
});

test('uniform integers cover their range evenly', () => {
  const rng = new Rng(1);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 100000; i++) counts[rng.int(10)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 500, `count ${c}`);
});
