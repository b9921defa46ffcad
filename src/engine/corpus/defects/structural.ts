// Defects that change the structure of the part or its pattern: cuts/missing pieces, bent or
// broken wires, and print defects (missing or smeared ink).

import type { Rng } from '../../../shared/random';
import { between, clamp01, pick, smoothstep } from '../canvas';
import type { Canvas, Rgb } from '../canvas';
import { PerlinNoise, fbm } from '../noise';
import { pathField, pathThrough, pickBorderPoint, pickCentre } from './geometry';
import type { DefectContext, DefectFamilyDef, DefectPlan } from './types';

/**
 * Cut / missing piece. On an object: a bite out of its outline at a random border point - the
 * background shows through where the object was, and the fresh cut face is a dark band along the
 * new edge. On a texture (no outline): a slit, a narrow lens-shaped gap showing the dark backing,
 * with slightly raised (lighter) lips.
 */
function planCut(ctx: DefectContext, rng: Rng): DefectPlan {
  return ctx.isObject ? planBite(ctx, rng) : planSlit(ctx, rng);
}

function planBite(ctx: DefectContext, rng: Rng): DefectPlan {
  const { x, y, nx, ny } = pickBorderPoint(ctx, rng);
  const Rmax = between(rng, 25, 70);
  const noise = new PerlinNoise(rng);
  const irregular = between(rng, 0.05, 0.25);
  const faceWidth = between(rng, 1.5, 3.5);
  const bg = ctx.background;
  // without a background image, use the mean colour of the pixels outside the object
  const mean = meanOutside(ctx);
  return {
    render(s: number, out: Canvas): void {
      const R = Math.max(2, Rmax * s);
      // bite centre sits outside the object so the cut opens onto the background
      const bx = x + nx * R * 0.45;
      const by = y + ny * R * 0.45;
      const reach = R * (1 + irregular) + faceWidth + 2;
      const xa = Math.max(0, Math.floor(bx - reach));
      const xb = Math.min(ctx.width - 1, Math.ceil(bx + reach));
      const ya = Math.max(0, Math.floor(by - reach));
      const yb = Math.min(ctx.height - 1, Math.ceil(by + reach));
      for (let py = ya; py <= yb; py++) {
        for (let px = xa; px <= xb; px++) {
          const i = py * ctx.width + px;
          if (ctx.allowed[i] !== 1) continue;
          const d = Math.hypot(px - bx, py - by) / R;
          const v = 1 - d + irregular * fbm(noise, (px - bx) / R * 2, (py - by) / R * 2, { octaves: 3 });
          if (v > 0) {
            if (bg) out.set(i, bg.data[i * 3]!, bg.data[i * 3 + 1]!, bg.data[i * 3 + 2]!);
            else out.set(i, mean[0], mean[1], mean[2]);
          } else if (-v * R < faceWidth) {
            // the exposed cut face: darker, fading into the intact surface
            out.scale(i, 0.45 + 0.45 * (-v * R) / faceWidth);
          }
        }
      }
    },
  };
}

function meanOutside(ctx: DefectContext): Rgb {
  let r = 0;
  let g = 0;
  let b = 0;
  let n = 0;
  for (let i = 0; i < ctx.width * ctx.height; i++) {
    if (ctx.allowed[i] === 1) continue;
    r += ctx.source.data[i * 3]!;
    g += ctx.source.data[i * 3 + 1]!;
    b += ctx.source.data[i * 3 + 2]!;
    n++;
  }
  return n > 0 ? [r / n, g / n, b / n] : [20, 20, 20];
}

function planSlit(ctx: DefectContext, rng: Rng): DefectPlan {
  const noise = new PerlinNoise(rng);
  const [cx, cy] = pickCentre(ctx, rng, 25);
  const path = pathThrough(noise, rng, cx, cy, between(rng, 90, 240), between(rng, 0.1, 0.4));
  const gapMax = between(rng, 5, 13);
  const field = pathField(ctx.width, ctx.height, [path], gapMax + 4);
  const backing: Rgb = pick<Rgb>(rng, [[15, 15, 15], [30, 25, 20], [40, 40, 45]]);
  return {
    render(s: number, out: Canvas): void {
      for (let i = 0; i < field.dist.length; i++) {
        if (field.which[i] === 255) continue;
        const along = field.along[i]!;
        const fromMiddle = Math.abs(along - 0.5) / Math.max(s / 2, 1e-3);
        if (fromMiddle > 1) continue;
        // lens profile: widest in the middle, closing at both ends
        const half = Math.max(0.6, gapMax * (0.35 + 0.65 * s) * Math.sqrt(1 - fromMiddle * fromMiddle));
        const d = field.dist[i]!;
        if (d < half) {
          const depth = smoothstep(0, half, half - d);
          out.blend(i, backing, 0.6 + 0.4 * depth);
        } else if (d < half + 1.5) {
          // raised lip of the cut
          const k = i * 3;
          for (let c = 0; c < 3; c++) out.data[k + c] = out.data[k + c]! + (255 - out.data[k + c]!) * 0.25;
        }
      }
    },
  };
}

