// Where the masks of synthesis come from, behind one interface: the synthesis job asks a
// MaskSource for the next mask of a given size and seed, and records the returned origin in the
// sample's lineage. Sources:
//   learned  sampled from the type's mask embedding (mask-sampling.ts)
//   real     the type's training masks with random flips, scaling (0.75..1.25) and shifts
//   perlin   DRAEM-style: Perlin noise with a random period per axis, thresholded at 0.5
//   drawn    masks users drew for the type's images (masks table, source 'drawn'), resized
// Every source is a pure function of the request's seed (and its inputs), so a sample can be
// made again from its lineage. `withForeground` keeps masks on the product: the mask is cut to
// the foreground and redrawn (next seed) while too little of it is left.

import { UserError } from '../../shared/errors';
import { Rng } from '../../shared/random';
import { PerlinNoise, noiseField } from '../corpus/noise';
import type { BuiltinModel } from '../models/builtin/load';
import { resizeMask } from './augment';
import { intersectMasks } from './foreground';
import { maskArea, maskRejection } from './mask-rules';
import { DEFAULT_MASK_SAMPLING, sampleLearnedMask, type MaskSamplingSettings } from './mask-sampling';

export type MaskSourceKind = 'learned' | 'real' | 'perlin' | 'drawn';
export const MASK_SOURCE_KINDS: readonly MaskSourceKind[] = ['learned', 'real', 'perlin', 'drawn'];

export interface MaskRequest {
  width: number;
  height: number;
  seed: number;
  /** where the mask may go (0 / non-zero, width x height); used by withForeground */
  foreground?: Uint8Array;
  signal?: AbortSignal;
}

export interface SourcedMask {
  width: number;
  height: number;
  /** 0 / 255 */
  data: Uint8Array;
  /** what made it, for lineage (JSON) */
  origin: { kind: MaskSourceKind; seed: number } & Record<string, unknown>;
}

export interface MaskSource {
  readonly kind: MaskSourceKind;
  next(request: MaskRequest): Promise<SourcedMask>;
}

export interface StoredMask {
  /** masks table id */
  id: number;
  width: number;
  height: number;
  /** 0 / non-zero */
  data: Uint8Array;
}

function checkRequest(r: MaskRequest): void {
  if (!Number.isInteger(r.width) || !Number.isInteger(r.height) || r.width < 1 || r.height < 1) throw new RangeError(`mask size must be positive whole numbers, got ${r.width}x${r.height}`);
  if (r.foreground && r.foreground.length !== r.width * r.height) throw new RangeError(`foreground has ${r.foreground.length} pixels for ${r.width}x${r.height}`);
}

