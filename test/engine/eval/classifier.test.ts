// The defect-type classifier learns a procedural two-type task (bright vs dark squares) from
// training pairs and classifies held-out ones; the confusion matrix adds up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainAndTestClassifier, type LabelledPair } from '../../../src/engine/eval/classifier';
import { blankMask, blankPicture } from '../../../src/engine/eval/picture';
import { Rng } from '../../../src/shared/random';

const S = 16;

function pair(rng: Rng, label: number): LabelledPair {
  const picture = blankPicture(S, S);
  for (let i = 0; i < S * S; i++) picture.data.fill(0.5 + 0.05 * rng.normal(), i * 3, i * 3 + 3);
  const mask = blankMask(S, S);
  const side = 3 + rng.int(4);
  const x0 = rng.int(S - side), y0 = rng.int(S - side);
  for (let y = y0; y < y0 + side; y++) for (let x = x0; x < x0 + side; x++) {
    mask.data[y * S + x] = 1;
    picture.data.fill(label === 0 ? 0.9 : 0.1, (y * S + x) * 3, (y * S + x) * 3 + 3);
  }
  return { picture, mask, label };
}

test('the type classifier separates bright from dark defects it has not seen', { timeout: 60_000 }, async () => {
  const rng = new Rng(4);
  const train = Array.from({ length: 24 }, (_, i) => pair(rng, i % 2));
  const test_ = Array.from({ length: 20 }, (_, i) => pair(rng, i % 2));
  const r = await trainAndTestClassifier(train, test_, { classes: 2, width: S, height: S, channels: 4, batch: 8, steps: 60, lr: 0.01, seed: 1 });
  assert.equal(r.confusion.flat().reduce((a, v) => a + v, 0), 20);
  assert.deepEqual(r.confusion.map((row) => row.reduce((a, v) => a + v, 0)), [10, 10]);
  const first = r.losses.slice(0, 5).reduce((a, v) => a + v, 0) / 5;
  const last = r.losses.slice(-5).reduce((a, v) => a + v, 0) / 5;
  assert.ok(last < first, `cross-entropy ${first} -> ${last}`);
  assert.ok(r.accuracy >= 0.9, `accuracy ${r.accuracy}, confusion ${JSON.stringify(r.confusion)}`);
});
