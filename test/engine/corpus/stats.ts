// Small image statistics shared by the corpus tests.
import type { RgbImage } from '../../../src/engine/corpus';

export function lumaStats(image: RgbImage, where?: Uint8Array): { mean: number; std: number; saturated: number } {
  let sum = 0;
  let sum2 = 0;
  let n = 0;
  let saturated = 0;
  const d = image.data;
  for (let i = 0; i < image.width * image.height; i++) {
    if (where && where[i] === 0) continue;
    const l = 0.299 * d[i * 3]! + 0.587 * d[i * 3 + 1]! + 0.114 * d[i * 3 + 2]!;
    sum += l;
    sum2 += l * l;
    n++;
    if (l <= 1 || l >= 254) saturated++;
  }
  const mean = sum / n;
  return { mean, std: Math.sqrt(Math.max(0, sum2 / n - mean * mean)), saturated: saturated / n };
}
