// Line-like defects: scratches, branching cracks and folds/wrinkles. Each plan lays out its
// full-size paths once (a PathField); size s selects how much of each path is drawn (the middle
// fraction s of its length) and how wide.

import type { Rng } from '../../../shared/random';
import { between, clamp01, pick, smoothstep } from '../canvas';
import type { Canvas } from '../canvas';
import { PerlinNoise, ValueNoise } from '../noise';
import { pathField, pathThrough, pickCentre, wanderingPath } from './geometry';
import type { DefectContext, DefectFamilyDef, DefectPlan } from './types';

/** true when position `along` (0..1) lies in the central fraction s of a path */
function inCentralPart(along: number, s: number): boolean {
  return Math.abs(along - 0.5) <= s / 2;
}

/**
 * Scratch: one to four thin, gently curved lines. On glossy/light-catching materials the groove
 * edge reflects the lamp (bright); on wood, leather and textiles it reads as a darker groove.
 * Brightness varies along the scratch (interrupted contact of the scratching tip).
 */
function planScratch(ctx: DefectContext, rng: Rng): DefectPlan {
  const noise = new PerlinNoise(rng);
  const count = rng.uniform() < 0.6 ? 1 : 2 + rng.int(3);
  const [cx, cy] = pickCentre(ctx, rng, 20);
  const paths: number[][] = [];
  const widths: number[] = [];
  const lengthMax = between(rng, 70, 230);
  // several scratches from one event run roughly parallel, side by side
  const heading = between(rng, -Math.PI, Math.PI);
  for (let k = 0; k < count; k++) {
    const side = k === 0 ? 0 : between(rng, -30, 30);
    const shift = between(rng, -20, 20);
    const ox = -Math.sin(heading) * side + Math.cos(heading) * shift;
    const oy = Math.cos(heading) * side + Math.sin(heading) * shift;
    paths.push(pathThrough(noise, rng, cx + ox, cy + oy, lengthMax * between(rng, 0.6, 1), between(rng, 0.2, 0.8), heading + between(rng, -0.35, 0.35)));
    widths.push(between(rng, 0.5, 1.4));
  }
  const maxHw = Math.max(...widths) * 1.5 + 1;
  const field = pathField(ctx.width, ctx.height, paths, maxHw + 1);
  const bright = ctx.material.scratchTone === 'bright';
  const strength = between(rng, 0.55, 0.9);
  const flicker = new ValueNoise(rng);
  return {
    render(s: number, out: Canvas): void {
      for (let i = 0; i < field.dist.length; i++) {
        const p = field.which[i]!;
        if (p === 255 || !inCentralPart(field.along[i]!, s)) continue;
        const hw = widths[p]! * (0.7 + 0.8 * s);
        const cover = clamp01(hw + 0.5 - field.dist[i]!);
        if (cover <= 0) continue;
        const a = cover * strength * (0.75 + 0.25 * flicker.at(field.along[i]! * 40, p * 7));
        const k = i * 3;
        const d = out.data;
        for (let c = 0; c < 3; c++) d[k + c] = bright ? d[k + c]! + (255 - d[k + c]!) * a * 0.75 + 18 * a : d[k + c]! * (1 - 0.6 * a);
      }
    },
  };
}

/**
 * Crack: a main fracture through the centre with tapering branches splitting off; dark (an open
 * gap in shadow), widest in the middle. Branches appear once the main crack has reached them.
 */
