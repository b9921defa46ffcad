// Generation quality measures that need no pretrained network.
//
// Mask alignment: the share of the change a generator made that lies inside its mask,
//   sum over mask pixels of |x - y|_1 / sum over all pixels of |x - y|_1   (x generated, y normal).
//   1 means the defect is exactly where the label says; seams and stray changes lower it.
// Appearance diversity: the mean over pairs of samples of (1 - NCC(a, b)) / 2, where a, b are the
//   defects' bounding-box crops in grey, resampled to 16 x 16, and NCC their normalised
//   cross-correlation (Pearson correlation of the pixels). 0 = identical crops, 0.5 = unrelated,
//   1 = inverted. A pixel-statistics stand-in for IC-LPIPS.
// Mask diversity: the mean over pairs of 1 - IoU of the masks (0 = all masks the same).
// Both diversities use up to `limit` samples (all pairs among them).
import type { Mask, Picture } from './picture';

const THUMB = 16;

export function maskAlignment(generated: Picture, normal: Picture, mask: Mask): number {
  let inside = 0;
  let total = 0;
  for (let i = 0; i < mask.data.length; i++) {
    let d = 0;
    for (let c = 0; c < 3; c++) d += Math.abs(generated.data[i * 3 + c]! - normal.data[i * 3 + c]!);
    total += d;
    if (mask.data[i]) inside += d;
  }
  return total > 0 ? inside / total : Number.NaN;
}

/** 16x16 grey crop of the mask's bounding box, standardised to zero mean and unit norm. */
function defectThumbnail(p: Picture, m: Mask): Float64Array | null {
  let x0 = m.width, y0 = m.height, x1 = -1, y1 = -1;
  for (let i = 0; i < m.data.length; i++) {
    if (!m.data[i]) continue;
    const x = i % m.width, y = Math.floor(i / m.width);
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  if (x1 < 0) return null;
  const t = new Float64Array(THUMB * THUMB);
  for (let v = 0; v < THUMB; v++) {
    for (let u = 0; u < THUMB; u++) {
      const x = Math.min(x1, Math.floor(x0 + ((u + 0.5) * (x1 - x0 + 1)) / THUMB));
      const y = Math.min(y1, Math.floor(y0 + ((v + 0.5) * (y1 - y0 + 1)) / THUMB));
      const k = (y * p.width + x) * 3;
      t[v * THUMB + u] = (p.data[k]! + p.data[k + 1]! + p.data[k + 2]!) / 3;
    }
  }
  const mean = t.reduce((a, v) => a + v, 0) / t.length;
  let norm = 0;
  for (let i = 0; i < t.length; i++) {
    t[i]! -= mean;
    norm += t[i]! * t[i]!;
  }
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < t.length; i++) t[i]! /= norm;
  return t;
}

export interface Diversity {
  appearance: number;
  mask: number;
  samples: number;
}

export function diversity(items: readonly { picture: Picture; mask: Mask }[], limit = 50): Diversity {
  const used = items.slice(0, limit);
  const thumbs = used.map((s) => defectThumbnail(s.picture, s.mask));
  let appearance = 0, appearancePairs = 0, maskSum = 0, maskPairs = 0;
  for (let i = 0; i < used.length; i++) {
    for (let j = i + 1; j < used.length; j++) {
      const a = thumbs[i], b = thumbs[j];
      if (a && b) {
        let ncc = 0;
        for (let k = 0; k < a.length; k++) ncc += a[k]! * b[k]!;
        appearance += (1 - ncc) / 2;
        appearancePairs++;
      }
      let inter = 0, union = 0;
      const ma = used[i]!.mask.data, mb = used[j]!.mask.data;
      for (let k = 0; k < ma.length; k++) {
        inter += ma[k]! & mb[k]!;
        union += ma[k]! | mb[k]!;
      }
      if (union > 0) {
        maskSum += 1 - inter / union;
        maskPairs++;
      }
    }
  }
  return {
    appearance: appearancePairs ? appearance / appearancePairs : Number.NaN,
    mask: maskPairs ? maskSum / maskPairs : Number.NaN,
    samples: used.length,
  };
}
