import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/shared/random';
import { isUserError } from '../../../src/shared/errors';
import { DEFECT_FAMILIES, NORMAL_FAMILIES, VISIBLE_LEVEL, applyDefect, generateNormal } from '../../../src/engine/corpus';
import type { DefectResult, NormalSample } from '../../../src/engine/corpus';
import { lumaStats } from './stats';

/** Checks the mask contract; returns the mean absolute change inside the mask. */
function checkMaskContract(label: string, normal: NormalSample, r: DefectResult, range: readonly [number, number]): number {
  const src = normal.image.data;
  const out = r.image.data;
  const n = normal.image.width * normal.image.height;
  assert.equal(r.mask.length, n);
  assert.equal(out.length, src.length);
  let area = 0;
  let diffSum = 0;
  for (let i = 0; i < n; i++) {
    const m = r.mask[i]!;
    assert.ok(m === 0 || m === 255, `${label}: mask value ${m}`);
    const k = i * 3;
    const d = Math.max(Math.abs(out[k]! - src[k]!), Math.abs(out[k + 1]! - src[k + 1]!), Math.abs(out[k + 2]! - src[k + 2]!));
    if (m === 0) {
      // bit-for-bit unchanged outside the mask
      if (d !== 0) assert.fail(`${label}: pixel ${i} changed outside the mask`);
    } else {
      area++;
      assert.ok(d >= VISIBLE_LEVEL, `${label}: pixel ${i} in the mask is not visibly changed`);
      diffSum += (Math.abs(out[k]! - src[k]!) + Math.abs(out[k + 1]! - src[k + 1]!) + Math.abs(out[k + 2]! - src[k + 2]!)) / 3;
      if (normal.foreground) assert.equal(normal.foreground[i], 255, `${label}: defect pixel ${i} outside the object`);
    }
  }
  assert.ok(area > 0, `${label}: empty mask`);
  assert.ok(Math.abs(r.area - area / n) < 1e-12, `${label}: reported area ${r.area} vs ${area / n}`);
  assert.ok(area >= range[0] * n && area <= range[1] * n, `${label}: area ${area / n} outside [${range[0]}, ${range[1]}]`);
  const mad = diffSum / area;
  assert.ok(mad > 8, `${label}: mean absolute change inside the mask only ${mad}`);
  return mad;
}

test('there are at least 10 defect families and each suits some normal family', () => {
  assert.ok(DEFECT_FAMILIES.length >= 10);
  for (const d of DEFECT_FAMILIES) assert.ok(d.suits.length > 0, `${d.name} suits nothing`);
  // both lists agree
  for (const f of NORMAL_FAMILIES) for (const d of f.defects) assert.ok(DEFECT_FAMILIES.find((x) => x.name === d)!.suits.includes(f.name));
});

for (const family of NORMAL_FAMILIES) {
  test(`${family.name}: every suitable defect keeps the mask contract`, () => {
    family.defects.forEach((defect, k) => {
      const normal = generateNormal(family.name, new Rng(500 + k));
      const range = DEFECT_FAMILIES.find((d) => d.name === defect)!.defaultArea;
      const r = applyDefect(defect, normal, new Rng(900 + k));
      checkMaskContract(`${family.name}/${defect}`, normal, r, range);
    });
  });
}

for (const defect of DEFECT_FAMILIES) {
  test(`${defect.name}: small and large requested areas are honoured; output is reproducible`, () => {
    const host = defect.suits[0]!;
    const normal = generateNormal(host, new Rng(7));
    const [lo, hi] = defect.defaultArea;
    const small: [number, number] = [lo, lo * 3];
    const large: [number, number] = [hi / 3, hi];
    for (const range of [small, large]) {
      const r = applyDefect(defect.name, normal, new Rng(11), { areaRange: range });
      checkMaskContract(`${host}/${defect.name} ${range}`, normal, r, range);
    }
    const a = applyDefect(defect.name, normal, new Rng(3));
    const b = applyDefect(defect.name, normal, new Rng(3));
    const c = applyDefect(defect.name, normal, new Rng(4));
    assert.deepEqual(a.image.data, b.image.data);
    assert.deepEqual(a.mask, b.mask);
    assert.notDeepEqual(a.mask, c.mask, 'a different seed places a different defect');
  });
}

test('defect areas span from under 1% to 30% of the image', () => {
  const fabric = generateNormal('concrete', new Rng(1));
  const tiny = applyDefect('color_spot', fabric, new Rng(2), { areaRange: [0.001, 0.004] });
  const huge = applyDefect('stain', fabric, new Rng(2), { areaRange: [0.25, 0.3] });
  assert.ok(tiny.area < 0.01 && huge.area >= 0.25 && huge.area <= 0.3, `${tiny.area} / ${huge.area}`);
});

test('scratches follow the material: bright on brushed metal, dark on wood', () => {
  for (const [family, sign] of [['brushed_metal', 1], ['wood', -1]] as const) {
    const normal = generateNormal(family, new Rng(21));
    const r = applyDefect('scratch', normal, new Rng(22));
    const before = lumaStats(normal.image, r.mask).mean;
    const after = lumaStats(r.image, r.mask).mean;
    assert.ok(sign * (after - before) > 10, `${family}: luma ${before} -> ${after}`);
  }
});

test('a cut on an object shows the background inside the bite', () => {
  const normal = generateNormal('capsule', new Rng(31));
  const r = applyDefect('cut', normal, new Rng(32), { areaRange: [0.01, 0.03] });
  let same = 0;
  let n = 0;
  for (let i = 0; i < r.mask.length; i++) {
    if (!r.mask[i]) continue;
    n++;
    const k = i * 3;
    if (r.image.data[k] === normal.background!.data[k] && r.image.data[k + 1] === normal.background!.data[k + 1] && r.image.data[k + 2] === normal.background!.data[k + 2]) same++;
  }
  // most of the mask is background; the rest is the darkened cut face
  assert.ok(same / n > 0.5, `${same}/${n} mask pixels show the background`);
});

test('bad requests fail with clear user errors', () => {
  const normal = generateNormal('screw_head', new Rng(1));
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      assert.ok(isUserError(e), String(e));
      return e.code;
    }
    assert.fail('no error');
  };
  assert.equal(code(() => applyDefect('rust', normal, new Rng(1))), 'corpus-unknown-defect');
  assert.equal(code(() => applyDefect('stain', normal, new Rng(1), { areaRange: [0.2, 0.1] })), 'corpus-bad-area');
  assert.equal(code(() => applyDefect('stain', normal, new Rng(1), { areaRange: [0.9, 1] })), 'corpus-bad-area');
  assert.equal(code(() => generateNormal('marble', new Rng(1))), 'corpus-unknown-family');
  assert.equal(code(() => applyDefect('stain', { ...normal, foreground: new Uint8Array(10) }, new Rng(1))), 'corpus-bad-foreground');
});

test('images without a family or foreground (e.g. loaded from disk) take defects too', () => {
  const { image } = generateNormal('tile', new Rng(8));
  const r = applyDefect('crack', { image }, new Rng(9));
  checkMaskContract('plain/crack', { family: 'plain', image }, r, DEFECT_FAMILIES.find((d) => d.name === 'crack')!.defaultArea);
});