function planCrack(ctx: DefectContext, rng: Rng): DefectPlan {
  const noise = new PerlinNoise(rng);
  const [cx, cy] = pickCentre(ctx, rng, 25);
  const length = between(rng, 80, 240);
  const main = pathThrough(noise, rng, cx, cy, length, between(rng, 0.8, 1.6));
  const paths: number[][] = [main];
  // branch i starts at main-path position branchAt[i] (0..1)
  const branchAt: number[] = [-1];
  const branches = 1 + rng.int(4);
  const mainPoints = main.length / 2;
  for (let b = 0; b < branches; b++) {
    const at = between(rng, 0.15, 0.85);
    const idx = Math.min(mainPoints - 2, Math.floor(at * (mainPoints - 1)));
    const x = main[2 * idx]!;
    const y = main[2 * idx + 1]!;
    const dir = Math.atan2(main[2 * idx + 3]! - y, main[2 * idx + 2]! - x) + pick(rng, [-1, 1]) * between(rng, 0.4, 1.1);
    paths.push(wanderingPath(noise, x, y, dir, Math.ceil((length * between(rng, 0.15, 0.4)) / 3), 3, 1.2, between(rng, 0, 100)));
    branchAt.push(at);
  }
  const hwMax = between(rng, 1.2, 2.6);
  const field = pathField(ctx.width, ctx.height, paths, hwMax * 2 + 2);
  const darkness = between(rng, 0.65, 0.85);
  return {
    render(s: number, out: Canvas): void {
      for (let i = 0; i < field.dist.length; i++) {
        const p = field.which[i]!;
        if (p === 255) continue;
        const along = field.along[i]!;
        let hw: number;
        if (p === 0) {
          if (!inCentralPart(along, s)) continue;
          // taper towards the crack tips
          hw = hwMax * (0.35 + 0.65 * (1 - Math.abs(along - 0.5) / Math.max(s / 2, 1e-3))) * (0.5 + 0.5 * s);
        } else {
          if (!inCentralPart(branchAt[p]!, s)) continue;
          if (along > s) continue;
          hw = hwMax * 0.6 * (1 - along) * (0.5 + 0.5 * s);
        }
        const cover = clamp01(hw + 0.5 - field.dist[i]!);
        if (cover <= 0) continue;
        out.scale(i, 1 - darkness * cover);
      }
    },
  };
}

/**
 * Fold/wrinkle: a ridge along a long curve. Its shading is the derivative of a Gaussian across
 * the ridge (one flank faces the light, the other is in shadow), and the texture is pushed
 * towards the crest (material gathered into the fold).
 */
function planFold(ctx: DefectContext, rng: Rng): DefectPlan {
  const noise = new PerlinNoise(rng);
  const [cx, cy] = pickCentre(ctx, rng, 30);
  const path = pathThrough(noise, rng, cx, cy, between(rng, 120, 320), between(rng, 0.3, 0.9));
  const widthMax = between(rng, 5, 14);
  const field = pathField(ctx.width, ctx.height, [path], widthMax * 2.2);
  const contrast = between(rng, 0.22, 0.4) * pick(rng, [-1, 1]);
  const src = ctx.source;
  return {
    render(s: number, out: Canvas): void {
      const w = widthMax * (0.5 + 0.5 * s);
      for (let i = 0; i < field.dist.length; i++) {
        if (field.which[i] === 255) continue;
        const along = field.along[i]!;
        const extent = 0.4 + 0.6 * s;
        if (!inCentralPart(along, extent)) continue;
        const u = field.signed[i]! / w;
        if (Math.abs(u) > 2.2) continue;
        // the ridge fades out over the last 15% towards each end
        const fade = smoothstep(0, 0.15, extent / 2 - Math.abs(along - 0.5) + 0.02);
        const ridge = u * Math.exp(-u * u) * 2.33; // peak |value| ~1 at |u| = 0.707
        const shade = 1 + contrast * ridge * fade;
        // gather: sample the source from the crest's side, along the field's gradient (the
        // normal to the path), by up to a quarter of the ridge width
        const x = i % ctx.width;
        const y = (i - x) / ctx.width;
        const pull = 0.4 * u * Math.exp(-u * u) * w * fade;
        const [nx, ny] = fieldNormal(field.signed, ctx.width, ctx.height, x, y);
        const k = i * 3;
        for (let c = 0; c < 3; c++) out.data[k + c] = src.sample(x + nx * pull, y + ny * pull, c) * shade;
      }
    },
  };
}

/** Unit gradient of a signed distance field at (x, y) by central differences. */
function fieldNormal(signed: Float32Array, w: number, h: number, x: number, y: number): [number, number] {
  const xl = x > 0 ? x - 1 : x;
  const xr = x < w - 1 ? x + 1 : x;
  const yu = y > 0 ? y - 1 : y;
  const yd = y < h - 1 ? y + 1 : y;
  const gx = signed[y * w + xr]! - signed[y * w + xl]!;
  const gy = signed[yd * w + x]! - signed[yu * w + x]!;
  const len = Math.hypot(gx, gy);
  return len > 0 ? [gx / len, gy / len] : [0, 0];
}

export const LINE_DEFECTS: DefectFamilyDef[] = [
  { name: 'scratch', defaultArea: [0.001, 0.03], plan: planScratch },
  { name: 'crack', defaultArea: [0.001, 0.03], plan: planCrack },
  { name: 'fold', defaultArea: [0.01, 0.15], plan: planFold },
];
