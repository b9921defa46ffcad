// Area-like defects built on an irregular blob: holes with rims, stains, colour spots and glue.
// The blob is defined in coordinates normalised by its radius, so changing the size s scales one
// fixed shape (area grows monotonically with s, which the size search relies on).

import type { Rng } from '../../../shared/random';
import { between, clamp01, pick, smoothstep, varyColour } from '../canvas';
import type { Canvas, Rgb } from '../canvas';
import { PerlinNoise, fbm } from '../noise';
import { randomLight } from '../normals/scene';
import { pickCentre } from './geometry';
import type { DefectContext, DefectFamilyDef, DefectPlan } from './types';

interface Blob {
  cx: number;
  cy: number;
  /** anisotropy: the blob is an ellipse with axes (1, aspect) rotated by (ca, sa) */
  aspect: number;
  ca: number;
  sa: number;
  irregularity: number;
  octaves: number;
  noise: PerlinNoise;
}

function makeBlob(ctx: DefectContext, rng: Rng, margin: number, irregularity: number, maxAspect: number, octaves = 3): Blob {
  const [cx, cy] = pickCentre(ctx, rng, margin);
  const a = between(rng, 0, Math.PI);
  return { cx, cy, aspect: between(rng, 1, maxAspect), ca: Math.cos(a), sa: Math.sin(a), irregularity, octaves, noise: new PerlinNoise(rng) };
}

/**
 * Blob value at pixel (x, y) for radius R: 1 at the centre, 0 on the (noisy) outline, negative
 * outside. Also returns the normalised radial coordinate through `out`.
 */
function blobValue(b: Blob, x: number, y: number, R: number): number {
  const dx = (x - b.cx) / R;
  const dy = (y - b.cy) / R;
  const u = b.ca * dx + b.sa * dy;
  const v = (-b.sa * dx + b.ca * dy) * b.aspect;
  const r = Math.sqrt(u * u + v * v);
  return 1 - r + b.irregularity * fbm(b.noise, dx * 1.6 + 10, dy * 1.6 + 10, { octaves: b.octaves });
}

/** Visits every pixel of the blob's bounding box (radius R plus `pad`) with its blob value. */
function forBlob(ctx: DefectContext, b: Blob, R: number, pad: number, visit: (i: number, x: number, y: number, v: number) => void): void {
  const reach = R * (1 + b.irregularity) + pad;
  const xa = Math.max(0, Math.floor(b.cx - reach));
  const xb = Math.min(ctx.width - 1, Math.ceil(b.cx + reach));
  const ya = Math.max(0, Math.floor(b.cy - reach));
  const yb = Math.min(ctx.height - 1, Math.ceil(b.cy + reach));
  for (let y = ya; y <= yb; y++) for (let x = xa; x <= xb; x++) visit(y * ctx.width + x, x, y, blobValue(b, x, y, R));
}

/**
 * Hole: a punctured opening with a torn (noisy) outline. Inside, the depth darkens towards the
 * centre (a shadowed cavity showing whatever is behind). Around it a raised rim: bright on the
 * side facing the light, darker on the far side.
 */
function planHole(ctx: DefectContext, rng: Rng): DefectPlan {
  const blob = makeBlob(ctx, rng, 25, between(rng, 0.15, 0.35), 1.5, 4);
  const Rmax = between(rng, 25, 70);
  const [lx, ly] = randomLight(rng);
  const cavity: Rgb = pick<Rgb>(rng, [[10, 10, 12], [25, 20, 18], [5, 5, 5]]);
  return {
    render(s: number, out: Canvas): void {
      const R = Math.max(1.5, Rmax * s);
      // rim width in blob units (at least ~2 pixels)
      const rim = Math.max(2 / R, 0.22);
      forBlob(ctx, blob, R, R * rim + 2, (i, x, y, v) => {
        if (v >= 0) {
          // inside: from the edge tone to near-black at depth
          const depth = smoothstep(0, 0.5, v);
          const keep = 0.45 * (1 - depth);
          const k = i * 3;
          for (let c = 0; c < 3; c++) out.data[k + c] = out.data[k + c]! * keep + cavity[c]! * (1 - keep);
        } else if (v > -rim) {
          // rim: a torus cross-section; lit side facing (lx, ly)
          const t = -v / rim; // 0 at the edge .. 1 outside
          const ux = x - blob.cx;
          const uy = y - blob.cy;
          const len = Math.hypot(ux, uy) || 1;
          const facing = -(ux * lx + uy * ly) / len; // +1 where the rim faces the light
          const bump = Math.sin(Math.PI * (1 - t)) * (0.55 + 0.45 * (1 - t));
          const k = i * 3;
          for (let c = 0; c < 3; c++) {
            const p = out.data[k + c]!;
            out.data[k + c] = facing > 0 ? p + (255 - p) * 0.55 * bump * facing : p * (1 - 0.45 * bump * -facing);
          }
        }
      });
    },
  };
}

const STAINS: Rgb[] = [
  [120, 80, 40],
  [90, 90, 60],
  [60, 55, 50],
  [150, 120, 60],
  [70, 60, 90],
];

/**
 * Stain/contamination: a soft irregular blob that multiplies the surface by a stain colour (so
 * the texture shows through), densest in the middle and with a darker tide line at its edge
 * where the liquid dried.
 */