function bounds(mask: ArrayLike<number>, W: number, H: number): { x0: number; y0: number; x1: number; y1: number } {
  let x0 = W;
  let y0 = H;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (!(mask[y * W + x]! > 0)) continue;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  }
  return { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

export interface RealMaskOptions {
  flips: boolean;
  /** scale factor range about the mask's centre */
  scale: [number, number];
  shift: boolean;
}

export const DEFAULT_REAL_MASK: RealMaskOptions = { flips: true, scale: [0.75, 1.25], shift: true };

/**
 * A real mask moved: flipped (about the image centre), scaled by s about its bounding box's
 * centre and shifted so the box lands uniformly anywhere it fits. With c the box centre in the
 * flipped frame and c' the new centre, output pixel q reads the flipped mask at c + (q - c') / s
 * (nearest sample), i.e. the source at flip(c + (q - c') / s).
 */
function transformMask(mask: Uint8Array, W: number, H: number, rng: Rng, o: RealMaskOptions, kind: MaskSourceKind): { data: Uint8Array; details: Record<string, unknown> } {
  const flipX = o.flips && rng.uniform() < 0.5;
  const flipY = o.flips && rng.uniform() < 0.5;
  const box = bounds(mask, W, H);
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  // the scaled box must fit in the image
  const fit = Math.min(W / bw, H / bh);
  let s = Math.min(fit, o.scale[0] + rng.uniform() * (o.scale[1] - o.scale[0]));
  const cx = (box.x0 + box.x1) / 2;
  const cy = (box.y0 + box.y1) / 2;
  // where the (flipped) box's centre is; then a new centre where the scaled box fits
  const fcx = flipX ? W - cx : cx;
  const fcy = flipY ? H - cy : cy;
  const half = (len: number, sc: number): number => (len * sc) / 2;
  const pick = (len: number, extent: number, sc: number, current: number): number =>
    o.shift ? half(len, sc) + rng.uniform() * Math.max(0, extent - len * sc) : Math.min(Math.max(current, half(len, sc)), extent - half(len, sc));
  let ncx = pick(bw, W, s, fcx);
  let ncy = pick(bh, H, s, fcy);
  // flips act on the source, so render about the flipped centre
  const renderFlipped = (scale: number, x: number, y: number): Uint8Array => {
    const out = new Uint8Array(W * H);
    for (let yy = 0; yy < H; yy++) {
      for (let xx = 0; xx < W; xx++) {
        // point in the flipped frame, then unflip to the source
        const px = fcx + (xx + 0.5 - x) / scale;
        const py = fcy + (yy + 0.5 - y) / scale;
        const sx = Math.floor(flipX ? W - px : px);
        const sy = Math.floor(flipY ? H - py : py);
        if (sx < 0 || sy < 0 || sx >= W || sy >= H) continue;
        out[yy * W + xx] = mask[sy * W + sx]! > 0 ? 255 : 0;
      }
    }
    return out;
  };
  let data = renderFlipped(s, ncx, ncy);
  if (maskArea(data) === 0) {
    // scaled below one sample per pixel: keep its size and place
    s = 1;
    ncx = fcx;
    ncy = fcy;
    data = renderFlipped(1, ncx, ncy);
  }
  return { data, details: { kind, flipX, flipY, scale: s, centre: [ncx, ncy] } };
}

/** Real (or drawn) masks, picked uniformly, resized to the request, moved per `options`. */
export function storedMaskSource(kind: 'real' | 'drawn', masks: readonly StoredMask[], options: RealMaskOptions): MaskSource {
  if (masks.length === 0) {
    throw new UserError(kind === 'drawn' ? 'NO_DRAWN_MASKS' : 'NO_MASKS', kind === 'drawn' ? 'no drawn masks for this defect type; draw some in the mask editor first' : 'no real masks for this defect type');
  }
  const resized = new Map<string, Uint8Array>();
  return {
    kind,
    async next(req) {
      checkRequest(req);
      const rng = new Rng(req.seed);
      const pick = masks[rng.int(masks.length)]!;
      const key = `${pick.id}:${req.width}x${req.height}`;
      let base = resized.get(key);
      if (!base) {
        base = pick.width === req.width && pick.height === req.height ? Uint8Array.from(pick.data, (v) => (v > 0 ? 255 : 0)) : resizeMask(pick.data, pick, req);
        if (maskArea(base) === 0) base = resizeMaskAny(pick, req);
        resized.set(key, base);
      }
      const moved = transformMask(base, req.width, req.height, rng, options, kind);
      return { width: req.width, height: req.height, data: moved.data, origin: { ...moved.details, kind, seed: req.seed, maskId: pick.id } };
    },
  };
}

/** Resize where any coverage counts (a mask thinner than an output pixel keeps its trace). */
function resizeMaskAny(m: StoredMask, out: { width: number; height: number }): Uint8Array {
  const result = new Uint8Array(out.width * out.height);
  for (let y = 0; y < m.height; y++) {
    for (let x = 0; x < m.width; x++) {
      if (!(m.data[y * m.width + x]! > 0)) continue;
      const u = Math.min(out.width - 1, Math.floor(((x + 0.5) * out.width) / m.width));
      const v = Math.min(out.height - 1, Math.floor(((y + 0.5) * out.height) / m.height));
      result[v * out.width + u] = 255;
    }
  }
  return result;
}

export interface PerlinMaskOptions {
  /** the noise period is size / 2^k per axis, k drawn from [minExp, maxExp] (DRAEM: 0..5) */
  minExp: number;
  maxExp: number;
  threshold: number;
  maxAttempts: number;
}

export const DEFAULT_PERLIN_MASK: PerlinMaskOptions = { minExp: 0, maxExp: 5, threshold: 0.5, maxAttempts: 50 };

/** DRAEM-style Perlin blobs: rotated noise with random periods, thresholded; empty draws retried. */
export function perlinMaskSource(options: PerlinMaskOptions = DEFAULT_PERLIN_MASK): MaskSource {
  return {
    kind: 'perlin',
    async next(req) {
      checkRequest(req);
      const rng = new Rng(req.seed);
      for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
        const span = options.maxExp - options.minExp + 1;
        const kx = options.minExp + rng.int(span);
        const ky = options.minExp + rng.int(span);
        const angle = rng.uniform() * Math.PI;
        const noise = new PerlinNoise(rng);
        const scale = req.width / 2 ** kx;
        const field = noiseField(noise, {
          width: req.width,
          height: req.height,
          octaves: 1,
          scale,
          stretchY: req.height / 2 ** ky / scale,
          axis: [Math.cos(angle), Math.sin(angle)],
          offsetX: rng.uniform() * 64,
          offsetY: rng.uniform() * 64,
        });
        const data = Uint8Array.from(field, (v) => (v > options.threshold ? 255 : 0));
        if (maskArea(data) > 0) return { width: req.width, height: req.height, data, origin: { kind: 'perlin', seed: req.seed, periodExp: [kx, ky], angle, attempts: attempt } };
      }
      throw new UserError('MASK_GENERATION_FAILED', `Perlin masks: ${options.maxAttempts} draws were all empty at threshold ${options.threshold}`);
    },
  };
}

