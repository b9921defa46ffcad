// Pixel-level metrics over a stream of (score map, mask) pairs in constant memory: one ranking
// histogram (AUROC, AP, F1-max with bounds on their exact values) and one AU-PRO accumulator,
// binned alike. Defaults: 2^16 bins on the logit scale over [-16, 16] (probabilities from about
// 1e-7 to 1 - 1e-7), i.e. 1.6 MB whatever the number of images.
import { ScoreHistogram, type BinnedRankingMetrics } from './histogram';
import { ProAccumulator, type AuProResult } from './pro';
import type { ScoreScale } from './quantizer';

export const DEFAULT_PIXEL_BINS = 1 << 16;
export const DEFAULT_PIXEL_SCALE: ScoreScale = { kind: 'logit', limit: 16 };

export interface PixelMetrics extends BinnedRankingMetrics {
  auPro: AuProResult;
}

export class PixelMetricsAccumulator {
  private readonly ranking: ScoreHistogram;
  private readonly pro: ProAccumulator;
  images = 0;

  constructor(bins = DEFAULT_PIXEL_BINS, scale: ScoreScale = DEFAULT_PIXEL_SCALE, proLimit = 0.3) {
    this.ranking = new ScoreHistogram(bins, scale);
    this.pro = new ProAccumulator(bins, scale, proLimit);
  }

  add(scores: ArrayLike<number>, mask: ArrayLike<number>, width: number, height: number): void {
    if (mask.length !== width * height) throw new Error(`pixel metrics: mask has ${mask.length} pixels, ${width}x${height} needs ${width * height}`);
    this.ranking.add(scores, mask);
    this.pro.add(scores, mask, width, height);
    this.images++;
  }

  bytesHeld(): number {
    return this.ranking.bytesHeld() + this.pro.bytesHeld();
  }

  metrics(): PixelMetrics {
    return { ...this.ranking.metrics(), auPro: this.pro.result() };
  }

  roc(maxPoints?: number): [number, number][] {
    return this.ranking.roc(maxPoints);
  }

  pr(maxPoints?: number): [number, number][] {
    return this.ranking.pr(maxPoints);
  }
}
