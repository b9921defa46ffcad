// Streaming ranking metrics for pixel scores: two histograms (positive and negative pixels) over
// fixed bins, so memory is 2 x bins x 8 bytes whatever the number of pixels. Binning turns every
// bin into a tie group; the exact metrics lie in intervals computed from the same histograms:
//
// AUROC: exact = P(s+ > s-) + 0.5 P(s+ = s-) over (positive, negative) pairs. Pairs in different
//   bins are ordered the same binned or not; a pair inside one bin gets 0.5 binned and 0 to 1
//   exact. So |exact - binned| <= 0.5 * sum_b pos_b * neg_b / (P * N).
// AP and F1: an exact threshold inside bin b admits tp in [tp_{b-1} + 1, tp_b] (the group that
//   adds a positive) and fp in [fp_{b-1}, fp_b]. Precision there lies in
//   [(tp_{b-1} + 1) / (tp_{b-1} + 1 + fp_b), tp_b / (tp_b + fp_{b-1})], and bin b's positives
//   carry pos_b / P of recall, which brackets AP. Binned thresholds are a subset of the exact ones
//   (a bin's lower edge admits exactly the scores >= the bin's lowest score), so binned F1-max is
//   a lower bound; any exact threshold inside bin b has F1 <= 2 tp_b / (tp_b + fp_{b-1} + P).
import { rankingMetrics, prPoints, rocPoints, type RankingMetrics, type ScoreGroups } from './curves';
import { createQuantizer, type Quantizer, type ScoreScale } from './quantizer';

export interface Interval {
  lo: number;
  hi: number;
}

export interface BinnedRankingMetrics extends RankingMetrics {
  /** where the exact (unbinned) values lie */
  bounds: { auroc: Interval; ap: Interval; f1Max: Interval };
}

export class ScoreHistogram {
  readonly quantizer: Quantizer;
  private readonly pos: Float64Array;
  private readonly neg: Float64Array;

  constructor(bins: number, scale: ScoreScale) {
    this.quantizer = createQuantizer(bins, scale);
    this.pos = new Float64Array(bins);
    this.neg = new Float64Array(bins);
  }

  /** Adds one score map: `labels[i]` nonzero marks a positive (defect) pixel. */
  add(scores: ArrayLike<number>, labels: ArrayLike<number>): void {
    if (scores.length !== labels.length) throw new Error(`score histogram: ${scores.length} scores but ${labels.length} labels`);
    const q = this.quantizer;
    for (let i = 0; i < scores.length; i++) {
      const b = q.index(scores[i]!);
      if (labels[i]) this.pos[b]!++;
      else this.neg[b]!++;
    }
  }

  /** Bytes held by the histogram (constant: it never grows with the data). */
  bytesHeld(): number {
    return this.pos.byteLength + this.neg.byteLength;
  }

  /** Bins as tie groups, highest bin first. */
  groups(): ScoreGroups {
    const n = this.quantizer.bins;
    const pos = new Float64Array(n);
    const neg = new Float64Array(n);
    const thresholds = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const b = n - 1 - k;
      pos[k] = this.pos[b]!;
      neg[k] = this.neg[b]!;
      thresholds[k] = this.quantizer.lowerEdge(b);
    }
    return { pos, neg, thresholds };
  }

  metrics(): BinnedRankingMetrics {
    const groups = this.groups();
    return { ...rankingMetrics(groups), bounds: binningBounds(groups) };
  }

  roc(maxPoints?: number): [number, number][] {
    return rocPoints(this.groups(), maxPoints);
  }

  pr(maxPoints?: number): [number, number][] {
    return prPoints(this.groups(), maxPoints);
  }
}

/** The intervals that contain the exact metrics of data binned into `groups` (see the header). */
export function binningBounds(groups: ScoreGroups): BinnedRankingMetrics['bounds'] {
  const binned = rankingMetrics(groups);
  const { positives: P, negatives: N } = binned;
  let tiedPairs = 0;
  let apLo = 0;
  let apHi = 0;
  let f1Hi = 0;
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < groups.pos.length; k++) {
    const p = groups.pos[k]!;
    const n = groups.neg[k]!;
    tiedPairs += p * n;
    if (p > 0) {
      apLo += (p / P) * ((tp + 1) / (tp + 1 + fp + n));
      apHi += (p / P) * ((tp + p) / (tp + p + fp));
      f1Hi = Math.max(f1Hi, (2 * (tp + p)) / (tp + p + fp + P));
    }
    tp += p;
    fp += n;
  }
  const aurocSlack = P > 0 && N > 0 ? (0.5 * tiedPairs) / (P * N) : Number.NaN;
  return {
    auroc: { lo: Math.max(0, binned.auroc - aurocSlack), hi: Math.min(1, binned.auroc + aurocSlack) },
    ap: P > 0 ? { lo: apLo, hi: apHi } : { lo: Number.NaN, hi: Number.NaN },
    f1Max: P > 0 ? { lo: binned.f1Max, hi: f1Hi } : { lo: Number.NaN, hi: Number.NaN },
  };
}