/**
 * Bent or broken wire (meshes; any regular pattern). Bent: a smooth local displacement moves the
 * pattern sideways, so a wire leaves its place (the mask is where the pattern visibly moved).
 * Broken: within a short stretch the bright strands are replaced by the dark gap colour, with
 * the torn ends slightly displaced.
 */
function planBentWire(ctx: DefectContext, rng: Rng): DefectPlan {
  const [cx, cy] = pickCentre(ctx, rng, 20);
  const Rmax = between(rng, 20, 60);
  const dir = between(rng, -Math.PI, Math.PI);
  const [dx, dy] = [Math.cos(dir), Math.sin(dir)];
  const amount = between(rng, 3, 8);
  const broken = rng.uniform() < 0.4;
  const src = ctx.source;
  // the dark level of the pattern near the defect: 15th-percentile luma within 24 pixels
  const gap = darkColour(ctx, cx, cy, 24);
  const gapThreshold = gap.threshold;
  return {
    render(s: number, out: Canvas): void {
      const R = Math.max(2, Rmax * s);
      const xa = Math.max(0, Math.floor(cx - R));
      const xb = Math.min(ctx.width - 1, Math.ceil(cx + R));
      const ya = Math.max(0, Math.floor(cy - R));
      const yb = Math.min(ctx.height - 1, Math.ceil(cy + R));
      for (let y = ya; y <= yb; y++) {
        for (let x = xa; x <= xb; x++) {
          const r2 = ((x - cx) ** 2 + (y - cy) ** 2) / (R * R);
          if (r2 >= 1) continue;
          // smooth bump (1 - r^2)^2: zero displacement and slope at the edge
          const w = (1 - r2) * (1 - r2);
          const i = y * ctx.width + x;
          const k = i * 3;
          if (broken && r2 < 0.35) {
            if (src.luma(i) > gapThreshold) out.set(i, gap.colour[0], gap.colour[1], gap.colour[2]);
            continue;
          }
          const sx = x - dx * amount * w;
          const sy = y - dy * amount * w;
          for (let c = 0; c < 3; c++) out.data[k + c] = src.sample(sx, sy, c);
        }
      }
    },
  };
}

function darkColour(ctx: DefectContext, cx: number, cy: number, radius: number): { colour: Rgb; threshold: number } {
  const samples: number[] = [];
  for (let y = Math.max(0, cy - radius); y <= Math.min(ctx.height - 1, cy + radius); y++) {
    for (let x = Math.max(0, cx - radius); x <= Math.min(ctx.width - 1, cx + radius); x++) samples.push(y * ctx.width + x);
  }
  samples.sort((a, b) => ctx.source.luma(a) - ctx.source.luma(b));
  const dark = samples[Math.floor(samples.length * 0.15)]!;
  const median = ctx.source.luma(samples[Math.floor(samples.length * 0.5)]!);
  const d = ctx.source.data;
  return { colour: [d[dark * 3]!, d[dark * 3 + 1]!, d[dark * 3 + 2]!], threshold: (ctx.source.luma(dark) + median) / 2 };
}

/**
 * Print defect. Missing: the ink inside an irregular patch is gone (replaced by the paper colour,
 * estimated as the 90th-percentile-bright pixel around), as from a clogged nozzle or a scuff.
 * Smeared: ink dragged along one direction - each pixel takes the darkest value along a short
 * streak behind it, fading with distance.
 */
