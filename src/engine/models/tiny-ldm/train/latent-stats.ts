// Statistics of a latent space that say how learnable it is for the UNet (issue 5): a channel
// whose neighbouring cells are uncorrelated is white noise to the denoiser, as hard to predict at
// low noise levels as the noise itself.
//
// Lag-1 spatial autocorrelation of one channel z (h x w), pooling horizontal and vertical pairs:
//   r = sum over neighbour pairs (p, q) of (z_p - m)(z_q - m)  /  (n_pairs * var)
// with m and var the channel's mean and (population) variance over all h*w cells: the sample
// autocorrelation at lag 1 (Box-Jenkins' estimator, extended to 2-D). White noise gives ~0, a
// field made of k x k constant blocks gives ~(k - 1) / k, a checkerboard exactly -1.

/** r of channel `c` of a [C, h, w] latent; null for a constant channel (no variance to correlate). */
export function lag1Autocorrelation(latent: Float32Array, channels: number, height: number, width: number, c: number): number | null {
  if (latent.length !== channels * height * width) throw new Error(`lag-1 autocorrelation: ${latent.length} values are not [${channels}, ${height}, ${width}]`);
  if (height < 2 && width < 2) throw new Error(`lag-1 autocorrelation: a ${height}x${width} channel has no neighbour pairs`);
  const plane = height * width;
  const base = c * plane;
  let sum = 0;
  for (let i = 0; i < plane; i++) sum += latent[base + i]!;
  const m = sum / plane;
  let sq = 0;
  for (let i = 0; i < plane; i++) sq += (latent[base + i]! - m) ** 2;
  const variance = sq / plane;
  if (variance <= 1e-20) return null;
  let cross = 0;
  let pairs = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = latent[base + y * width + x]! - m;
      if (x + 1 < width) {
        cross += d * (latent[base + y * width + x + 1]! - m);
        pairs++;
      }
      if (y + 1 < height) {
        cross += d * (latent[base + (y + 1) * width + x]! - m);
        pairs++;
      }
    }
  }
  return cross / (pairs * variance);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface AutocorrelationSummary {
  /** median r over every (latent, channel) pair */
  median: number;
  /** per channel, the median r over the latents */
  perChannel: number[];
  /** fraction of the (latent, channel) pairs with r < NOISE_LIKE_R: channels close to white noise */
  noiseLike: number;
  /** (latent, channel) pairs that were constant (left out of the medians) */
  constant: number;
}

/** Below this lag-1 correlation a channel counts as noise-like (the v1 latents' wood channels: 0.0). */
export const NOISE_LIKE_R = 0.2;

/** Lag-1 autocorrelation over a set of [C, h, w] latents. */
export function summariseAutocorrelation(latents: readonly Float32Array[], channels: number, height: number, width: number): AutocorrelationSummary {
  const perChannel: number[][] = Array.from({ length: channels }, () => []);
  let constant = 0;
  for (const z of latents) {
    for (let c = 0; c < channels; c++) {
      const r = lag1Autocorrelation(z, channels, height, width, c);
      if (r === null) constant++;
      else perChannel[c]!.push(r);
    }
  }
  const all = perChannel.flat();
  if (all.length === 0) throw new Error('lag-1 autocorrelation: every latent channel is constant');
  return { median: median(all), perChannel: perChannel.map((rs) => (rs.length > 0 ? median(rs) : Number.NaN)), noiseLike: all.filter((r) => r < NOISE_LIKE_R).length / all.length, constant };
}
