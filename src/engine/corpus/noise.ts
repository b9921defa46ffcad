// Procedural noise toolkit: gradient (Perlin) noise, value noise, fBm, domain warp and
// Worley/cellular noise. Every generator is built from a seeded Rng, keeps its lattice in
// precomputed typed tables (a 512-entry doubled permutation, so `perm[perm[x] + y]` never
// needs a modulo) and evaluates with integer lattice arithmetic plus polynomials only - no
// trigonometry - so a seed gives the same field on every platform.
//
// Other modules (the DRAEM-style Perlin-anomaly baseline) import `PerlinNoise`, `fbm` and
// `noiseField` from here for their masks.

import type { Rng } from '../../shared/random';

/** A 2-D scalar noise function, roughly in [-1, 1]. */
export interface Noise2 {
  at(x: number, y: number): number;
}

const TABLE = 256;
const MASK = TABLE - 1;

/** The doubled permutation table of Perlin's "Improved Noise", shuffled by `rng`. */
function permutation(rng: Rng): Uint8Array {
  const order = Array.from({ length: TABLE }, (_, i) => i);
  rng.shuffle(order);
  const perm = new Uint8Array(TABLE * 2);
  for (let i = 0; i < TABLE * 2; i++) perm[i] = order[i & MASK]!;
  return perm;
}

/** Quintic fade 6t^5 - 15t^4 + 10t^3: zero first and second derivative at lattice points. */
function fade(t: number): number {
  return t * t * t * (t * (t * 6 - 15) + 10);
}

// Eight unit-length gradient directions (axes and diagonals), as in Perlin's 2002 paper
// reduced to 2-D. Fixed constants: no sin/cos at run time.
const D = Math.SQRT1_2;
const GRAD_X = new Float32Array([1, -1, 0, 0, D, -D, D, -D]);
const GRAD_Y = new Float32Array([0, 0, 1, -1, D, D, -D, -D]);

/**
 * Gradient noise (Perlin 2002). Zero at every integer lattice point, smooth (C2) everywhere.
 * The raw 2-D value lies within +-sqrt(1/2); it is scaled by sqrt(2) to span about [-1, 1].
 */
export class PerlinNoise implements Noise2 {
  private readonly perm: Uint8Array;

  constructor(rng: Rng) {
    this.perm = permutation(rng);
  }

  at(x: number, y: number): number {
    const fx = Math.floor(x);
    const fy = Math.floor(y);
    const xi = fx & MASK;
    const yi = fy & MASK;
    const dx = x - fx;
    const dy = y - fy;
    const p = this.perm;
    const a = p[xi]! + yi;
    const b = p[xi + 1]! + yi;
    const gaa = p[a]! & 7;
    const gba = p[b]! & 7;
    const gab = p[a + 1]! & 7;
    const gbb = p[b + 1]! & 7;
    // dot(gradient at corner, offset from that corner)
    const naa = GRAD_X[gaa]! * dx + GRAD_Y[gaa]! * dy;
    const nba = GRAD_X[gba]! * (dx - 1) + GRAD_Y[gba]! * dy;
    const nab = GRAD_X[gab]! * dx + GRAD_Y[gab]! * (dy - 1);
    const nbb = GRAD_X[gbb]! * (dx - 1) + GRAD_Y[gbb]! * (dy - 1);
    const u = fade(dx);
    const v = fade(dy);
    const nx0 = naa + u * (nba - naa);
    const nx1 = nab + u * (nbb - nab);
    return (nx0 + v * (nx1 - nx0)) * Math.SQRT2;
  }
}

/** Value noise: a random value per lattice point, blended with the quintic fade. In [-1, 1]. */
export class ValueNoise implements Noise2 {
  private readonly perm: Uint8Array;
  private readonly values: Float32Array;

  constructor(rng: Rng) {
    this.perm = permutation(rng);
    this.values = rng.uniforms(TABLE, -1, 1);
  }

  at(x: number, y: number): number {
    const fx = Math.floor(x);
    const fy = Math.floor(y);
    const xi = fx & MASK;
    const yi = fy & MASK;
    const p = this.perm;
    const val = this.values;
    const a = p[xi]! + yi;
    const b = p[xi + 1]! + yi;
    const u = fade(x - fx);
    const v = fade(y - fy);
    const vaa = val[p[a]!]!;
    const vba = val[p[b]!]!;
    const vab = val[p[a + 1]!]!;
    const vbb = val[p[b + 1]!]!;
    const n0 = vaa + u * (vba - vaa);
    const n1 = vab + u * (vbb - vab);
    return n0 + v * (n1 - n0);
  }
}

export interface FbmOptions {
  /** number of octaves (1 = the plain noise) */
  octaves: number;
  /** frequency factor between octaves (default 2) */
  lacunarity?: number;
  /** amplitude factor between octaves (default 0.5) */
  gain?: number;
}

/**
 * Fractional Brownian motion: sum_k gain^k * noise(lacunarity^k * p), divided by sum_k gain^k
 * so the result keeps the range of the base noise. Each octave is shifted by an irrational
 * offset so lattice zeros of successive octaves do not line up at the origin.
 */
export function fbm(noise: Noise2, x: number, y: number, options: FbmOptions): number {
  const lacunarity = options.lacunarity ?? 2;
  const gain = options.gain ?? 0.5;
  let sum = 0;
  let norm = 0;
  let amp = 1;
  let freq = 1;
  for (let o = 0; o < options.octaves; o++) {
    sum += amp * noise.at(x * freq + o * 17.31, y * freq + o * 9.73);
    norm += amp;
    amp *= gain;
    freq *= lacunarity;
  }
  return sum / norm;
}

