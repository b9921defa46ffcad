import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containsPixel, maskContours, signedArea, type Point } from '../../../src/engine/export/contours';
import { decodeRle, encodeRle, maskBox } from '../../../src/engine/export/rle';
import { Rng } from '../../../src/shared/random';

function fromRows(rows: string[]): { mask: Uint8Array; width: number; height: number } {
  const height = rows.length;
  const width = rows[0]!.length;
  const mask = new Uint8Array(width * height);
  rows.forEach((r, y) => [...r].forEach((c, x) => (mask[y * width + x] = c === '#' ? 255 : 0)));
  return { mask, width, height };
}

function fill(polys: Point[][], width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (const p of polys) for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (containsPixel(p, x, y)) out[y * width + x] = 255;
  return out;
}

test('a rectangle is one 4-corner polygon on the pixel-corner grid', () => {
  const { mask, width, height } = fromRows(['.....', '.###.', '.###.', '.....']);
  const { outer, holes } = maskContours(mask, width, height);
  assert.deepEqual(outer, [[[1, 1], [4, 1], [4, 3], [1, 3]]]);
  assert.deepEqual(holes, []);
  assert.equal(signedArea(outer[0]!), 6);
});

test('diagonal neighbours are separate regions; a ring gives an outer loop and a hole of area 1', () => {
  const diag = fromRows(['#.', '.#']);
  assert.equal(maskContours(diag.mask, 2, 2).outer.length, 2);
  const ring = fromRows(['###', '#.#', '###']);
  const r = maskContours(ring.mask, 3, 3);
  assert.equal(r.outer.length, 1);
  assert.deepEqual(r.holes.map(signedArea), [-1]);
  // a ring whose corner is pinched: one region touching itself at a corner, still one simple walk
  const pinched = fromRows(['.##', '#.#', '###']);
  const p = maskContours(pinched.mask, 3, 3);
  assert.equal(p.outer.length, 1);
  assert.deepEqual(fill(p.outer, 3, 3), pinched.mask);
});

test('filling the outer polygons gives back every hole-free random mask exactly', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 40; trial++) {
    const width = 5 + rng.int(20);
    const height = 5 + rng.int(20);
    const mask = new Uint8Array(width * height);
    // random blobs of rectangles, then holes filled (YOLO polygons cannot carry holes)
    for (let k = 0; k < 1 + rng.int(4); k++) {
      const x0 = rng.int(width);
      const y0 = rng.int(height);
      const w = 1 + rng.int(6);
      const h = 1 + rng.int(6);
      for (let y = y0; y < Math.min(height, y0 + h); y++) for (let x = x0; x < Math.min(width, x0 + w); x++) mask[y * width + x] = 255;
    }
    const { outer, holes } = maskContours(mask, width, height);
    const filled = fill(outer, width, height);
    // filled = mask plus its holes: every mask pixel is covered, and removing the holes gives the mask
    const holesFilled = fill(holes, width, height);
    for (let i = 0; i < mask.length; i++) {
      if (mask[i]) assert.equal(filled[i], 255, `trial ${trial}: pixel ${i} lost`);
      else assert.equal(filled[i] !== 0 && holesFilled[i] === 0, false, `trial ${trial}: pixel ${i} added`);
    }
    const total = outer.reduce((s, p) => s + signedArea(p), 0) + holes.reduce((s, p) => s + signedArea(p), 0);
    assert.equal(total, mask.filter((v) => v > 0).length);
  }
});

test('COCO RLE: column-major runs starting with zeros, decoded back exactly; bbox and area', () => {
  const { mask, width, height } = fromRows(['#..', '.##']);
  // column-major: col0 = [1,0], col1 = [0,1], col2 = [0,1] -> 1,0,0,1,0,1
  assert.deepEqual(encodeRle(mask, width, height), { size: [2, 3], counts: [0, 1, 2, 1, 1, 1] });
  assert.deepEqual(maskBox(mask, width, height), { bbox: [0, 0, 3, 2], area: 3 });
  const empty = encodeRle(new Uint8Array(6), 3, 2);
  assert.deepEqual(empty.counts, [6]);
  const rng = new Rng(9);
  const random = Uint8Array.from({ length: 37 * 23 }, () => (rng.uniform() < 0.3 ? 255 : 0));
  assert.deepEqual(decodeRle(encodeRle(random, 37, 23)), random);
  assert.throws(() => decodeRle({ size: [2, 2], counts: [1, 1] }), /cover 2 pixels, the mask has 4/);
});
