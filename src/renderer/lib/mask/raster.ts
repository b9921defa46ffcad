// The mask being edited, at the image's own resolution: one byte per pixel, 0 or 1. Every tool
// writes here directly (never at screen resolution), so what is saved is exactly what was drawn,
// whatever the zoom. A pixel belongs to a shape when its CENTRE (x + 0.5, y + 0.5) lies inside
// it; that makes a shape's pixel count an unbiased estimate of its area. Pure TypeScript (no DOM),
// so it is tested under Node.

export interface Rect {
  x0: number;
  y0: number;
  /** exclusive */
  x1: number;
  /** exclusive */
  y1: number;
}

export interface Point {
  x: number;
  y: number;
}

export class BinaryMask {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    data?: Uint8Array,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new Error(`a mask needs a positive integer size, got ${width}x${height}`);
    }
    if (data && data.length !== width * height) throw new Error(`mask data holds ${data.length} pixels, expected ${width * height}`);
    this.data = data ?? new Uint8Array(width * height);
  }

  get full(): Rect {
    return { x0: 0, y0: 0, x1: this.width, y1: this.height };
  }

  area(): number {
    let n = 0;
    for (let i = 0; i < this.data.length; i++) n += this.data[i]!;
    return n;
  }

  /** The rectangle clipped to the mask; empty rectangles have x1 <= x0 or y1 <= y0. */
  clip(r: Rect): Rect {
    return {
      x0: Math.max(0, Math.min(this.width, r.x0)),
      y0: Math.max(0, Math.min(this.height, r.y0)),
      x1: Math.max(0, Math.min(this.width, r.x1)),
      y1: Math.max(0, Math.min(this.height, r.y1)),
    };
  }
}

export function isEmptyRect(r: Rect): boolean {
  return r.x1 <= r.x0 || r.y1 <= r.y0;
}

export function unionRect(a: Rect | null, b: Rect): Rect {
  if (!a || isEmptyRect(a)) return b;
  if (isEmptyRect(b)) return a;
  return { x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) };
}

/**
 * Effective radius of a binary brush. A brush of radius r and hardness h in [0, 1] has full
 * opacity out to h*r and fades linearly to 0 at r; a binary mask keeps the pixels painted at least
 * half opaque, i.e. those within h*r + (1 - h)*r/2 = r(1 + h)/2 of the stroke.
 */
export function effectiveRadius(radius: number, hardness: number): number {
  const h = Math.min(1, Math.max(0, hardness));
  return (radius * (1 + h)) / 2;
}

/**
 * Paints (value 1) or erases (value 0) every pixel whose centre is within `radius` of the segment
 * a-b: a round-capped stroke, so consecutive segments join without gaps. Returns the touched box.
 */
export function stampSegment(mask: BinaryMask, a: Point, b: Point, radius: number, value: 0 | 1): Rect {
  const r = Math.max(0.5, radius);
  const box = mask.clip({
    x0: Math.floor(Math.min(a.x, b.x) - r),
    y0: Math.floor(Math.min(a.y, b.y) - r),
    x1: Math.ceil(Math.max(a.x, b.x) + r) + 1,
    y1: Math.ceil(Math.max(a.y, b.y) + r) + 1,
  });
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const lengthSq = dx * dx + dy * dy;
  const r2 = r * r;
  for (let y = box.y0; y < box.y1; y++) {
    const cy = y + 0.5;
    for (let x = box.x0; x < box.x1; x++) {
      const cx = x + 0.5;
      // distance from the pixel centre to the closest point of the segment
      let t = lengthSq === 0 ? 0 : ((cx - a.x) * dx + (cy - a.y) * dy) / lengthSq;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = a.x + t * dx - cx;
      const ey = a.y + t * dy - cy;
      if (ex * ex + ey * ey <= r2) mask.data[y * mask.width + x] = value;
    }
  }
  return box;
}

/**
 * Fills a polygon (even-odd rule) by scanlines through the pixel centres: on each row the edges
 * crossing y + 0.5 are intersected, sorted, and the pixels whose centre lies between pairs of
 * crossings are set. Edges use the half-open rule (y0 <= yc < y1) so a vertex is counted once.
 */
export function fillPolygon(mask: BinaryMask, points: readonly Point[], value: 0 | 1): Rect {
  if (points.length < 3) return { x0: 0, y0: 0, x1: 0, y1: 0 };
  const box = mask.clip({
    x0: Math.floor(Math.min(...points.map((p) => p.x))),
    y0: Math.floor(Math.min(...points.map((p) => p.y))),
    x1: Math.ceil(Math.max(...points.map((p) => p.x))) + 1,
    y1: Math.ceil(Math.max(...points.map((p) => p.y))) + 1,
  });
  const crossings: number[] = [];
  for (let y = box.y0; y < box.y1; y++) {
    const yc = y + 0.5;
    crossings.length = 0;
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      const q = points[(i + 1) % points.length]!;
      if ((p.y <= yc && yc < q.y) || (q.y <= yc && yc < p.y)) crossings.push(p.x + ((yc - p.y) * (q.x - p.x)) / (q.y - p.y));
    }
    crossings.sort((u, v) => u - v);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // pixel x is inside when left <= x + 0.5 < right
      const from = Math.max(box.x0, Math.ceil(crossings[k]! - 0.5));
      const to = Math.min(box.x1, Math.ceil(crossings[k + 1]! - 0.5));
      mask.data.fill(value, y * mask.width + from, y * mask.width + Math.max(from, to));
    }
  }
  return box;
}

