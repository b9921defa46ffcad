// AU-PRO, the area under the per-region-overlap curve (Bergmann et al., MVTec AD, IJCV 2021):
//   at threshold t:  FPR(t) = good pixels with score >= t / all good pixels (of every image)
//                    PRO(t) = mean over ground-truth regions c of |{p in c : s_p >= t}| / |c|
//   AU-PRO = integral of PRO d FPR from 0 to `limit` (0.3), trapezoids with the last segment
//   interpolated at the limit, divided by `limit` so a perfect map scores 1.
// Regions are 8-connected components of each image's mask, numbered per image.
//
// Streaming in constant memory: PRO(t) = (1/C) sum_{b >= bin(t)} W_b with
// W_b = sum_c (pixels of c in bin b) / |c|, so one weight histogram W, a histogram of good pixels
// and the region count C hold everything, whatever the number of images or regions.
// Error bound: between two consecutive bin thresholds both FPR and PRO are monotone, so the exact
// curve stays inside the box the two binned points span; the trapezoid is off by at most half the
// box (dF * dP / 2), and by at most dF' * dP in the segment cut at the limit (dF' = its part
// below the limit). The sum over segments, divided by the limit, is the returned bound.
import { connectedComponents } from './components';
import { createQuantizer, type Quantizer, type ScoreScale } from './quantizer';

export interface AuProResult {
  /** NaN when there are no regions or no good pixels */
  auPro: number;
  /** |exact AU-PRO - auPro| <= bound */
  bound: number;
  regions: number;
  /** (fpr, pro) points up to the limit, for plots */
  curve: [number, number][];
}

export class ProAccumulator {
  readonly quantizer: Quantizer;
  private readonly regionWeight: Float64Array;
  private readonly good: Float64Array;
  private regions = 0;

  constructor(
    bins: number,
    scale: ScoreScale,
    readonly limit = 0.3,
  ) {
    if (!(limit > 0 && limit <= 1)) throw new Error(`AU-PRO: the FPR limit must be in (0, 1], got ${limit}`);
    this.quantizer = createQuantizer(bins, scale);
    this.regionWeight = new Float64Array(bins);
    this.good = new Float64Array(bins);
  }

  /** Adds one image: its score map and binary mask (nonzero = defect), width x height row-major. */
  add(scores: ArrayLike<number>, mask: ArrayLike<number>, width: number, height: number): void {
    if (scores.length !== width * height) throw new Error(`AU-PRO: score map has ${scores.length} values, ${width}x${height} needs ${width * height}`);
    const { labels, count, sizes } = connectedComponents(mask, width, height);
    const q = this.quantizer;
    for (let i = 0; i < labels.length; i++) {
      const b = q.index(scores[i]!);
      const c = labels[i]!;
      if (c === 0) this.good[b]!++;
      else this.regionWeight[b]! += 1 / sizes[c]!;
    }
    this.regions += count;
  }

  bytesHeld(): number {
    return this.regionWeight.byteLength + this.good.byteLength;
  }

  result(): AuProResult {
    const bins = this.quantizer.bins;
    let goodTotal = 0;
    for (let b = 0; b < bins; b++) goodTotal += this.good[b]!;
    if (this.regions === 0 || goodTotal === 0) return { auPro: Number.NaN, bound: Number.NaN, regions: this.regions, curve: [] };
    const limit = this.limit;
    let area = 0;
    let slack = 0;
    let fpr = 0;
    let pro = 0;
    let fp = 0;
    let weight = 0;
    const curve: [number, number][] = [[0, 0]];
    for (let b = bins - 1; b >= 0; b--) {
      if (this.good[b] === 0 && this.regionWeight[b] === 0) continue;
      fp += this.good[b]!;
      weight += this.regionWeight[b]!;
      const nextFpr = fp / goodTotal;
      const nextPro = weight / this.regions;
      if (nextFpr >= limit) {
        // the segment that crosses the limit: interpolate PRO at the limit
        const part = limit - fpr;
        const t = nextFpr > fpr ? part / (nextFpr - fpr) : 0;
        const proAtLimit = pro + t * (nextPro - pro);
        area += part * (pro + proAtLimit) * 0.5;
        slack += part * (nextPro - pro);
        curve.push([limit, proAtLimit]);
        break;
      }
      area += (nextFpr - fpr) * (pro + nextPro) * 0.5;
      slack += (nextFpr - fpr) * (nextPro - pro) * 0.5;
      fpr = nextFpr;
      pro = nextPro;
      curve.push([fpr, pro]);
    }
    return { auPro: area / limit, bound: slack / limit, regions: this.regions, curve };
  }
}
