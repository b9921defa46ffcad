// Threshold curves from score groups. Every ranking metric here (AUROC, average precision,
// F1-max) is a walk over the distinct thresholds in descending order: a "group" is the set of
// samples sharing one threshold (exact: one distinct score; binned: one histogram bin), holding
// `pos` positives and `neg` negatives. Lowering the threshold past a group adds all of it at
// once, which is how ties are handled (as scikit-learn does: one ROC/PR point per distinct score).
//
//   tp_k, fp_k     cumulative positives/negatives at or above group k's threshold
//   TPR = tp/P, FPR = fp/N, precision = tp/(tp + fp), recall = TPR
//   AUROC = trapezoid area under (FPR, TPR) from (0, 0) to (1, 1); a tie group is a straight
//           segment, i.e. half credit for tied (positive, negative) pairs (Mann-Whitney U / PN)
//   AP    = sum_k (R_k - R_{k-1}) * P_k   (scikit-learn's average_precision_score: step-wise,
//           no interpolation)
//   F1    = 2 tp / (tp + fp + P) at each threshold; F1-max is its maximum

/** Groups in descending threshold order. `thresholds[k]` is the lowest score admitted by group k. */
export interface ScoreGroups {
  pos: ArrayLike<number>;
  neg: ArrayLike<number>;
  thresholds: ArrayLike<number>;
}

export interface CurvePoint {
  threshold: number;
  tp: number;
  fp: number;
}

export interface RankingMetrics {
  /** NaN when there are no positives or no negatives (the metric is undefined) */
  auroc: number;
  /** NaN when there are no positives */
  ap: number;
  f1Max: number;
  /** the threshold reaching F1-max (score >= threshold counts as positive) */
  f1Threshold: number;
  positives: number;
  negatives: number;
}

/** Cumulative (tp, fp) after each group; the empty start point is not included. */
export function cumulativePoints(groups: ScoreGroups): CurvePoint[] {
  const points: CurvePoint[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < groups.pos.length; k++) {
    const p = groups.pos[k]!;
    const n = groups.neg[k]!;
    if (p === 0 && n === 0) continue;
    tp += p;
    fp += n;
    points.push({ threshold: groups.thresholds[k]!, tp, fp });
  }
  return points;
}

export function rankingMetrics(groups: ScoreGroups): RankingMetrics {
  const points = cumulativePoints(groups);
  const last = points.at(-1);
  const P = last?.tp ?? 0;
  const N = last?.fp ?? 0;
  let area = 0;
  let ap = 0;
  let f1Max = 0;
  let f1Threshold = Number.POSITIVE_INFINITY;
  let prevTp = 0;
  let prevFp = 0;
  for (const { threshold, tp, fp } of points) {
    // trapezoid in (fp, tp) counts; normalised by P*N at the end
    area += (fp - prevFp) * (tp + prevTp) * 0.5;
    if (P > 0) {
      ap += ((tp - prevTp) / P) * (tp / (tp + fp));
      const f1 = (2 * tp) / (tp + fp + P);
      if (f1 > f1Max) {
        f1Max = f1;
        f1Threshold = threshold;
      }
    }
    prevTp = tp;
    prevFp = fp;
  }
  return {
    auroc: P > 0 && N > 0 ? area / (P * N) : Number.NaN,
    ap: P > 0 ? ap : Number.NaN,
    f1Max: P > 0 ? f1Max : Number.NaN,
    f1Threshold,
    positives: P,
    negatives: N,
  };
}

/** ROC points (fpr, tpr) from (0, 0) to (1, 1), thinned to at most `maxPoints` for plotting. */
export function rocPoints(groups: ScoreGroups, maxPoints = 400): [number, number][] {
  const points = cumulativePoints(groups);
  const P = points.at(-1)?.tp ?? 0;
  const N = points.at(-1)?.fp ?? 0;
  if (P === 0 || N === 0) return [];
  return thin([[0, 0], ...points.map((p): [number, number] => [p.fp / N, p.tp / P])], maxPoints);
}

/** PR points (recall, precision), starting at recall 0 with the first group's precision. */
export function prPoints(groups: ScoreGroups, maxPoints = 400): [number, number][] {
  const points = cumulativePoints(groups);
  const P = points.at(-1)?.tp ?? 0;
  if (P === 0) return [];
  const pr = points.map((p): [number, number] => [p.tp / P, p.tp / (p.tp + p.fp)]);
  return thin([[0, pr[0]![1]], ...pr], maxPoints);
}

/** Keeps the first and last point and an evenly spaced subset in between (plots only). */
function thin(points: [number, number][], maxPoints: number): [number, number][] {
  if (points.length <= maxPoints) return points;
  const out: [number, number][] = [];
  const step = (points.length - 1) / (maxPoints - 1);
  for (let i = 0; i < maxPoints; i++) out.push(points[Math.round(i * step)]!);
  return out;
}