export function fillRect(mask: BinaryMask, a: Point, b: Point, value: 0 | 1): Rect {
  const x0 = Math.min(a.x, b.x);
  const x1 = Math.max(a.x, b.x);
  const y0 = Math.min(a.y, b.y);
  const y1 = Math.max(a.y, b.y);
  return fillPolygon(
    mask,
    [
      { x: x0, y: y0 },
      { x: x1, y: y0 },
      { x: x1, y: y1 },
      { x: x0, y: y1 },
    ],
    value,
  );
}

/** The polygon's area by the shoelace formula (for checks and for the editor's readout). */
export function polygonArea(points: readonly Point[]): number {
  let twice = 0;
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    const q = points[(i + 1) % points.length]!;
    twice += p.x * q.y - q.x * p.y;
  }
  return Math.abs(twice) / 2;
}

/**
 * Scanline flood fill over 4-connected pixels for which `inside(index)` holds, starting at
 * (sx, sy); calls `set(index)` on each exactly once. Returns the touched box.
 */
function floodFill(width: number, height: number, sx: number, sy: number, inside: (i: number) => boolean, set: (i: number) => void): Rect {
  const seen = new Uint8Array(width * height);
  const box: Rect = { x0: sx, y0: sy, x1: sx + 1, y1: sy + 1 };
  const stack: number[] = [sx, sy];
  while (stack.length > 0) {
    const y = stack.pop()!;
    let x = stack.pop()!;
    const row = y * width;
    if (seen[row + x] || !inside(row + x)) continue;
    // run left, then right, marking the whole span
    while (x > 0 && !seen[row + x - 1] && inside(row + x - 1)) x--;
    let up = false;
    let down = false;
    for (; x < width && !seen[row + x] && inside(row + x); x++) {
      seen[row + x] = 1;
      set(row + x);
      if (x < box.x0) box.x0 = x;
      if (x + 1 > box.x1) box.x1 = x + 1;
      // push one seed per run of fillable pixels in the rows above and below
      if (y > 0) {
        const ok = !seen[row - width + x] && inside(row - width + x);
        if (ok && !up) stack.push(x, y - 1);
        up = ok;
      }
      if (y + 1 < height) {
        const ok = !seen[row + width + x] && inside(row + width + x);
        if (ok && !down) stack.push(x, y + 1);
        down = ok;
      }
    }
    if (y < box.y0) box.y0 = y;
    if (y + 1 > box.y1) box.y1 = y + 1;
  }
  return box;
}

function seedOf(mask: BinaryMask, at: Point): { x: number; y: number } | null {
  const x = Math.floor(at.x);
  const y = Math.floor(at.y);
  return x < 0 || y < 0 || x >= mask.width || y >= mask.height ? null : { x, y };
}

/** Bucket fill: sets the connected region of the mask that has the clicked pixel's value to `value`. */
export function bucketFill(mask: BinaryMask, at: Point, value: 0 | 1): Rect {
  const seed = seedOf(mask, at);
  if (!seed) return { x0: 0, y0: 0, x1: 0, y1: 0 };
  const target = mask.data[seed.y * mask.width + seed.x]!;
  if (target === value) return { x0: 0, y0: 0, x1: 0, y1: 0 };
  return floodFill(mask.width, mask.height, seed.x, seed.y, (i) => mask.data[i] === target, (i) => (mask.data[i] = value));
}

/**
 * Magic wand: adds (or with value 0 removes) the 4-connected region of pixels whose colour is
 * within `tolerance` of the clicked pixel's, in every channel (max |difference| of R, G and B).
 * `rgba` is the image's pixels, 4 bytes each, at the mask's size.
 */
export function magicWand(mask: BinaryMask, rgba: Uint8ClampedArray | Uint8Array, at: Point, tolerance: number, value: 0 | 1): Rect {
  if (rgba.length !== mask.width * mask.height * 4) throw new Error('magicWand: the image and the mask differ in size');
  const seed = seedOf(mask, at);
  if (!seed) return { x0: 0, y0: 0, x1: 0, y1: 0 };
  const s = (seed.y * mask.width + seed.x) * 4;
  const r = rgba[s]!;
  const g = rgba[s + 1]!;
  const b = rgba[s + 2]!;
  const within = (i: number): boolean => {
    const p = i * 4;
    return Math.abs(rgba[p]! - r) <= tolerance && Math.abs(rgba[p + 1]! - g) <= tolerance && Math.abs(rgba[p + 2]! - b) <= tolerance;
  };
  return floodFill(mask.width, mask.height, seed.x, seed.y, within, (i) => (mask.data[i] = value));
}

export function invertMask(mask: BinaryMask): Rect {
  for (let i = 0; i < mask.data.length; i++) mask.data[i] = 1 - mask.data[i]!;
  return mask.full;
}

export function clearMask(mask: BinaryMask): Rect {
  mask.data.fill(0);
  return mask.full;
}

/** Copies the pixels of a box (row by row) out of a full-size buffer. */
export function copyRegion(data: Uint8Array, width: number, r: Rect): Uint8Array {
  const w = r.x1 - r.x0;
  const out = new Uint8Array(w * (r.y1 - r.y0));
  for (let y = r.y0; y < r.y1; y++) out.set(data.subarray(y * width + r.x0, y * width + r.x1), (y - r.y0) * w);
  return out;
}

export function pasteRegion(data: Uint8Array, width: number, r: Rect, region: Uint8Array): void {
  const w = r.x1 - r.x0;
  for (let y = r.y0; y < r.y1; y++) data.set(region.subarray((y - r.y0) * w, (y - r.y0 + 1) * w), y * width + r.x0);
}
