// Metrics against values computed by hand and scikit-learn's documented examples; the streaming
// (binned) pixel metrics against exact computation, within their stated bounds; AU-PRO against a
// hand-worked example and a direct (sort everything) implementation; flat memory at scale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PixelMetricsAccumulator,
  ProAccumulator,
  ScoreHistogram,
  connectedComponents,
  exactGroups,
  exactRankingMetrics,
  prPoints,
  rocPoints,
} from '../../../src/engine/eval/metrics';
import { Rng } from '../../../src/shared/random';

const close = (actual: number, expected: number, tol = 1e-12, what = ''): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} != ${expected} (tol ${tol})`);

test("scikit-learn's documented examples: roc_auc_score 0.75, average_precision_score 0.8333, roc_curve and precision_recall_curve points", () => {
  // sklearn.metrics.roc_auc_score / average_precision_score / roc_curve / precision_recall_curve
  // docstrings, y_true = [0, 0, 1, 1], y_score = [0.1, 0.4, 0.35, 0.8]
  const labels = [0, 0, 1, 1];
  const scores = [0.1, 0.4, 0.35, 0.8];
  const m = exactRankingMetrics(scores, labels);
  close(m.auroc, 0.75);
  close(m.ap, 0.8333333333333333, 1e-15);
  const g = exactGroups(scores, labels);
  // roc_curve: fpr [0, 0, 0.5, 0.5, 1], tpr [0, 0.5, 0.5, 1, 1]
  assert.deepEqual(rocPoints(g), [[0, 0], [0, 0.5], [0.5, 0.5], [0.5, 1], [1, 1]]);
  // precision_recall_curve (reversed to recall ascending): recall [0, .5, .5, 1, 1], precision [1, 1, .5, .667, .5]
  const pr = prPoints(g);
  assert.deepEqual(pr.map(([r]) => r), [0, 0.5, 0.5, 1, 1]);
  pr.forEach(([, p], i) => close(p, [1, 1, 0.5, 2 / 3, 0.5][i]!, 1e-15, `precision ${i}`));
  // F1 over thresholds: 0.8 -> 2/3, 0.4 -> 1/2, 0.35 -> 4/5, 0.1 -> 2/3
  close(m.f1Max, 0.8);
  assert.equal(m.f1Threshold, 0.35);
});

test('ties count half, as one ROC segment and one PR point (values by hand)', () => {
  // scores [1, .5, .5, 0], labels [1, 1, 0, 0]: pairs 1>.5, 1>0, .5=.5 (half), .5>0 -> 3.5 / 4
  const m = exactRankingMetrics([1, 0.5, 0.5, 0], [1, 1, 0, 0]);
  close(m.auroc, 0.875);
  // AP = .5 * 1 + .5 * 2/3
  close(m.ap, 0.5 + 1 / 3, 1e-15);
  // F1 at .5: tp 2, fp 1 -> 4 / 5
  close(m.f1Max, 0.8);
  const allTied = exactRankingMetrics([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]);
  close(allTied.auroc, 0.5);
  close(allTied.ap, 0.5);
  close(allTied.f1Max, 2 / 3, 1e-15);
  // the order of tied items must not matter
  assert.deepEqual(exactRankingMetrics([0.5, 0.5, 0.2], [1, 0, 0]), exactRankingMetrics([0.5, 0.5, 0.2], [0, 1, 0]));
});

test('a perfect score gives 1.0, a reversed one 0.0, a random one about 0.5; undefined cases are NaN', () => {
  const rng = new Rng(7);
  const n = 20000;
  const labels = Array.from({ length: n }, () => (rng.uniform() < 0.3 ? 1 : 0));
  const perfect = labels.map((l) => l + rng.uniform() * 0.5);
  const m = exactRankingMetrics(perfect, labels);
  assert.equal(m.auroc, 1);
  close(m.ap, 1, 1e-12);
  assert.equal(m.f1Max, 1);
  assert.equal(exactRankingMetrics(perfect.map((s) => -s), labels).auroc, 0);
  const random = exactRankingMetrics(labels.map(() => rng.uniform()), labels);
  // standard error of AUROC under H0 with 6000 vs 14000 samples is ~0.0045
  assert.ok(Math.abs(random.auroc - 0.5) < 0.02, `random AUROC ${random.auroc}`);
  // random AP is about the positive rate
  assert.ok(Math.abs(random.ap - 0.3) < 0.02, `random AP ${random.ap}`);
  assert.ok(Number.isNaN(exactRankingMetrics([0.1, 0.2], [0, 0]).auroc));
  assert.ok(Number.isNaN(exactRankingMetrics([0.1, 0.2], [0, 0]).ap));
  assert.throws(() => exactRankingMetrics([0.1, Number.NaN], [0, 1]), /score 1 is NaN/);
  assert.throws(() => exactRankingMetrics([0.1, 0.2], [0, 2]), /label 1 is 2/);
});

/** Scores that separate the classes partly: sigmoid(N(0,1) + 1.2 * label). */
function noisyProbabilities(rng: Rng, n: number, rate: number): { scores: Float32Array; labels: Uint8Array } {
  const scores = new Float32Array(n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = rng.uniform() < rate ? 1 : 0;
    scores[i] = 1 / (1 + Math.exp(-(rng.normal() + 1.2 * labels[i]!)));
  }
  return { scores, labels };
}

test('binned pixel metrics: the exact values lie inside the stated bounds, which are tight with fine bins', () => {
  const { scores, labels } = noisyProbabilities(new Rng(11), 50000, 0.1);
  const exact = exactRankingMetrics(scores, labels);
  for (const [bins, scale] of [
    [16, { kind: 'linear', lo: 0, hi: 1 }],
    [64, { kind: 'logit', limit: 6 }],
    [1 << 16, { kind: 'logit', limit: 16 }],
  ] as const) {
    const h = new ScoreHistogram(bins, scale);
    h.add(scores.subarray(0, 20000), labels.subarray(0, 20000));
    h.add(scores.subarray(20000), labels.subarray(20000));
    const m = h.metrics();
    for (const key of ['auroc', 'ap', 'f1Max'] as const) {
      const { lo, hi } = m.bounds[key];
      assert.ok(lo - 1e-12 <= exact[key] && exact[key] <= hi + 1e-12, `${bins} bins: exact ${key} ${exact[key]} outside [${lo}, ${hi}]`);
      assert.ok(lo - 1e-12 <= m[key] && m[key] <= hi + 1e-12, `${bins} bins: binned ${key} ${m[key]} outside its own bounds`);
    }
    if (bins === 16) assert.ok(m.bounds.auroc.hi - m.bounds.auroc.lo > 0.01, 'coarse bins must give a visible AUROC interval');
    if (bins === 1 << 16) {
      for (const key of ['auroc', 'ap', 'f1Max'] as const) {
        assert.ok(m.bounds[key].hi - m.bounds[key].lo < 2e-3, `fine bins: ${key} interval [${m.bounds[key].lo}, ${m.bounds[key].hi}] too wide`);
        close(m[key], exact[key], 1e-3, key);
      }
    }
  }
});

test('8-connected components', () => {
  // 1 1 0 0 1
  // 0 0 1 0 1      the diagonal joins (1,2) to the first region
  // 1 0 0 0 0
  const mask = [1, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0];
  const c = connectedComponents(mask, 5, 3);
  assert.equal(c.count, 3);
  assert.deepEqual(c.sizes.slice(1), [3, 2, 1]);
  assert.deepEqual(Array.from(c.labels), [1, 1, 0, 0, 2, 0, 0, 1, 0, 2, 3, 0, 0, 0, 0]);
});

test('AU-PRO of a hand-worked example, and 0.15 for a fully tied map (the chance level at FPR 0.3)', () => {
  // image A (1x4): region {0.9, 0.3}; good 0.6, 0.1.  image B (1x4): region {0.8}; good 0.2, 0.25, 0.05.
  // descending: .9 -> PRO .25; .8 -> PRO .75; .6 -> FPR .2; .3 -> PRO 1; .25 -> FPR .4 (crosses .3)
  // area to .3 = .2 * .75 + .1 * 1 = .25 -> AU-PRO = .25 / .3
  const pro = new ProAccumulator(1000, { kind: 'linear', lo: 0, hi: 1 });
  pro.add([0.9, 0.3, 0.6, 0.1], [1, 1, 0, 0], 4, 1);
  pro.add([0.2, 0.25, 0.05, 0.8], [0, 0, 0, 1], 4, 1);
  const r = pro.result();
  assert.equal(r.regions, 2);
  close(r.auPro, 0.25 / 0.3, 1e-12);
  close(r.bound, 0, 1e-12);
  const tied = new ProAccumulator(10, { kind: 'linear', lo: 0, hi: 1 });
  tied.add([0.5, 0.5, 0.5, 0.5], [1, 0, 0, 0], 2, 2);
  close(tied.result().auPro, 0.15, 1e-12);
});

/** AU-PRO computed directly: all pixels sorted, one curve point per distinct score. */
function exactAuPro(images: { scores: Float32Array; mask: Uint8Array; width: number; height: number }[], limit: number): number {
  const items: { s: number; good: number; weight: number }[] = [];
  let regions = 0;
  let goods = 0;
  for (const im of images) {
    const c = connectedComponents(im.mask, im.width, im.height);
    for (let i = 0; i < im.scores.length; i++) {
      const l = c.labels[i]!;
      items.push({ s: im.scores[i]!, good: l === 0 ? 1 : 0, weight: l === 0 ? 0 : 1 / c.sizes[l]! });
      if (l === 0) goods++;
    }
    regions += c.count;
  }
  items.sort((a, b) => b.s - a.s);
  const fprs = [0];
  const pros = [0];
  let fp = 0;
  let w = 0;
  for (let i = 0; i < items.length; i++) {
    fp += items[i]!.good;
    w += items[i]!.weight;
    if (i + 1 < items.length && items[i + 1]!.s === items[i]!.s) continue;
    fprs.push(fp / goods);
    pros.push(w / regions);
  }
  let area = 0;
  for (let k = 1; k < fprs.length; k++) {
    const f0 = fprs[k - 1]!;
    const f1 = fprs[k]!;
    if (f0 >= limit) break;
    if (f1 > limit) {
      const p = pros[k - 1]! + ((limit - f0) / (f1 - f0)) * (pros[k]! - pros[k - 1]!);
      area += (limit - f0) * (pros[k - 1]! + p) * 0.5;
      break;
    }
    area += (f1 - f0) * (pros[k - 1]! + pros[k]!) * 0.5;
  }
  return area / limit;
}

test('streaming AU-PRO stays within its bound of the direct computation', () => {
  const rng = new Rng(5);
  const images = [];
  for (let k = 0; k < 6; k++) {
    const width = 40;
    const height = 30;
    const mask = new Uint8Array(width * height);
    const scores = new Float32Array(width * height);
    for (let r = 0; r < k % 3; r++) {
      const x0 = rng.int(30), y0 = rng.int(20), w = 2 + rng.int(8), h = 2 + rng.int(8);
      for (let y = y0; y < Math.min(height, y0 + h); y++) for (let x = x0; x < Math.min(width, x0 + w); x++) mask[y * width + x] = 1;
    }
    for (let i = 0; i < scores.length; i++) scores[i] = 1 / (1 + Math.exp(-(rng.normal() + 1.5 * mask[i]!)));
    images.push({ scores, mask, width, height });
  }
  const exact = exactAuPro(images, 0.3);
  for (const bins of [32, 1024, 1 << 16]) {
    const acc = new ProAccumulator(bins, { kind: 'logit', limit: 8 });
    for (const im of images) acc.add(im.scores, im.mask, im.width, im.height);
    const r = acc.result();
    assert.ok(Math.abs(r.auPro - exact) <= r.bound + 1e-12, `${bins} bins: |${r.auPro} - ${exact}| > bound ${r.bound}`);
    if (bins === 1 << 16) assert.ok(r.bound < 2e-3, `fine-bin AU-PRO bound ${r.bound}`);
  }
});

test('pixel metrics memory stays flat over 100 images of 1024x1024', { timeout: 300_000 }, () => {
  const side = 1024;
  const acc = new PixelMetricsAccumulator();
  const heldAtStart = acc.bytesHeld();
  const heapBefore = process.memoryUsage().heapUsed;
  let maxHeapGrowth = 0;
  const rng = new Rng(3);
  const started = Date.now();
  for (let k = 0; k < 100; k++) {
    const scores = new Float32Array(side * side);
    const mask = new Uint8Array(side * side);
    const x0 = rng.int(900), y0 = rng.int(900);
    for (let y = y0; y < y0 + 100; y++) mask.fill(1, y * side + x0, y * side + x0 + 100);
    // a cheap pseudo-random field: hash of the index, shifted up inside the defect
    const salt = rng.nextU32();
    for (let i = 0; i < scores.length; i++) {
      const h = (Math.imul(i ^ salt, 0x9e3779b1) >>> 8) / 16777216;
      scores[i] = mask[i] ? 0.3 + 0.7 * h : 0.8 * h;
    }
    acc.add(scores, mask, side, side);
    maxHeapGrowth = Math.max(maxHeapGrowth, process.memoryUsage().heapUsed - heapBefore);
  }
  const m = acc.metrics();
  console.log(`pixel metrics on 100 x 1024^2: ${Date.now() - started} ms, held ${acc.bytesHeld()} B, max heap growth ${(maxHeapGrowth / 2 ** 20).toFixed(1)} MiB, AUROC ${m.auroc.toFixed(4)}`);
  assert.equal(acc.bytesHeld(), heldAtStart);
  assert.ok(acc.bytesHeld() <= 2 * 2 ** 20, `held ${acc.bytesHeld()} bytes`);
  // 100 score maps kept alive would be 500 MiB; the garbage of a few in flight is allowed
  assert.ok(maxHeapGrowth < 120 * 2 ** 20, `heap grew by ${maxHeapGrowth} bytes`);
  assert.equal(m.positives, 100 * 100 * 100);
  // defect scores ~ U(0.3, 1), good ~ U(0, 0.8): P(s+ > s-) = 1 - (0.5^2 / 2) / (0.7 * 0.8) = 0.77679
  close(m.auroc, 1 - 0.125 / 0.56, 2e-3, 'AUROC');
  assert.equal(m.auPro.regions, 100);
});
