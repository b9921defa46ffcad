// Exact ranking metrics for small sets (image-level scores): sort once, group equal scores.
import { rankingMetrics, type RankingMetrics, type ScoreGroups } from './curves';

/** Groups equal scores in descending order. Labels are 1 (defect) or 0 (good). */
export function exactGroups(scores: ArrayLike<number>, labels: ArrayLike<number>): ScoreGroups {
  if (scores.length !== labels.length) throw new Error(`metrics: ${scores.length} scores but ${labels.length} labels`);
  const order = Array.from({ length: scores.length }, (_, i) => i);
  for (const i of order) {
    if (!Number.isFinite(scores[i]!)) throw new Error(`metrics: score ${i} is ${scores[i]} (scores must be finite)`);
    if (labels[i] !== 0 && labels[i] !== 1) throw new Error(`metrics: label ${i} is ${labels[i]} (labels must be 0 or 1)`);
  }
  order.sort((a, b) => scores[b]! - scores[a]!);
  const pos: number[] = [];
  const neg: number[] = [];
  const thresholds: number[] = [];
  for (const i of order) {
    const s = scores[i]!;
    if (thresholds.length === 0 || thresholds.at(-1) !== s) {
      thresholds.push(s);
      pos.push(0);
      neg.push(0);
    }
    if (labels[i] === 1) pos[pos.length - 1]!++;
    else neg[neg.length - 1]!++;
  }
  return { pos, neg, thresholds };
}

export function exactRankingMetrics(scores: ArrayLike<number>, labels: ArrayLike<number>): RankingMetrics {
  return rankingMetrics(exactGroups(scores, labels));
}
