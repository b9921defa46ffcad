import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/shared/random';
import { CORPUS_SIZE, NORMAL_FAMILIES, generateNormal } from '../../../src/engine/corpus';
import { lumaStats } from './stats';

test('there are at least 10 normal families, textures and objects', () => {
  assert.ok(NORMAL_FAMILIES.length >= 10);
  assert.ok(NORMAL_FAMILIES.some((f) => f.kind === 'object'));
  for (const f of NORMAL_FAMILIES) assert.ok(f.defects.length >= 3, `${f.name} has ${f.defects.length} defect families`);
});

for (const family of NORMAL_FAMILIES) {
  test(`${family.name}: deterministic, varied and with sensible statistics`, () => {
    const a = generateNormal(family.name, new Rng(42));
    const b = generateNormal(family.name, new Rng(42));
    const c = generateNormal(family.name, new Rng(43));
    assert.equal(a.image.width, CORPUS_SIZE);
    assert.equal(a.image.height, CORPUS_SIZE);
    assert.equal(a.image.channels, 3);
    assert.equal(a.image.data.length, CORPUS_SIZE * CORPUS_SIZE * 3);
    assert.deepEqual(a.image.data, b.image.data, 'same seed, same bytes');
    assert.notDeepEqual(a.image.data, c.image.data, 'different seed, different image');
    for (const seed of [1, 2, 3]) {
      const s = lumaStats(generateNormal(family.name, new Rng(seed)).image);
      assert.ok(s.mean > 15 && s.mean < 240, `${family.name} seed ${seed}: mean ${s.mean}`);
      assert.ok(s.std > 3 && s.std < 100, `${family.name} seed ${seed}: std ${s.std}`);
      assert.ok(s.saturated < 0.05, `${family.name} seed ${seed}: ${s.saturated} saturated`);
    }
    // per-image colour variation: the mean colours of different seeds differ
    const [ma, mc] = [a, c].map((s) => meanRgb(s.image.data));
    const gap = Math.abs(ma![0] - mc![0]) + Math.abs(ma![1] - mc![1]) + Math.abs(ma![2] - mc![2]);
    assert.ok(gap > 1.5, `${family.name}: two seeds give the same mean colour (gap ${gap})`);
  });
}

for (const family of NORMAL_FAMILIES.filter((f) => f.kind === 'object')) {
  test(`${family.name}: the foreground mask covers the object and the background is the scene without it`, () => {
    for (const seed of [5, 6]) {
      const s = generateNormal(family.name, new Rng(seed));
      assert.ok(s.foreground && s.background, 'object families return foreground and background');
      const fg = s.foreground;
      let area = 0;
      for (const v of fg) {
        assert.ok(v === 0 || v === 255);
        if (v) area++;
      }
      const frac = area / fg.length;
      assert.ok(frac > 0.05 && frac < 0.8, `${family.name}: foreground ${frac}`);
      // away from the outline (no foreground pixel within 2 px), the background image equals the scene
      let outside = 0;
      let equal = 0;
      const W = s.image.width;
      for (let y = 2; y < W - 2; y++) {
        for (let x = 2; x < W - 2; x++) {
          let near = false;
          for (let dy = -2; dy <= 2 && !near; dy++) for (let dx = -2; dx <= 2 && !near; dx++) near = fg[(y + dy) * W + x + dx] !== 0;
          if (near) continue;
          outside++;
          const k = (y * W + x) * 3;
          if (s.image.data[k] === s.background.data[k] && s.image.data[k + 1] === s.background.data[k + 1] && s.image.data[k + 2] === s.background.data[k + 2]) equal++;
        }
      }
      assert.ok(outside > 0 && equal / outside > 0.97, `${family.name}: background matches ${equal}/${outside}`);
      // the object differs from what is behind it
      const inObj = lumaStats(s.image, fg);
      const behind = lumaStats(s.background, fg);
      assert.ok(Math.abs(inObj.mean - behind.mean) > 5 || Math.abs(inObj.std - behind.std) > 5, `${family.name}: object indistinguishable from background`);
    }
  });
}

function meanRgb(d: Uint8Array): [number, number, number] {
  const m: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < d.length; i++) m[i % 3] += d[i]!;
  const n = d.length / 3;
  return [m[0] / n, m[1] / n, m[2] / n];
}