/** Masks sampled from a learned mask embedding, resized from the model's size to the request. */
export function learnedMaskSource(model: BuiltinModel, em: Float32Array, artifact: { id: number; version: number }, settings: MaskSamplingSettings = DEFAULT_MASK_SAMPLING): MaskSource {
  return {
    kind: 'learned',
    async next(req) {
      checkRequest(req);
      const sampled = await sampleLearnedMask(model, em, req.seed, settings, req.signal);
      const size = model.facts.imageSize;
      const data = size.width === req.width && size.height === req.height ? sampled.mask : resizeMask(sampled.mask, size, req);
      return {
        width: req.width,
        height: req.height,
        data,
        origin: { kind: 'learned', seed: req.seed, artifactId: artifact.id, artifactVersion: artifact.version, attempts: sampled.attempts, steps: settings.steps, guidance: settings.guidance, threshold: settings.threshold },
      };
    },
  };
}

export interface ForegroundOptions {
  /** the least share of the mask that must lie on the foreground */
  minKept: number;
  maxAttempts: number;
}

export const DEFAULT_FOREGROUND: ForegroundOptions = { minKept: 0.5, maxAttempts: 20 };

/** Seed of the a-th redraw: a fixed function of the request's seed. */
function redrawSeed(seed: number, attempt: number): number {
  return (Math.imul(seed >>> 0, 0x27d4eb2d) ^ Math.imul(attempt, 0x165667b1)) >>> 0;
}

/**
 * Keeps masks on the foreground: the inner mask is cut to request.foreground; a draw that loses
 * more than 1 - minKept of its area, or is left empty or along the border, is redrawn.
 * Without a foreground in the request, masks pass through unchanged.
 */
export function withForeground(source: MaskSource, options: ForegroundOptions = DEFAULT_FOREGROUND): MaskSource {
  return {
    kind: source.kind,
    async next(req) {
      checkRequest(req);
      if (!req.foreground) return source.next(req);
      if (maskArea(req.foreground) === 0) throw new UserError('FOREGROUND_EMPTY', 'the foreground mask is empty: no place for a defect');
      for (let attempt = 0; attempt < options.maxAttempts; attempt++) {
        const seed = attempt === 0 ? req.seed : redrawSeed(req.seed, attempt);
        const drawn = await source.next({ ...req, seed });
        const area = maskArea(drawn.data);
        const kept = intersectMasks(drawn.data, req.foreground);
        const keptArea = maskArea(kept);
        if (keptArea > 0 && keptArea >= options.minKept * area && maskRejection(kept, req.width, req.height) === null) {
          return { ...drawn, data: kept, origin: { ...drawn.origin, seed: req.seed, drawSeed: seed, foreground: { kept: keptArea / area, redraws: attempt } } };
        }
      }
      throw new UserError('MASK_FOREGROUND', `${source.kind} masks: ${options.maxAttempts} draws did not keep ${Math.round(options.minKept * 100)}% of their area on the foreground; check the foreground mask or use another mask source`);
    },
  };
}
