// The family classifier of the quality run: a toy set whose classes differ only in the colour
// inside the mask (mask shapes drawn the same way for both) is learnt; the mask-only control and a
// classifier trained on shuffled labels stay near chance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyFamilies, recall, toLabelledPair, type ClassifierItem } from '../../../src/engine/models/tiny-ldm/quality/family-classifier';
import { Rng } from '../../../src/shared/random';

const S = 16;
const SETTINGS = { size: S, channels: 4, batch: 8, steps: 80, lr: 0.01, seed: 1 };

function item(rng: Rng, label: number): ClassifierItem {
  const data = new Uint8Array(S * S * 3);
  for (let i = 0; i < S * S; i++) data.fill(Math.round(128 + 12 * rng.normal()), i * 3, i * 3 + 3);
  const mask = new Uint8Array(S * S);
  const side = 3 + rng.int(4);
  const x0 = rng.int(S - side), y0 = rng.int(S - side);
  for (let y = y0; y < y0 + side; y++) for (let x = x0; x < x0 + side; x++) {
    mask[y * S + x] = 255;
    data.fill(label === 0 ? 230 : 25, (y * S + x) * 3, (y * S + x) * 3 + 3);
  }
  return { image: { width: S, height: S, channels: 3, data }, mask, label };
}

test('separable toy families are told apart; the mask-only control is near chance', { timeout: 120_000 }, async () => {
  const rng = new Rng(8);
  const train = Array.from({ length: 32 }, (_, i) => item(rng, i % 2));
  const testSet = Array.from({ length: 40 }, (_, i) => item(rng, i % 2));
  const r = await classifyFamilies(train, testSet, 2, SETTINGS);
  assert.equal(r.chance, 0.5);
  assert.equal(r.testItems, 40);
  assert.deepEqual(r.confusion.map((row) => row.reduce((a, v) => a + v, 0)), [20, 20]);
  assert.ok(r.accuracy >= 0.9, `accuracy ${r.accuracy} ${JSON.stringify(r.confusion)}`);
  assert.ok(r.maskOnlyAccuracy <= 0.75, `mask-only ${r.maskOnlyAccuracy} ${JSON.stringify(r.maskOnlyConfusion)}`);
  assert.equal(recall(r.confusion, 0), r.confusion[0]![0]! / 20);
  assert.ok(Number.isNaN(recall([[0, 0], [1, 1]], 0)));

  // the same images with the training labels shuffled: nothing to learn, test accuracy near chance
  const shuffledLabels = new Rng(3).shuffle(train.map((t) => t.label));
  const shuffled = await classifyFamilies(train.map((t, i) => ({ ...t, label: shuffledLabels[i]! })), testSet, 2, SETTINGS);
  assert.ok(shuffled.accuracy <= 0.75, `shuffled accuracy ${shuffled.accuracy}`);
});

test('classifier inputs: box-filtered to the classifier size, a thin mask survives the reduction', () => {
  const big = 8;
  const data = new Uint8Array(big * big * 3);
  for (let i = 0; i < big * big; i++) data.fill(i % 2 ? 255 : 0, i * 3, i * 3 + 3);
  const mask = new Uint8Array(big * big);
  mask[5 * big + 6] = 255; // one pixel: a quarter-coverage threshold loses it at 4x reduction
  const pair = toLabelledPair({ image: { width: big, height: big, channels: 3, data }, mask, label: 1 }, 2);
  assert.equal(pair.picture.width, 2);
  // every 4x4 block holds 8 white pixels of 16 -> 128/255
  for (const v of pair.picture.data) assert.ok(Math.abs(v - 128 / 255) < 1e-6);
  assert.deepEqual([...pair.mask.data], [0, 0, 0, 1]);
  const control = toLabelledPair({ image: { width: big, height: big, channels: 3, data }, mask, label: 1 }, 2, true);
  assert.ok(control.picture.data.every((v) => v === 0.5));
  assert.throws(() => toLabelledPair({ image: { width: 6, height: 6, channels: 3, data: new Uint8Array(108) }, mask: new Uint8Array(36), label: 0 }, 4), /6x6/);
});
