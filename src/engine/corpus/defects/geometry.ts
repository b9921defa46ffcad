// Geometry shared by the defect families: choosing where a defect goes, wandering paths, and
// a distance field to a set of polylines (distance, side and position along the path per
// pixel) computed once per plan so every size s is a cheap threshold of it.

import type { Rng } from '../../../shared/random';
import { between } from '../canvas';
import type { PerlinNoise } from '../noise';
import type { DefectContext } from './types';

/** A random allowed pixel whose neighbours `margin` pixels away (4 directions) are allowed too. */
export function pickCentre(ctx: DefectContext, rng: Rng, margin: number): [number, number] {
  const { width: w, height: h, allowed } = ctx;
  const ok = (x: number, y: number): boolean => x >= 0 && y >= 0 && x < w && y < h && allowed[y * w + x] === 1;
  let fallback: [number, number] | undefined;
  for (let tries = 0; tries < 400; tries++) {
    const x = rng.int(w);
    const y = rng.int(h);
    if (!ok(x, y)) continue;
    fallback ??= [x, y];
    const m = tries < 200 ? margin : margin / 3;
    if (ok(x - m, y) && ok(x + m, y) && ok(x, y - m) && ok(x, y + m)) return [x, y];
  }
  if (fallback) return fallback;
  for (let i = 0; i < w * h; i++) if (allowed[i] === 1) return [i % w, Math.floor(i / w)];
  throw new Error('defect placement: the allowed region is empty');
}

/** A random allowed pixel on the region's border (a 4-neighbour is outside), with its outward normal. */
export function pickBorderPoint(ctx: DefectContext, rng: Rng): { x: number; y: number; nx: number; ny: number } {
  const { width: w, height: h, allowed } = ctx;
  const border: number[] = [];
  let sx = 0;
  let sy = 0;
  let count = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      if (allowed[i] !== 1) continue;
      sx += x;
      sy += y;
      count++;
      if (allowed[i - 1] === 0 || allowed[i + 1] === 0 || allowed[i - w] === 0 || allowed[i + w] === 0) border.push(i);
    }
  }
  if (border.length === 0) throw new Error('defect placement: the object has no border inside the image');
  const i = border[rng.int(border.length)]!;
  const x = i % w;
  const y = (i - x) / w;
  // outward normal: from the region's centroid through the border point (fine for convex parts)
  const dx = x - sx / count;
  const dy = y - sy / count;
  const len = Math.hypot(dx, dy) || 1;
  return { x, y, nx: dx / len, ny: dy / len };
}

/**
 * A smooth wandering path: unit steps whose heading drifts with 1-D noise (curvature), as a
 * flat [x0, y0, x1, y1, ...] list of `steps + 1` points.
 */
export function wanderingPath(noise: PerlinNoise, x0: number, y0: number, heading: number, steps: number, stepLen: number, curvature: number, seedOffset: number): number[] {
  const pts = [x0, y0];
  let x = x0;
  let y = y0;
  for (let k = 0; k < steps; k++) {
    const h = heading + curvature * noise.at(k * 0.07 + seedOffset, seedOffset * 0.37);
    x += Math.cos(h) * stepLen;
    y += Math.sin(h) * stepLen;
    pts.push(x, y);
  }
  return pts;
}

/** A path through (cx, cy): two wandering halves grown in opposite directions, joined. */
export function pathThrough(noise: PerlinNoise, rng: Rng, cx: number, cy: number, length: number, curvature: number, heading = between(rng, -Math.PI, Math.PI)): number[] {
  const steps = Math.max(2, Math.ceil(length / 2 / 3));
  const off = between(rng, 0, 100);
  const a = wanderingPath(noise, cx, cy, heading, steps, 3, curvature, off);
  const b = wanderingPath(noise, cx, cy, heading + Math.PI, steps, 3, curvature, off + 50);
  // reverse b (without its shared first point) and prepend
  const joined: number[] = [];
  for (let k = b.length - 2; k >= 2; k -= 2) joined.push(b[k]!, b[k + 1]!);
  return joined.concat(a);
}

export interface PathField {
  /** distance to the nearest path, Infinity beyond maxDist */
  dist: Float32Array;
  /** signed distance (positive on the left of the path's direction) */
  signed: Float32Array;
  /** position along the nearest path, 0..1 of its length */
  along: Float32Array;
  /** index of the nearest path (255 = none) */
  which: Uint8Array;
}

/** Distances from every pixel within maxDist of the paths to the nearest path segment. */
export function pathField(width: number, height: number, paths: readonly (readonly number[])[], maxDist: number): PathField {
  const n = width * height;
  const dist = new Float32Array(n).fill(Infinity);
  const signed = new Float32Array(n);
  const along = new Float32Array(n);
  const which = new Uint8Array(n).fill(255);
  paths.forEach((pts, p) => {
    // cumulative length for the along-path coordinate
    const segs = pts.length / 2 - 1;
    const cum = new Float32Array(segs + 1);
    for (let k = 0; k < segs; k++) cum[k + 1] = cum[k]! + Math.hypot(pts[2 * k + 2]! - pts[2 * k]!, pts[2 * k + 3]! - pts[2 * k + 1]!);
    const total = cum[segs]! || 1;
    for (let k = 0; k < segs; k++) {
      const x0 = pts[2 * k]!;
      const y0 = pts[2 * k + 1]!;
      const vx = pts[2 * k + 2]! - x0;
      const vy = pts[2 * k + 3]! - y0;
      const len2 = vx * vx + vy * vy || 1e-9;
      const len = Math.sqrt(len2);
      const xa = Math.max(0, Math.floor(Math.min(x0, x0 + vx) - maxDist));
      const xb = Math.min(width - 1, Math.ceil(Math.max(x0, x0 + vx) + maxDist));
      const ya = Math.max(0, Math.floor(Math.min(y0, y0 + vy) - maxDist));
      const yb = Math.min(height - 1, Math.ceil(Math.max(y0, y0 + vy) + maxDist));
      for (let y = ya; y <= yb; y++) {
        for (let x = xa; x <= xb; x++) {
          const px = x - x0;
          const py = y - y0;
          let t = (px * vx + py * vy) / len2;
          t = t < 0 ? 0 : t > 1 ? 1 : t;
          const dx = px - t * vx;
          const dy = py - t * vy;
          const d = Math.sqrt(dx * dx + dy * dy);
          const i = y * width + x;
          if (d < dist[i]! && d <= maxDist) {
            dist[i] = d;
            // cross product sign: which side of the segment direction the pixel lies on
            signed[i] = (vx * py - vy * px) / len >= 0 ? d : -d;
            along[i] = (cum[k]! + t * len) / total;
            which[i] = p;
          }
        }
      }
    }
  });
  return { dist, signed, along, which };
}
