// The quality measures of issue 5 on hand-computed inputs: the inside/outside change ratio, the
// card section replacement, the picture grid and the held-out samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapRatioInterval, measureChange, outsideDistance, summariseChange } from '../../../src/engine/models/tiny-ldm/quality/change-ratio';
import { QUALITY_BEGIN, QUALITY_END, renderQualitySection, replaceQualitySection } from '../../../src/engine/models/tiny-ldm/quality/card';
import { composeGrid, GRID_COLUMNS } from '../../../src/engine/models/tiny-ldm/quality/grid';
import { qualitySample } from '../../../src/engine/models/tiny-ldm/quality/samples';
import type { QualityReport } from '../../../src/engine/models/tiny-ldm/quality/report';
import { corpusSample } from '../../../src/engine/models/tiny-ldm/train/data';
import { isUserError } from '../../../src/shared/errors';

const W = 8;
const at = (x: number, y: number): number => y * W + x;

test('inside/outside change: one mask pixel, a 2 px seam left out, hand-computed means', () => {
  const original = new Uint8Array(W * W * 3).fill(100);
  const generated = original.slice();
  const mask = new Uint8Array(W * W);
  mask[at(1, 1)] = 255;
  // inside: +30, +60, +0 -> mean 30
  generated.set([130, 160, 100], at(1, 1) * 3);
  // the seam (0 < distance <= 2) changes a lot and must not count
  for (const [x, y] of [[2, 1], [1, 3], [3, 1], [2, 2], [0, 0]] as const) generated.fill(200, at(x, y) * 3, at(x, y) * 3 + 3);
  // outside: (7,7) +10 on every channel, (6,7) -9 on red -> 39 over 53 pixels x 3 channels
  generated.fill(110, at(7, 7) * 3, at(7, 7) * 3 + 3);
  generated[at(6, 7) * 3] = 91;
  const m = measureChange(original, generated, mask, { width: W, height: W, channels: 3 }, 2);
  // seam: the 10 in-image offsets with dx^2 + dy^2 <= 4 around (1, 1); outside: 64 - 1 - 10
  assert.equal(m.insidePixels, 1);
  assert.equal(m.outsidePixels, 53);
  assert.equal(m.inside, 30);
  assert.ok(Math.abs(m.outside - 39 / 159) < 1e-12, String(m.outside));
  assert.ok(Math.abs(m.inside / m.outside - 122.3076923) < 1e-6);
  // distance 0: the seam pixels count as outside now (5 of them changed by 100 on 3 channels)
  const all = measureChange(original, generated, mask, { width: W, height: W, channels: 3 }, 0);
  assert.equal(all.outsidePixels, 63);
  assert.ok(Math.abs(all.outside - (39 + 5 * 300) / (63 * 3)) < 1e-12);
});

test('change summary: ratio of the means; D = latent cell + dilation + feather', () => {
  const s = summariseChange([
    { inside: 30, outside: 2, insidePixels: 1, outsidePixels: 1 },
    { inside: 10, outside: 3, insidePixels: 1, outsidePixels: 1 },
  ]);
  assert.deepEqual(s, { samples: 2, inside: 20, outside: 2.5, ratio: 8 });
  assert.equal(summariseChange([{ inside: 4, outside: 0, insidePixels: 1, outsidePixels: 1 }]).ratio, Infinity);
  assert.equal(outsideDistance(256, 32, { dilate: 2, feather: 3 }), 13);
  assert.equal(outsideDistance(64, 8, { dilate: 1, feather: 0 }), 9);
  assert.throws(() => measureChange(new Uint8Array(12), new Uint8Array(9), new Uint8Array(4), { width: 2, height: 2, channels: 3 }, 1), /12 and 9/);
});

