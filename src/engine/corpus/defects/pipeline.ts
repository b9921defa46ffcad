// Applies a defect family to a normal image and derives its exact mask.
//
// The mask is defined by what changed: after painting, a pixel belongs to the defect when it is
// in the allowed region and one of its 8-bit channels moved by at least VISIBLE_LEVEL; every
// other pixel is copied back from the source bytes. So outside the mask the image is the source
// bit for bit, and inside the mask every pixel visibly differs - by construction, not by hope.
//
// Size: the target area is drawn log-uniformly from the requested range, and the plan's size
// parameter s is bisected until the mask's area is as close to it as the family allows.

import type { Rng } from '../../../shared/random';
import { UserError } from '../../../shared/errors';
import { Canvas, quantize } from '../canvas';
import type { RgbImage } from '../canvas';
import type { Material } from '../normals/types';
import type { DefectContext, DefectFamilyDef, DefectPlan, DefectResult } from './types';

/** Smallest 8-bit change (any channel) that counts as visible. */
export const VISIBLE_LEVEL = 4;

const PLAN_ATTEMPTS = 6;
const BISECTION_STEPS = 14;

export interface DefectInput {
  image: RgbImage;
  foreground?: Uint8Array;
  background?: RgbImage;
}

export function makeContext(normal: DefectInput, material: Material): DefectContext {
  const { width, height } = normal.image;
  const n = width * height;
  if (normal.image.channels !== 3 || normal.image.data.length !== n * 3) {
    throw new UserError('corpus-bad-image', `defect input must be ${width}x${height} RGB (3 channels, ${n * 3} bytes); got ${normal.image.data.length} bytes`);
  }
  const allowed = new Uint8Array(n);
  let count = 0;
  if (normal.foreground) {
    if (normal.foreground.length !== n) throw new UserError('corpus-bad-foreground', `foreground mask has ${normal.foreground.length} pixels, the image ${n}`);
    for (let i = 0; i < n; i++) {
      if (normal.foreground[i]! > 127) {
        allowed[i] = 1;
        count++;
      }
    }
    if (count === 0) throw new UserError('corpus-bad-foreground', 'foreground mask is empty: there is no object to place a defect on');
  } else {
    allowed.fill(1);
  }
  return {
    width,
    height,
    source: Canvas.fromImage(normal.image),
    allowed,
    isObject: normal.foreground !== undefined,
    background: normal.background ? Canvas.fromImage(normal.background) : undefined,
    material,
  };
}

interface Evaluated {
  image: Uint8Array;
  mask: Uint8Array;
  pixels: number;
}

/** Renders the plan at size s and keeps only the visible change inside the allowed region. */
function evaluate(ctx: DefectContext, src: Uint8Array, plan: DefectPlan, s: number): Evaluated {
  const out = ctx.source.clone();
  plan.render(s, out);
  const n = ctx.width * ctx.height;
  const image = new Uint8Array(src);
  const mask = new Uint8Array(n);
  let pixels = 0;
  const d = out.data;
  for (let i = 0; i < n; i++) {
    if (ctx.allowed[i] !== 1) continue;
    const k = i * 3;
    const r = quantize(d[k]!);
    const g = quantize(d[k + 1]!);
    const b = quantize(d[k + 2]!);
    if (Math.max(Math.abs(r - src[k]!), Math.abs(g - src[k + 1]!), Math.abs(b - src[k + 2]!)) >= VISIBLE_LEVEL) {
      image[k] = r;
      image[k + 1] = g;
      image[k + 2] = b;
      mask[i] = 255;
      pixels++;
    }
  }
  return { image, mask, pixels };
}

export function checkAreaRange(range: readonly [number, number], where: string): void {
  const [lo, hi] = range;
  if (!(lo > 0 && hi >= lo && hi <= 1)) {
    throw new UserError('corpus-bad-area', `${where}: areaRange must satisfy 0 < min <= max <= 1 (fractions of the image); got [${lo}, ${hi}]`);
  }
}

export function applyDefectFamily(def: DefectFamilyDef, ctx: DefectContext, srcBytes: Uint8Array, rng: Rng, areaRange: readonly [number, number]): DefectResult {
  checkAreaRange(areaRange, `defect '${def.name}'`);
  const n = ctx.width * ctx.height;
  const [lo, hi] = areaRange;
  let allowedCount = 0;
  for (let i = 0; i < n; i++) allowedCount += ctx.allowed[i]!;
  if (lo * n > allowedCount) {
    throw new UserError('corpus-bad-area', `defect '${def.name}': the requested minimum area ${lo} is larger than the object (${(allowedCount / n).toFixed(4)} of the image)`);
  }
  // log-uniform target: small and large defects equally likely per octave of area
  const target = Math.exp(Math.log(lo) + (Math.log(hi) - Math.log(lo)) * rng.uniform()) * n;
  let best: Evaluated | undefined;
  let bestMiss = Infinity;
  for (let attempt = 0; attempt < PLAN_ATTEMPTS && !best; attempt++) {
    const plan = def.plan(ctx, rng);
    const consider = (e: Evaluated): void => {
      if (e.pixels < lo * n || e.pixels > hi * n) return;
      const miss = Math.abs(Math.log(e.pixels / target));
      if (miss < bestMiss) {
        best = e;
        bestMiss = miss;
      }
    };
    const top = evaluate(ctx, srcBytes, plan, 1);
    consider(top);
    if (top.pixels < lo * n) continue; // this plan cannot grow large enough (e.g. a cramped spot)
    let a = 0;
    let b = 1;
    for (let step = 0; step < BISECTION_STEPS; step++) {
      const mid = (a + b) / 2;
      const e = evaluate(ctx, srcBytes, plan, mid);
      consider(e);
      if (e.pixels < target) a = mid;
      else b = mid;
    }
  }
  if (!best) {
    throw new UserError('corpus-area-unreachable', `defect '${def.name}' could not be made with an area in [${lo}, ${hi}] of the image on this image after ${PLAN_ATTEMPTS} tries; widen areaRange`);
  }
  const chosen: Evaluated = best;
  return { image: { width: ctx.width, height: ctx.height, channels: 3, data: chosen.image }, mask: chosen.mask, area: chosen.pixels / n };
}