function planPrintDefect(ctx: DefectContext, rng: Rng): DefectPlan {
  const [cx, cy] = pickInk(ctx, rng);
  const noise = new PerlinNoise(rng);
  const Rmax = between(rng, 20, 70);
  const smear = rng.uniform() < 0.45;
  const dir = between(rng, -Math.PI, Math.PI);
  const [ux, uy] = [Math.cos(dir), Math.sin(dir)];
  const streak = between(rng, 6, 16);
  const paper = brightColour(ctx, cx, cy, 30);
  const src = ctx.source;
  return {
    render(s: number, out: Canvas): void {
      const R = Math.max(2, Rmax * s);
      const reach = R * 1.4;
      for (let y = Math.max(0, Math.floor(cy - reach)); y <= Math.min(ctx.height - 1, Math.ceil(cy + reach)); y++) {
        for (let x = Math.max(0, Math.floor(cx - reach)); x <= Math.min(ctx.width - 1, Math.ceil(cx + reach)); x++) {
          const v = 1 - Math.hypot(x - cx, y - cy) / R + 0.35 * fbm(noise, (x - cx) / R * 2, (y - cy) / R * 2, { octaves: 3 });
          if (v <= 0) continue;
          const i = y * ctx.width + x;
          const k = i * 3;
          if (!smear) {
            const a = 0.85 + 0.15 * clamp01(v * 4);
            out.blend(i, [paper[0] * (1 + 0.02 * noise.at(x * 0.7, y * 0.7)), paper[1], paper[2]], a);
            continue;
          }
          let best = src.luma(i);
          let bestW = 0;
          let bx = x;
          let by = y;
          for (let t = 1; t <= streak; t += 1) {
            const sx = x - ux * t;
            const sy = y - uy * t;
            const w = 1 - t / (streak + 1);
            const l = src.sample(sx, sy, 0) * 0.299 + src.sample(sx, sy, 1) * 0.587 + src.sample(sx, sy, 2) * 0.114;
            const pulled = src.luma(i) + (l - src.luma(i)) * w;
            if (pulled < best) {
              best = pulled;
              bestW = w;
              bx = sx;
              by = sy;
            }
          }
          if (bestW > 0) for (let c = 0; c < 3; c++) out.data[k + c] = out.data[k + c]! + (src.sample(bx, by, c) - out.data[k + c]!) * bestW * 0.85;
        }
      }
    },
  };
}

/** A pixel on printed marks: among random allowed pixels, the one darkest against its 9x9 mean. */
function pickInk(ctx: DefectContext, rng: Rng): [number, number] {
  let best: [number, number] = pickCentre(ctx, rng, 15);
  let bestContrast = -Infinity;
  for (let k = 0; k < 60; k++) {
    const [x, y] = pickCentre(ctx, rng, 15);
    let sum = 0;
    let n = 0;
    for (let yy = Math.max(0, y - 4); yy <= Math.min(ctx.height - 1, y + 4); yy++) {
      for (let xx = Math.max(0, x - 4); xx <= Math.min(ctx.width - 1, x + 4); xx++) {
        sum += ctx.source.luma(yy * ctx.width + xx);
        n++;
      }
    }
    const contrast = sum / n - ctx.source.luma(y * ctx.width + x);
    if (contrast > bestContrast) {
      bestContrast = contrast;
      best = [x, y];
    }
  }
  return best;
}

function brightColour(ctx: DefectContext, cx: number, cy: number, radius: number): Rgb {
  const samples: number[] = [];
  for (let y = Math.max(0, cy - radius); y <= Math.min(ctx.height - 1, cy + radius); y++) {
    for (let x = Math.max(0, cx - radius); x <= Math.min(ctx.width - 1, cx + radius); x++) {
      const i = y * ctx.width + x;
      if (ctx.allowed[i] === 1) samples.push(i);
    }
  }
  samples.sort((a, b) => ctx.source.luma(a) - ctx.source.luma(b));
  const p = samples[Math.floor(samples.length * 0.9)]!;
  const d = ctx.source.data;
  return [d[p * 3]!, d[p * 3 + 1]!, d[p * 3 + 2]!];
}

export const STRUCTURAL_DEFECTS: DefectFamilyDef[] = [
  { name: 'cut', defaultArea: [0.003, 0.06], plan: planCut },
  { name: 'bent_wire', defaultArea: [0.003, 0.08], plan: planBentWire },
  { name: 'print_defect', defaultArea: [0.002, 0.08], plan: planPrintDefect },
];