test('ratio bootstrap: two samples give the exact extremes; one value repeated gives a point; deterministic', () => {
  const a = { inside: 30, outside: 2, insidePixels: 1, outsidePixels: 1 };
  const b = { inside: 10, outside: 5, insidePixels: 1, outsidePixels: 1 };
  // draws of two with replacement: (a, a) ratio 15 and (b, b) ratio 2 each with probability 1/4,
  // so the 2.5% and 97.5% quantiles are exactly those two
  const [lo, hi] = bootstrapRatioInterval([a, b], { resamples: 4000, level: 0.95, seed: 1 });
  assert.equal(lo, 2);
  assert.equal(hi, 15);
  assert.deepEqual(bootstrapRatioInterval([a, a, a], { resamples: 100, level: 0.95, seed: 2 }), [15, 15]);
  const many = Array.from({ length: 20 }, (_, i) => ({ inside: 10 + i, outside: 2 + (i % 3), insidePixels: 1, outsidePixels: 1 }));
  const once = bootstrapRatioInterval(many, { resamples: 500, level: 0.9, seed: 3 });
  assert.deepEqual(bootstrapRatioInterval(many, { resamples: 500, level: 0.9, seed: 3 }), once);
  const point = summariseChange(many).ratio;
  assert.ok(once[0] < point && point < once[1], `${once} around ${point}`);
  assert.deepEqual(bootstrapRatioInterval([{ inside: Number.NaN, outside: Number.NaN, insidePixels: 0, outsidePixels: 0 }], { resamples: 10, level: 0.95, seed: 1 }).map(String), ['NaN', 'NaN']);
  assert.throws(() => bootstrapRatioInterval(many, { resamples: 0, level: 0.95, seed: 1 }), /resamples must be a positive integer/);
});

const REPORT: QualityReport = {
  model: { name: 'tiny-ldm', contentHash: 'abcdef0123456789' },
  date: '2026-11-27T10:00:00.000Z',
  seed: 2026,
  settings: {
    samplesPerFamily: 2,
    sampler: { sampler: 'ddim', steps: 25 },
    guidance: 3,
    aar: true,
    pasteBack: { dilate: 2, feather: 3 },
    outsideDistancePx: 13,
    bootstrapResamples: 2000,
    inversionPairs: 10,
    inversionSteps: 400,
    classifier: { size: 64, channels: 8, batch: 16, steps: 400, lr: 3e-3, seed: 3, trainPerFamily: 40 },
  },
  families: [
    { defect: 'scratch', conditioning: 'token-rows', samples: 2, inside: 41.25, outside: 3.5, vaeOutside: 3.25, ratio: 11.786, ratioInterval: [9.04, 14.5], realRatio: 14.04, toReal: 20.5, untouchedToReal: 30, classifierRecall: 0.5 },
    { defect: 'crack', conditioning: 'textual-inversion', samples: 2, inside: 12, outside: 4, vaeOutside: 3.9, ratio: 3, ratioInterval: [2, 5.5], realRatio: 8.96, toReal: 45, untouchedToReal: 40, classifierRecall: 0, inversion: { pairs: 10, steps: 400, finalLoss: 0.0123 } },
  ],
  classifier: {
    families: ['scratch', 'crack'],
    accuracy: 0.25,
    chance: 0.5,
    accuracyTokenRows: 0.5,
    accuracyTextualInversion: 0,
    confusion: [[1, 1], [2, 0]],
    maskOnlyAccuracy: 0.5,
    maskOnlyConfusion: [[2, 0], [2, 0]],
    trainItems: 80,
    testItems: 4,
  },
  grid: { file: 'quality-grid.png', cell: 128, rows: ['scratch', 'crack'], columns: [...GRID_COLUMNS] },
  cpuSeconds: 123.4,
  command: 'npm run model:quality',
};

