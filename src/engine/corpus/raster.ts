// Anti-aliased rasterisation of strokes into coverage fields (0..1 per pixel), used by printed
// glyphs, scratches, cracks and wires. Each stroke only visits its bounding box.

export interface Field {
  width: number;
  height: number;
  data: Float32Array;
}

export function emptyField(width: number, height: number): Field {
  return { width, height, data: new Float32Array(width * height) };
}

/**
 * Max-composites a capsule-shaped stroke (segment (x0,y0)-(x1,y1) with half-width hw) into the
 * field. Coverage = clamp(hw + 0.5 - distance) approximates the pixel area covered, which
 * anti-aliases the edge over one pixel. `strength` scales the coverage.
 */
export function strokeSegment(f: Field, x0: number, y0: number, x1: number, y1: number, hw: number, strength = 1): void {
  const pad = hw + 1;
  const xa = Math.max(0, Math.floor(Math.min(x0, x1) - pad));
  const xb = Math.min(f.width - 1, Math.ceil(Math.max(x0, x1) + pad));
  const ya = Math.max(0, Math.floor(Math.min(y0, y1) - pad));
  const yb = Math.min(f.height - 1, Math.ceil(Math.max(y0, y1) + pad));
  const vx = x1 - x0;
  const vy = y1 - y0;
  const len2 = vx * vx + vy * vy;
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      // distance from pixel centre to the segment
      const px = x - x0;
      const py = y - y0;
      let t = len2 > 0 ? (px * vx + py * vy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const dx = px - t * vx;
      const dy = py - t * vy;
      const d = Math.sqrt(dx * dx + dy * dy);
      let c = hw + 0.5 - d;
      if (c <= 0) continue;
      if (c > 1) c = 1;
      c *= strength;
      const i = y * f.width + x;
      if (c > f.data[i]!) f.data[i] = c;
    }
  }
}

/** Strokes a polyline given as flat [x0, y0, x1, y1, ...]; half-width may vary per vertex. */
export function strokePolyline(f: Field, points: readonly number[], halfWidth: number | readonly number[], strength = 1): void {
  for (let k = 0; k + 3 < points.length; k += 2) {
    const hw = typeof halfWidth === 'number' ? halfWidth : (halfWidth[k / 2]! + halfWidth[k / 2 + 1]!) / 2;
    strokeSegment(f, points[k]!, points[k + 1]!, points[k + 2]!, points[k + 3]!, hw, strength);
  }
}

/** Points of a quadratic Bezier curve from p0 through control c to p1, as a flat list. */
export function bezierPoints(x0: number, y0: number, cx: number, cy: number, x1: number, y1: number, steps: number): number[] {
  const pts: number[] = [];
  for (let s = 0; s <= steps; s++) {
    const t = s / steps;
    const a = (1 - t) * (1 - t);
    const b = 2 * (1 - t) * t;
    const c = t * t;
    pts.push(a * x0 + b * cx + c * x1, a * y0 + b * cy + c * y1);
  }
  return pts;
}
