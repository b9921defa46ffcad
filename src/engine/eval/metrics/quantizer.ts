// Maps a score to one of `bins` histogram bins, bin 0 the lowest. Two scales:
//  - 'linear' on [lo, hi];
//  - 'logit' for probabilities: u = ln(p / (1 - p)) on [-limit, limit]. Pixel probabilities of a
//    segmentation network crowd near 0 and 1, where linear bins would lump most good pixels into
//    one bin; in logit space the bins are even in the network's own units. Ranking metrics do not
//    change under this monotone map, only the binning does.
// Scores outside the range are clamped to the end bins; the histogram metrics' error bounds
// account for everything that shares a bin, clamped scores included.

export type ScoreScale = { kind: 'linear'; lo: number; hi: number } | { kind: 'logit'; limit: number };

export interface Quantizer {
  readonly bins: number;
  readonly scale: ScoreScale;
  /** the bin of a finite score */
  index(score: number): number;
  /** the lowest score that falls in bin b (scale units mapped back to scores) */
  lowerEdge(b: number): number;
}

export function createQuantizer(bins: number, scale: ScoreScale): Quantizer {
  if (!Number.isInteger(bins) || bins < 2) throw new Error(`quantizer: bins must be a whole number >= 2, got ${bins}`);
  const [lo, hi] = scale.kind === 'linear' ? [scale.lo, scale.hi] : [-scale.limit, scale.limit];
  if (!(hi > lo)) throw new Error(`quantizer: empty range [${lo}, ${hi}]`);
  const perUnit = bins / (hi - lo);
  const toUnit = scale.kind === 'linear' ? (s: number) => s : (p: number) => Math.log(p / (1 - p));
  const fromUnit = scale.kind === 'linear' ? (u: number) => u : (u: number) => 1 / (1 + Math.exp(-u));
  return {
    bins,
    scale,
    index(score) {
      const b = Math.floor((toUnit(score) - lo) * perUnit);
      // NaN (and p outside [0, 1] in logit mode) never reaches a bin silently
      if (Number.isNaN(b)) throw new Error(`quantizer: score ${score} has no bin on the ${scale.kind} scale`);
      return b < 0 ? 0 : b >= bins ? bins - 1 : b;
    },
    lowerEdge(b) {
      return fromUnit(lo + b / perUnit);
    },
  };
}
