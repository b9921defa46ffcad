import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flipMask, resizeMaskAny } from '../../../src/engine/synthesis/mask-source';
import { pairRecipe, pairSeed, typeAt, type SynthesisPlan } from '../../../src/engine/synthesis/recipe';

test('flipMask mirrors left-right and top-bottom', () => {
  const m = Uint8Array.from([1, 2, 3, 4, 5, 6]); // 3x2
  assert.deepEqual(flipMask(m, 3, 2, true, false), Uint8Array.from([3, 2, 1, 6, 5, 4]));
  assert.deepEqual(flipMask(m, 3, 2, false, true), Uint8Array.from([4, 5, 6, 1, 2, 3]));
  assert.deepEqual(flipMask(m, 3, 2, true, true), Uint8Array.from([6, 5, 4, 3, 2, 1]));
});

test('resizeMaskAny keeps every defect: a one-pixel scratch survives 4x downscaling; upscaling is nearest', () => {
  const src = new Uint8Array(8 * 8);
  src[5 * 8 + 6] = 255; // pixel (6, 5)
  assert.deepEqual(resizeMaskAny(src, 8, 8, 2, 2), Uint8Array.from([0, 0, 0, 255]));
  // 80 -> 64: source columns [floor(x*80/64), ceil((x+1)*80/64)); pixel 79 lands in target 63 only
  const row = new Uint8Array(80);
  row[79] = 255;
  const down = resizeMaskAny(row, 80, 1, 64, 1);
  assert.deepEqual([...down.keys()].filter((i) => down[i]), [63]);
  assert.deepEqual(resizeMaskAny(Uint8Array.from([0, 255]), 2, 1, 4, 1), Uint8Array.from([0, 0, 255, 255]));
});

const plan: SynthesisPlan = {
  seed: 42,
  sampler: { sampler: 'ddim', steps: 3, eta: 1 },
  guidance: 3,
  aar: { clamp: [1, 1.5], dilationRadius: 0 },
  types: [
    { defectTypeId: 1, label: 'a/x', count: 3, aar: true, normals: [1, 2, 3, 4].map((i) => ({ imageId: i, blob: `n${i}` })), masks: [{ maskId: 9, imageId: 8, blob: 'm9' }], conditioning: { kind: 'model-defect', defect: 'x' } },
    { defectTypeId: 2, label: 'a/y', count: 2, aar: false, normals: [{ imageId: 5, blob: 'n5' }], masks: [{ maskId: 7, imageId: 6, blob: 'm7' }], conditioning: { kind: 'model-defect', defect: 'y' } },
  ],
};

test('a pair recipe depends only on the job seed and its index; types take consecutive ranges', () => {
  assert.deepEqual(pairRecipe(plan, 4), pairRecipe(plan, 4));
  assert.notEqual(pairSeed(42, 0), pairSeed(42, 1));
  assert.notEqual(pairSeed(42, 0), pairSeed(43, 0));
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => typeAt(plan, i).label), ['a/x', 'a/x', 'a/x', 'a/y', 'a/y']);
  assert.throws(() => typeAt(plan, 5), /pair index 5 is beyond the plan's 5 pairs/);
  const r3 = pairRecipe(plan, 3);
  assert.equal(r3.aar.enabled, false);
  assert.equal(r3.mask.maskId, 7);
  assert.deepEqual(r3.conditioning, { kind: 'model-defect', defect: 'y' });
  // changing another type's count moves the ranges but not a pair's draws at a given index
  const seeds = [0, 1, 2].map((i) => pairRecipe(plan, i).seed);
  assert.equal(new Set(seeds).size, 3);
  // the normal images drawn over many indices cover the pool (a uniform draw, not always the first)
  const many: SynthesisPlan = { ...plan, types: [{ ...plan.types[0]!, count: 200 }] };
  const used = new Set(Array.from({ length: 200 }, (_, i) => pairRecipe(many, i).normal.imageId));
  assert.deepEqual([...used].sort(), [1, 2, 3, 4]);
  const flips = new Set(Array.from({ length: 200 }, (_, i) => `${pairRecipe(many, i).mask.flipX}${pairRecipe(many, i).mask.flipY}`));
  assert.equal(flips.size, 4);
});
