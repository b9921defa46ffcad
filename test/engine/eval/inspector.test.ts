// The inspector U-Net: graph names line up between training and inference, the focal loss falls,
// and after a few seconds of training it ranks held-out defect images above normal ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exactRankingMetrics } from '../../../src/engine/eval/metrics';
import { buildInspectorInference, buildInspectorTraining, type InspectorConfig } from '../../../src/engine/eval/inspector/model';
import { imageScore, inspectPictures, poolingWindow, trainInspector, type TrainingPair } from '../../../src/engine/eval/inspector/train';
import { blankMask, blankPicture, type Picture } from '../../../src/engine/eval/picture';
import { Rng } from '../../../src/shared/random';

const S = 24;
const CONFIG: InspectorConfig = { width: S, height: S, base: 4, levels: 2, groups: 2, seed: 3 };

/** grey noise around 0.5 */
function normal(rng: Rng): Picture {
  const p = blankPicture(S, S);
  for (let i = 0; i < S * S; i++) p.data.fill(0.5 + 0.08 * rng.normal(), i * 3, i * 3 + 3);
  return p;
}

/** a dark square (4..7 px) on a normal image, and its mask */
function defect(rng: Rng): TrainingPair {
  const picture = normal(rng);
  const mask = blankMask(S, S);
  const side = 4 + rng.int(4);
  const x0 = rng.int(S - side), y0 = rng.int(S - side);
  for (let y = y0; y < y0 + side; y++) for (let x = x0; x < x0 + side; x++) {
    mask.data[y * S + x] = 1;
    picture.data.fill(0.15, (y * S + x) * 3, (y * S + x) * 3 + 3);
  }
  return { picture, mask };
}

test('training and inference graphs share parameter names and shapes', () => {
  const t = buildInspectorTraining(CONFIG, 4);
  const i = buildInspectorInference(CONFIG, 1);
  assert.deepEqual(t.params, i.params);
  for (const name of t.params) assert.deepEqual(t.model.graph.initializers.get(name)!.dims, i.model.graph.initializers.get(name)!.dims, name);
  assert.throws(() => buildInspectorTraining({ ...CONFIG, width: 25 }, 4), /not divisible/);
});

test('the image score is the max of the zero-padded box mean; the window scales 21 at 256', () => {
  // 3x3 map, one 9 in the corner: with a 3x3 window the best mean is 9/9 = 1 (any window holding it)
  const map = new Float32Array([9, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(imageScore(map, 3, 3, 3), 1);
  // a uniform map of 1: the centre window is full, border windows count the zero padding
  assert.equal(imageScore(new Float32Array(9).fill(1), 3, 3, 3), 1);
  assert.equal(imageScore(new Float32Array(4).fill(1), 2, 2, 3), 4 / 9);
  assert.equal(poolingWindow(256, 256), 21);
  assert.equal(poolingWindow(128, 128), 11);
  assert.equal(poolingWindow(200, 80), 11);
});

test('the inspector learns to find dark squares: loss falls, held-out AUROC well above chance', { timeout: 120_000 }, async () => {
  const rng = new Rng(8);
  const normals = Array.from({ length: 16 }, () => normal(rng));
  const pairs = Array.from({ length: 16 }, () => defect(rng));
  const started = Date.now();
  const trained = await trainInspector(normals, pairs, { config: CONFIG, batch: 4, lr: 0.01, steps: 80, seed: 1 });
  const first = trained.losses.slice(0, 10).reduce((a, v) => a + v, 0) / 10;
  const last = trained.losses.slice(-10).reduce((a, v) => a + v, 0) / 10;
  assert.ok(last < 0.5 * first, `focal loss ${first} -> ${last}`);
  const heldRng = new Rng(99);
  const held = [...Array.from({ length: 10 }, () => ({ picture: normal(heldRng), label: 0 })), ...Array.from({ length: 10 }, () => ({ picture: defect(heldRng).picture, label: 1 }))];
  const maps = await inspectPictures(trained, held.map((h) => h.picture));
  const scores = maps.map((m) => imageScore(m, S, S, 3));
  const m = exactRankingMetrics(scores, held.map((h) => h.label));
  console.log(`inspector ${S}x${S}: loss ${first.toFixed(4)} -> ${last.toFixed(4)} in 80 steps, held-out image AUROC ${m.auroc.toFixed(3)}, ${Date.now() - started} ms`);
  assert.ok(m.auroc > 0.9, `held-out image AUROC ${m.auroc}`);
});

test('a time budget sets the step count once, after the calibration steps, from the measured step time', { timeout: 60_000 }, async () => {
  const rng = new Rng(2);
  const normals = Array.from({ length: 4 }, () => normal(rng));
  const pairs = Array.from({ length: 4 }, () => defect(rng));
  const seen: number[] = [];
  const totals = new Set<number>();
  const trained = await trainInspector(normals, pairs, {
    config: CONFIG,
    batch: 2,
    lr: 0.01,
    steps: Number.MAX_SAFE_INTEGER,
    calibrationSteps: 2,
    stepsFromBudget: (perStep) => {
      seen.push(perStep);
      return 7;
    },
    seed: 1,
    onStep: (_step, total) => totals.add(total),
  });
  assert.equal(seen.length, 1);
  assert.ok(seen[0]! > 0 && seen[0]! < 10, `seconds per step ${seen[0]}`);
  assert.equal(trained.steps, 7);
  assert.equal(trained.losses.length, 7);
  // the first two steps ran before the count was known
  assert.deepEqual([...totals], [Number.MAX_SAFE_INTEGER, 7]);
});