export interface FieldOptions extends FbmOptions {
  width: number;
  height: number;
  /** feature size in pixels of the first octave (noise period along x before stretching) */
  scale: number;
  /** extra stretch of the feature size along x and y (anisotropy; default 1) */
  stretchX?: number;
  stretchY?: number;
  /** rotation of the noise axes, as a unit direction (cos, sin); default (1, 0) */
  axis?: readonly [number, number];
  /** offset in noise units, to take different windows of one noise */
  offsetX?: number;
  offsetY?: number;
}

/** Samples fBm of `noise` on a width x height pixel grid into a Float32Array (row-major). */
export function noiseField(noise: Noise2, options: FieldOptions): Float32Array {
  const { width, height } = options;
  const out = new Float32Array(width * height);
  const sx = 1 / (options.scale * (options.stretchX ?? 1));
  const sy = 1 / (options.scale * (options.stretchY ?? 1));
  const [c, s] = options.axis ?? [1, 0];
  const ox = options.offsetX ?? 0;
  const oy = options.offsetY ?? 0;
  const single = options.octaves === 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // rotate pixel coordinates into the noise axes, then scale per axis
      const u = (c * x + s * y) * sx + ox;
      const v = (-s * x + c * y) * sy + oy;
      out[y * width + x] = single ? noise.at(u, v) : fbm(noise, u, v, options);
    }
  }
  return out;
}

/**
 * Domain warp (Quilez): displacement fields dx, dy = amount * fBm(p / scale) from two
 * independent noises. Sampling any pattern at (x + dx, y + dy) bends its straight features
 * into organic ones.
 */
export function warpFields(
  noiseX: Noise2,
  noiseY: Noise2,
  options: { width: number; height: number; scale: number; amount: number; octaves: number },
): { dx: Float32Array; dy: Float32Array } {
  const base = { width: options.width, height: options.height, scale: options.scale, octaves: options.octaves };
  const dx = noiseField(noiseX, base);
  const dy = noiseField(noiseY, { ...base, offsetX: 31.7, offsetY: 47.3 });
  for (let i = 0; i < dx.length; i++) {
    dx[i]! *= options.amount;
    dy[i]! *= options.amount;
  }
  return { dx, dy };
}

/** Result of one Worley evaluation: distances to the nearest and second-nearest feature point. */
export interface WorleySample {
  f1: number;
  f2: number;
  /** a hash (0..255) identifying the nearest point's cell: a per-cell random value */
  id: number;
}

/**
 * Worley (cellular) noise with one jittered feature point per unit cell: f1, f2 in cell units.
 * The point offsets come from per-hash tables, so the pattern is infinite and costs a 3x3
 * neighbourhood search per sample.
 */
export class WorleyNoise {
  private readonly perm: Uint8Array;
  private readonly jx: Float32Array;
  private readonly jy: Float32Array;

  /** jitter 1 = fully random point in each cell, 0 = a regular grid of cell centres */
  constructor(rng: Rng, jitter = 1) {
    this.perm = permutation(rng);
    this.jx = new Float32Array(TABLE);
    this.jy = new Float32Array(TABLE);
    for (let i = 0; i < TABLE; i++) {
      this.jx[i] = 0.5 + (rng.uniform() - 0.5) * jitter;
      this.jy[i] = 0.5 + (rng.uniform() - 0.5) * jitter;
    }
  }

  sample(x: number, y: number, out: WorleySample): WorleySample {
    const cx = Math.floor(x);
    const cy = Math.floor(y);
    let d1 = Infinity;
    let d2 = Infinity;
    let id = 0;
    const p = this.perm;
    for (let oy = -1; oy <= 1; oy++) {
      for (let ox = -1; ox <= 1; ox++) {
        const gx = cx + ox;
        const gy = cy + oy;
        const h = p[(p[gx & MASK]! + (gy & MASK)) & 511]!;
        const px = gx + this.jx[h]! - x;
        const py = gy + this.jy[h]! - y;
        const d = px * px + py * py;
        if (d < d1) {
          d2 = d1;
          d1 = d;
          id = h;
        } else if (d < d2) {
          d2 = d;
        }
      }
    }
    out.f1 = Math.sqrt(d1);
    out.f2 = Math.sqrt(d2);
    out.id = id;
    return out;
  }
}

/** Worley fields on a pixel grid with cells of `cellSize` pixels; f1/f2 in cell units. */
export function worleyField(
  noise: WorleyNoise,
  options: { width: number; height: number; cellSize: number; warp?: { dx: Float32Array; dy: Float32Array } },
): { f1: Float32Array; f2: Float32Array; id: Uint8Array } {
  const { width, height, cellSize, warp } = options;
  const n = width * height;
  const f1 = new Float32Array(n);
  const f2 = new Float32Array(n);
  const id = new Uint8Array(n);
  const s: WorleySample = { f1: 0, f2: 0, id: 0 };
  const inv = 1 / cellSize;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const wx = warp ? x + warp.dx[i]! : x;
      const wy = warp ? y + warp.dy[i]! : y;
      noise.sample(wx * inv, wy * inv, s);
      f1[i] = s.f1;
      f2[i] = s.f2;
      id[i] = s.id;
    }
  }
  return { f1, f2, id };
}