test('the card section: a table row per family, the grid link, the command; markers replaced, text outside untouched, idempotent', () => {
  const section = renderQualitySection(REPORT);
  assert.match(section, /\| scratch \| pretrained token rows \| 2 \| 41\.3 \| 3\.5 \| 3\.3 \| \*\*11\.8\*\* \(9\.0-14\.5\) \| 14\.0 \| 20\.5 \(30\.0\) \| 50% \|/);
  assert.match(section, /\| crack \| textual inversion \(loss 0\.0123\) \| 2 \| 12\.0 \| 4\.0 \| 3\.9 \| 3\.0 \(2\.0-5\.5\) \| 9\.0 \| 45\.0 \(40\.0\) \| 0% \|/);
  // scratch's interval lies above 5; crack's straddles it
  assert.match(section, /Change ratio >= 5: \*\*1 of 2 families\*\*; the whole interval at or above 5 for 1, below it for 0\./);
  // (20.5 + 45) / 2 and (30 + 40) / 2; only scratch is closer than untouched
  assert.match(section, /mean over the families: \*\*32\.8\*\* \(untouched 35\.0\); closer than untouched for 1 of 2 families/);
  assert.match(section, /accuracy 25%\*\* \(chance 50%/);
  assert.match(section, /!\[quality grid\]\(quality-grid\.png\)/);
  assert.match(section, /`npm run model:quality`/);
  assert.match(section, /before paste-back/);

  const before = '# Model\n\nIntro text.\n\n';
  const after = '\n\n## Limits\nSmall.\n';
  const card = `${before}${QUALITY_BEGIN}\nold numbers\n${QUALITY_END}${after}`;
  const once = replaceQualitySection(card, section, 'MODEL_CARD.md');
  assert.ok(once.startsWith(before + QUALITY_BEGIN + '\n'));
  assert.ok(once.endsWith(QUALITY_END + after));
  assert.ok(!once.includes('old numbers'));
  assert.ok(once.includes(section));
  assert.equal(replaceQualitySection(once, section, 'MODEL_CARD.md'), once);

  // no markers: appended at the end, the rest kept byte for byte; then idempotent
  const plain = '# Model\nNo section yet.';
  const appended = replaceQualitySection(plain, section, 'card.md');
  assert.ok(appended.startsWith(plain + '\n\n' + QUALITY_BEGIN));
  assert.equal(appended.split(QUALITY_BEGIN).length, 2);
  assert.equal(replaceQualitySection(appended, section, 'card.md'), appended);
  // a new section replaces the old one only
  const changed = replaceQualitySection(appended, 'new', 'card.md');
  assert.equal(changed, `${plain}\n\n${QUALITY_BEGIN}\nnew\n${QUALITY_END}\n`);
});

test('broken markers are a UserError naming the card', () => {
  const file = 'C:\\models\\carte modèle\\MODEL_CARD.md';
  for (const card of [`${QUALITY_BEGIN}\nx`, `${QUALITY_END}\nx\n${QUALITY_BEGIN}`, `${QUALITY_BEGIN}${QUALITY_END}${QUALITY_BEGIN}${QUALITY_END}`]) {
    assert.throws(() => replaceQualitySection(card, 's', file), (e) => isUserError(e) && e.code === 'CARD_MARKERS' && e.message.includes(file));
  }
});

test('the grid: rows x 4 cells with 2 px gaps; the mask cell is white exactly on the mask', () => {
  const S = 4;
  const solid = (v: number) => ({ width: S, height: S, channels: 3 as const, data: new Uint8Array(S * S * 3).fill(v) });
  const mask = new Uint8Array(S * S);
  mask[0] = 1;
  const grid = composeGrid([{ normal: solid(51), mask, generated: solid(102), reference: solid(204) }, { normal: solid(0), mask, generated: solid(0), reference: solid(0) }], S);
  assert.equal(grid.width, 4 * S + 3 * 2);
  assert.equal(grid.height, 2 * S + 2);
  const px = (x: number, y: number): number => grid.data[(y * grid.width + x) * 3]!;
  assert.ok(Math.abs(px(1, 1) - 0.2) < 1e-6);
  assert.equal(px(S, 0), 1); // the gap
  assert.equal(px(S + 2, 0), 1); // mask pixel
  assert.equal(px(S + 3, 0), 0); // not mask
  assert.ok(Math.abs(px(2 * (S + 2), 0) - 0.4) < 1e-6);
  assert.ok(Math.abs(px(3 * (S + 2), 0) - 0.8) < 1e-6);
  assert.equal(px(0, S + 2), 0); // second row
});

test('held-out samples: deterministic, a real defect exactly inside its mask, not a pretraining sample', () => {
  const a = qualitySample(2026, 'eval', 'crack', 0, 256);
  const b = qualitySample(2026, 'eval', 'crack', 0, 256);
  assert.deepEqual(a, b);
  assert.ok(['wood', 'concrete', 'cast_metal', 'tile', 'bottle_top', 'capsule'].includes(a.family));
  let inside = 0;
  for (let p = 0; p < 256 * 256; p++) {
    const same = a.reference.data[p * 3] === a.normal.data[p * 3] && a.reference.data[p * 3 + 1] === a.normal.data[p * 3 + 1] && a.reference.data[p * 3 + 2] === a.normal.data[p * 3 + 2];
    if (a.mask[p]) inside++;
    else assert.ok(same, `pixel ${p} changed outside the mask`);
  }
  assert.ok(inside > 0);
  const other = qualitySample(2026, 'inversion', 'crack', 0, 256);
  assert.notDeepEqual(other.mask, a.mask);
  // pretraining's first samples (seed 1, its own streams) are other images
  for (const stream of ['train', 'heldout']) assert.notDeepEqual(corpusSample(1, stream, 0, 256).image, a.normal.data);
  const small = qualitySample(2026, 'eval', 'scratch', 3, 64);
  assert.equal(small.normal.data.length, 64 * 64 * 3);
  assert.ok(small.mask.some((v) => v === 255) && small.mask.every((v) => v === 0 || v === 255));
  assert.throws(() => qualitySample(1, 'eval', 'dent', 0, 64), (e) => isUserError(e) && /dent/.test(e.message));
});
