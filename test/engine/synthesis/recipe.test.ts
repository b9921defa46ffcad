import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairRecipe, pairSeed, typeAt, type SynthesisPlan } from '../../../src/engine/synthesis/recipe';

const plan: SynthesisPlan = {
  seed: 42,
  sampler: { sampler: 'ddim', steps: 3, eta: 1 },
  guidance: 3,
  aar: { clamp: [1, 1.5], dilationRadius: 0 },
  types: [
    { defectTypeId: 1, label: 'a/x', count: 3, aar: true, normals: [1, 2, 3, 4].map((i) => ({ imageId: i, blob: `n${i}` })), maskSource: { kind: 'real', foreground: 'none' }, conditioning: { kind: 'model-defect', defect: 'x' } },
    { defectTypeId: 2, label: 'a/y', count: 2, aar: false, normals: [{ imageId: 5, blob: 'n5' }], maskSource: { kind: 'learned', foreground: 'otsu', artifactId: 12 }, conditioning: { kind: 'model-defect', defect: 'y' } },
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
  // the pair's mask request: the type's source, the type, and the pair's own mask seed
  assert.deepEqual({ ...r3.mask, seed: 0 }, { kind: 'learned', foreground: 'otsu', artifactId: 12, defectTypeId: 2, seed: 0 });
  assert.notEqual(r3.mask.seed, r3.seed);
  assert.deepEqual(r3.conditioning, { kind: 'model-defect', defect: 'y' });
  // changing another type's count moves the ranges but not a pair's draws at a given index
  const seeds = [0, 1, 2].map((i) => pairRecipe(plan, i).seed);
  assert.equal(new Set(seeds).size, 3);
  // the normal images drawn over many indices cover the pool (a uniform draw, not always the first)
  const many: SynthesisPlan = { ...plan, types: [{ ...plan.types[0]!, count: 200 }] };
  const used = new Set(Array.from({ length: 200 }, (_, i) => pairRecipe(many, i).normal.imageId));
  assert.deepEqual([...used].sort(), [1, 2, 3, 4]);
  // every pair has its own mask seed (200 draws of 32 bits: a collision would be a bug)
  assert.equal(new Set(Array.from({ length: 200 }, (_, i) => pairRecipe(many, i).mask.seed)).size, 200);
});

test("a plan's restoreDetail reaches every recipe; a plan without it (made before it existed) makes recipes without the key, as they were", () => {
  assert.equal('restoreDetail' in pairRecipe(plan, 0), false);
  assert.equal(pairRecipe({ ...plan, restoreDetail: false }, 0).restoreDetail, undefined);
  const on = pairRecipe({ ...plan, restoreDetail: true }, 3);
  assert.equal(on.restoreDetail, true);
  // the draws do not depend on it
  assert.deepEqual({ ...on, restoreDetail: undefined }, { ...pairRecipe(plan, 3), restoreDetail: undefined });
});
