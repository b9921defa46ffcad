// The corpus's working image: interleaved RGB floats on the 0..255 scale, converted to 8-bit
// exactly once at the end. Also the small colour and interpolation helpers every family uses.

import type { Rng } from '../../shared/random';

/** An 8-bit RGB image, row-major, interleaved. */
export interface RgbImage {
  width: number;
  height: number;
  channels: 3;
  data: Uint8Array;
}

export type Rgb = readonly [number, number, number];

export class Canvas {
  readonly data: Float32Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Float32Array(width * height * 3);
  }

  static fromImage(image: RgbImage): Canvas {
    const c = new Canvas(image.width, image.height);
    c.data.set(image.data);
    return c;
  }

  clone(): Canvas {
    const c = new Canvas(this.width, this.height);
    c.data.set(this.data);
    return c;
  }

  set(i: number, r: number, g: number, b: number): void {
    const k = i * 3;
    this.data[k] = r;
    this.data[k + 1] = g;
    this.data[k + 2] = b;
  }

  /** Per-pixel colour = base * shade (shade is a multiplicative brightness per pixel). */
  fillShaded(base: Rgb, shade: Float32Array): void {
    for (let i = 0; i < shade.length; i++) this.set(i, base[0] * shade[i]!, base[1] * shade[i]!, base[2] * shade[i]!);
  }

  /** Blends colour `c` over pixel i with opacity a (0..1). */
  blend(i: number, c: Rgb, a: number): void {
    const k = i * 3;
    const d = this.data;
    d[k] = d[k]! + (c[0] - d[k]!) * a;
    d[k + 1] = d[k + 1]! + (c[1] - d[k + 1]!) * a;
    d[k + 2] = d[k + 2]! + (c[2] - d[k + 2]!) * a;
  }

  /** Multiplies pixel i by f. */
  scale(i: number, f: number): void {
    const k = i * 3;
    this.data[k] = this.data[k]! * f;
    this.data[k + 1] = this.data[k + 1]! * f;
    this.data[k + 2] = this.data[k + 2]! * f;
  }

  /** Rec. 601 luma of pixel i (0..255 scale). */
  luma(i: number): number {
    const k = i * 3;
    return 0.299 * this.data[k]! + 0.587 * this.data[k + 1]! + 0.114 * this.data[k + 2]!;
  }

  /** Bilinear sample of channel ch at (x, y), clamped at the borders. */
  sample(x: number, y: number, ch: number): number {
    const w = this.width;
    const h = this.height;
    const cx = x < 0 ? 0 : x > w - 1 ? w - 1 : x;
    const cy = y < 0 ? 0 : y > h - 1 ? h - 1 : y;
    const x0 = Math.floor(cx);
    const y0 = Math.floor(cy);
    const x1 = x0 + 1 < w ? x0 + 1 : x0;
    const y1 = y0 + 1 < h ? y0 + 1 : y0;
    const fx = cx - x0;
    const fy = cy - y0;
    const d = this.data;
    const a = d[(y0 * w + x0) * 3 + ch]!;
    const b = d[(y0 * w + x1) * 3 + ch]!;
    const c = d[(y1 * w + x0) * 3 + ch]!;
    const e = d[(y1 * w + x1) * 3 + ch]!;
    return (a + (b - a) * fx) * (1 - fy) + (c + (e - c) * fx) * fy;
  }

  /** Rounds and clamps to an 8-bit image. */
  toImage(): RgbImage {
    const out = new Uint8Array(this.data.length);
    for (let i = 0; i < out.length; i++) out[i] = quantize(this.data[i]!);
    return { width: this.width, height: this.height, channels: 3, data: out };
  }
}

/** float on the 0..255 scale -> 8-bit, rounding half up, clamped. */
export function quantize(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.floor(v + 0.5);
}

export function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

export function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

/** Hermite smoothstep of x between edges e0 < e1. */
export function smoothstep(e0: number, e1: number, x: number): number {
  const t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3 - 2 * t);
}

export function mixRgb(a: Rgb, b: Rgb, t: number): Rgb {
  return [lerp(a[0], b[0], t), lerp(a[1], b[1], t), lerp(a[2], b[2], t)];
}

/**
 * Per-image colour variation of a palette colour: overall brightness (sd `brightness`) and a
 * per-channel tint (sd `tint`), both multiplicative, so the hue family stays recognisable.
 */
export function varyColour(base: Rgb, rng: Rng, brightness = 0.08, tint = 0.04): Rgb {
  const b = 1 + rng.normal() * brightness;
  return [base[0] * b * (1 + rng.normal() * tint), base[1] * b * (1 + rng.normal() * tint), base[2] * b * (1 + rng.normal() * tint)];
}

/** Picks one entry of a non-empty list uniformly. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

/** Uniform number in [lo, hi). */
export function between(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.uniform();
}

/** A random unit direction as (cos, sin) of a uniform angle. */
export function randomAxis(rng: Rng, maxAngle = Math.PI): [number, number] {
  const a = between(rng, -maxAngle, maxAngle);
  return [Math.cos(a), Math.sin(a)];
}