function planStain(ctx: DefectContext, rng: Rng): DefectPlan {
  const blob = makeBlob(ctx, rng, 20, between(rng, 0.3, 0.6), 2.2, 4);
  const Rmax = between(rng, 60, 150);
  const tint = varyColour(pick(rng, STAINS), rng, 0.15, 0.08);
  const opacity = between(rng, 0.45, 0.8);
  const tide = between(rng, 0, 0.35);
  return {
    render(s: number, out: Canvas): void {
      const R = Math.max(2, Rmax * s);
      forBlob(ctx, blob, R, 1, (i, _x, _y, v) => {
        if (v <= 0) return;
        // at least 40% of the opacity right at the edge: a stain has a visible border
        const a = opacity * (0.4 + 0.6 * smoothstep(0, 0.4, v)) + tide * (1 - smoothstep(0, 0.08, v));
        const k = i * 3;
        // absorb (multiply by the stain colour) and deposit (a little of the stain's own colour,
        // which is what makes a stain show on dark surfaces too)
        for (let c = 0; c < 3; c++) {
          const absorbed = out.data[k + c]! * (1 - a + (a * tint[c]!) / 160);
          out.data[k + c] = absorbed + (tint[c]! - absorbed) * a * 0.3;
        }
      });
    },
  };
}

const SPOTS: Rgb[] = [
  [200, 30, 30],
  [30, 60, 200],
  [30, 150, 50],
  [230, 200, 30],
  [20, 20, 20],
  [240, 240, 240],
  [200, 90, 20],
];

/**
 * Colour spot: a compact, nearly opaque spot of foreign colour (paint, dye, a fleck of another
 * material). The local shading of the surface is kept (the spot is lit like the surface).
 */
function planColourSpot(ctx: DefectContext, rng: Rng): DefectPlan {
  const blob = makeBlob(ctx, rng, 15, between(rng, 0.1, 0.3), 1.6, 3);
  const Rmax = between(rng, 15, 50);
  // a colour far from the surface: pick the palette entry most distant from the local colour
  const k0 = (blob.cy * ctx.width + blob.cx) * 3;
  const local: Rgb = [ctx.source.data[k0]!, ctx.source.data[k0 + 1]!, ctx.source.data[k0 + 2]!];
  const candidates = rng.shuffle([...SPOTS]).slice(0, 3);
  candidates.sort((p, q) => dist2(q, local) - dist2(p, local));
  const colour = varyColour(candidates[0]!, rng, 0.1, 0.05);
  const opacity = between(rng, 0.75, 0.95);
  const meanLuma = Math.max(20, ctx.source.luma(blob.cy * ctx.width + blob.cx));
  return {
    render(s: number, out: Canvas): void {
      const R = Math.max(1.5, Rmax * s);
      forBlob(ctx, blob, R, 1, (i, _x, _y, v) => {
        if (v <= 0) return;
        const a = opacity * (0.6 + 0.4 * smoothstep(0, 0.25, v));
        // keep the surface's shading: scale the spot colour by the local brightness ratio
        const shade = Math.sqrt(clamp01(out.luma(i) / meanLuma / 2) * 2);
        out.blend(i, [colour[0] * shade, colour[1] * shade, colour[2] * shade], a);
      });
    },
  };
}

function dist2(a: Rgb, b: Rgb): number {
  return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2;
}

const GLUES: Rgb[] = [
  [230, 200, 120],
  [240, 240, 235],
  [200, 160, 90],
  [210, 220, 200],
];

/**
 * Glue/residue: a smooth droplet. The surface is seen through it slightly magnified (a lens:
 * sampled nearer the centre), tinted by the glue, darker at the meniscus, with a specular
 * highlight where the droplet's dome faces the lamp.
 */
function planGlue(ctx: DefectContext, rng: Rng): DefectPlan {
  const blob = makeBlob(ctx, rng, 20, between(rng, 0.1, 0.25), 1.8, 2);
  const Rmax = between(rng, 25, 90);
  const tint = varyColour(pick(rng, GLUES), rng, 0.08, 0.05);
  const opacity = between(rng, 0.3, 0.55);
  const light = randomLight(rng);
  const src = ctx.source;
  return {
    render(s: number, out: Canvas): void {
      const R = Math.max(2, Rmax * s);
      forBlob(ctx, blob, R, 1, (i, x, y, v) => {
        if (v <= 0) return;
        // dome height h = sqrt(v) -> lens magnification and the surface normal
        const h = Math.sqrt(clamp01(v));
        const mx = blob.cx + (x - blob.cx) * (1 - 0.15 * h);
        const my = blob.cy + (y - blob.cy) * (1 - 0.15 * h);
        const edge = 1 - smoothstep(0, 0.15, v);
        const nx = ((x - blob.cx) / R) * (1 - h) * 1.5;
        const ny = ((y - blob.cy) / R) * (1 - h) * 1.5;
        const nl = Math.hypot(nx, ny, 1);
        const hx = light[0];
        const hy = light[1];
        const hz = light[2] + 1;
        const hl = Math.hypot(hx, hy, hz);
        const spec = Math.pow(Math.max(0, (nx * hx + ny * hy + hz) / (nl * hl)), 40);
        const k = i * 3;
        for (let c = 0; c < 3; c++) {
          const seen = src.sample(mx, my, c);
          const tinted = seen * (1 - opacity) + ((seen * tint[c]!) / 255) * opacity + 25 * opacity;
          out.data[k + c] = tinted * (1 - 0.35 * edge) + (255 - tinted) * spec * 0.8;
        }
      });
    },
  };
}

export const BLOB_DEFECTS: DefectFamilyDef[] = [
  { name: 'hole', defaultArea: [0.002, 0.08], plan: planHole },
  { name: 'stain', defaultArea: [0.005, 0.3], plan: planStain },
  { name: 'color_spot', defaultArea: [0.001, 0.05], plan: planColourSpot },
  { name: 'glue', defaultArea: [0.003, 0.15], plan: planGlue },
];
