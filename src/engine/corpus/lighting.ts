// Camera-and-lamp effects applied on top of a rendered surface: a linear illumination
// gradient, lens vignetting and a specular band (the reflection of a strip light on a glossy
// surface). Parameters are drawn per image, so two images of one family never share lighting.

import type { Rng } from '../../shared/random';
import type { Canvas } from './canvas';
import { between, randomAxis } from './canvas';

export interface LightingStyle {
  /** largest relative brightness change across the image from the gradient */
  gradient: number;
  /** largest darkening at the corners from vignetting */
  vignette: number;
  /** peak strength of the specular band (0 = matte surface) */
  specular: number;
  /** specular band half-width in pixels, [min, max] */
  specularWidth?: readonly [number, number];
}

export function applyLighting(canvas: Canvas, rng: Rng, style: LightingStyle, region?: Uint8Array): void {
  const { width: w, height: h } = canvas;
  const [gx, gy] = randomAxis(rng);
  const gradient = between(rng, 0.3, 1) * style.gradient;
  const vignette = between(rng, 0.4, 1) * style.vignette;
  const cx = w / 2 + between(rng, -0.15, 0.15) * w;
  const cy = h / 2 + between(rng, -0.15, 0.15) * h;
  const half = Math.max(w, h) / 2;
  const rmax2 = (w * w + h * h) / 4;
  const useSpecular = style.specular > 0 && rng.uniform() < 0.85;
  const [sx, sy] = randomAxis(rng);
  const specPeak = between(rng, 0.5, 1) * style.specular;
  const [wMin, wMax] = style.specularWidth ?? [12, 40];
  const specWidth = between(rng, wMin, wMax);
  const specOffset = between(rng, -0.6, 0.6) * half;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (region && region[i] === 0) continue;
      const px = x - cx;
      const py = y - cy;
      // linear gradient: +-gradient/2 across the half-extent of the image
      let f = 1 + (gradient / 2) * ((px * gx + py * gy) / half);
      // vignette: quadratic fall-off with squared radius
      f *= 1 - vignette * ((px * px + py * py) / rmax2);
      canvas.scale(i, f < 0 ? 0 : f);
      if (useSpecular) {
        // Gaussian band at signed distance from a line through the centre; adds towards white
        const d = (px * sy - py * sx - specOffset) / specWidth;
        const s = specPeak * Math.exp(-d * d);
        if (s > 0.002) {
          const k = i * 3;
          const dd = canvas.data;
          dd[k] = dd[k]! + (255 - dd[k]!) * s;
          dd[k + 1] = dd[k + 1]! + (255 - dd[k + 1]!) * s;
          dd[k + 2] = dd[k + 2]! + (255 - dd[k + 2]!) * s;
        }
      }
    }
  }
}

/**
 * Adds per-pixel Gaussian sensor noise with standard deviation `sigma` (0..255 scale) to one or
 * more canvases (identical noise on each: a scene and its background stay pixel-aligned).
 * Draws come from a per-image table of 4096 normals indexed by uniform integers: one cheap
 * integer draw per value instead of a Box-Muller pair, with no visible repetition at this size.
 */
export function addSensorNoise(canvas: Canvas, rng: Rng, sigma: number, alsoTo?: Canvas): void {
  const table = rng.normals(4096, sigma);
  const d = canvas.data;
  const e = alsoTo?.data;
  for (let i = 0; i < d.length; i++) {
    const v = table[rng.nextU32() & 4095]!;
    d[i] = d[i]! + v;
    if (e) e[i] = e[i]! + v;
  }
}
