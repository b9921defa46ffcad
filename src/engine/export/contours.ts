// Outer contours of a binary mask as polygons on the pixel-corner grid, for YOLO segmentation
// labels. Every set pixel contributes its edges that border an unset pixel (or the image edge),
// directed so that set pixels lie to the right when walking in screen coordinates (x right,
// y down): top edges run +x, right edges +y, bottom edges -x, left edges -y. These edges form
// closed loops; chaining them gives one loop per outer boundary (positive shoelace area) and one
// per hole (negative area). Where two set pixels touch only at a corner, the walk turns right,
// so diagonal neighbours are separate regions (4-connectivity). The outer loops, filled, cover
// exactly the set pixels plus the holes (which YOLO polygons cannot express); collinear corners
// are dropped, so a rectangle is 4 points.

export type Point = [number, number];

const key = (x: number, y: number, w: number): number => y * (w + 1) + x;

export function maskContours(mask: Uint8Array, width: number, height: number): { outer: Point[][]; holes: Point[][] } {
  if (mask.length !== width * height) throw new RangeError(`maskContours: ${mask.length} values for ${width}x${height}`);
  const set = (x: number, y: number): boolean => x >= 0 && y >= 0 && x < width && y < height && mask[y * width + x]! > 0;
  // outgoing directed edges per corner: [dx, dy]
  const out = new Map<number, Point[]>();
  const add = (x: number, y: number, dx: number, dy: number): void => {
    const k = key(x, y, width);
    const list = out.get(k);
    if (list) list.push([dx, dy]);
    else out.set(k, [[dx, dy]]);
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!set(x, y)) continue;
      if (!set(x, y - 1)) add(x, y, 1, 0);
      if (!set(x + 1, y)) add(x + 1, y, 0, 1);
      if (!set(x, y + 1)) add(x + 1, y + 1, -1, 0);
      if (!set(x - 1, y)) add(x, y + 1, 0, -1);
    }
  }
  const outer: Point[][] = [];
  const holes: Point[][] = [];
  // an edge is (corner, direction); the pairing of incoming to outgoing edges at a corner is fixed
  // (right turn first), so a loop that touches itself at a corner is still walked as one loop
  const dirIndex = (dx: number, dy: number): number => (dx === 1 ? 0 : dy === 1 ? 1 : dx === -1 ? 2 : 3);
  const used = new Set<number>();
  for (const [startKey, list] of out) {
    for (const [sdx, sdy] of list) {
      if (used.has(startKey * 4 + dirIndex(sdx, sdy))) continue;
      const sx = startKey % (width + 1);
      const sy = Math.floor(startKey / (width + 1));
      const loop: Point[] = [];
      let x = sx;
      let y = sy;
      let dx = sdx;
      let dy = sdy;
      for (;;) {
        used.add(key(x, y, width) * 4 + dirIndex(dx, dy));
        loop.push([x, y]);
        x += dx;
        y += dy;
        const options = out.get(key(x, y, width))!;
        // prefer the right turn (-dy, dx), then straight, then left
        const order: Point[] = [[-dy, dx], [dx, dy], [dy, -dx]];
        [dx, dy] = order.find(([ox, oy]) => options.some(([px, py]) => px === ox && py === oy))!;
        if (x === sx && y === sy && dx === sdx && dy === sdy) break;
      }
      const simple = dropCollinear(loop);
      (signedArea(simple) > 0 ? outer : holes).push(simple);
    }
  }
  return { outer, holes };
}

function dropCollinear(loop: Point[]): Point[] {
  const n = loop.length;
  return loop.filter((p, i) => {
    const a = loop[(i + n - 1) % n]!;
    const b = loop[(i + 1) % n]!;
    return (p[0] - a[0]) * (b[1] - p[1]) - (p[1] - a[1]) * (b[0] - p[0]) !== 0;
  });
}

/** Shoelace area (positive for the outer loops as traced here). */
export function signedArea(poly: Point[]): number {
  let s = 0;
  for (let i = 0; i < poly.length; i++) {
    const [x0, y0] = poly[i]!;
    const [x1, y1] = poly[(i + 1) % poly.length]!;
    s += x0 * y1 - x1 * y0;
  }
  return s / 2;
}

/** Even-odd test of a pixel centre (x + 0.5, y + 0.5) against a polygon. */
export function containsPixel(poly: Point[], x: number, y: number): boolean {
  const px = x + 0.5;
  const py = y + 0.5;
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
