// The mask editor's pixel maths (src/renderer/lib/mask, pure TypeScript) under Node, checked
// against independent values: exact pixel counts for axis-aligned shapes, analytic areas (shoelace,
// pi r^2, capsules) for the rest, and hand-built images for the fills.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// The renderer's modules belong to tsconfig.web.json; a computed path keeps the Node project's tsc
// from following them, tsx runs them (as test/main/ipc/contract.test.ts does for the catalogue).
const maskDir = join(import.meta.dirname, '..', '..', 'src', 'renderer', 'lib', 'mask');
const load = (name: string) => import(pathToFileURL(join(maskDir, `${name}.ts`)).href);
type Pt = { x: number; y: number };
type Box = { x0: number; y0: number; x1: number; y1: number };
interface Mask {
  width: number;
  height: number;
  data: Uint8Array;
  area(): number;
}
const raster = (await load('raster')) as {
  BinaryMask: new (w: number, h: number, d?: Uint8Array) => Mask;
  stampSegment(m: Mask, a: Pt, b: Pt, r: number, v: 0 | 1): Box;
  fillPolygon(m: Mask, p: Pt[], v: 0 | 1): Box;
  fillRect(m: Mask, a: Pt, b: Pt, v: 0 | 1): Box;
  polygonArea(p: Pt[]): number;
  bucketFill(m: Mask, at: Pt, v: 0 | 1): Box;
  magicWand(m: Mask, rgba: Uint8Array, at: Pt, tol: number, v: 0 | 1): Box;
  invertMask(m: Mask): Box;
  clearMask(m: Mask): Box;
  effectiveRadius(r: number, h: number): number;
};
const { MaskHistory } = (await load('history')) as {
  MaskHistory: new (budget?: number) => { record(m: Mask, before: Uint8Array, box: Box): boolean; undo(m: Mask): Box | null; redo(m: Mask): Box | null; canUndo: boolean; canRedo: boolean; undoDepth: number };
};
const { paintOverlay } = (await load('overlay')) as { paintOverlay(m: Mask, out: Uint8ClampedArray, box: Box, c: [number, number, number], mode: 'fill' | 'outline'): Box };

const { BinaryMask } = raster;

test('a rectangle with integer corners covers exactly its w x h pixels', () => {
  const m = new BinaryMask(40, 30);
  raster.fillRect(m, { x: 20, y: 15 }, { x: 10, y: 10 }, 1);
  assert.equal(m.area(), 50);
  assert.equal(m.data[10 * 40 + 10], 1);
  assert.equal(m.data[9 * 40 + 10], 0);
  assert.equal(m.data[10 * 40 + 20], 0, 'the far edge is exclusive');
  raster.fillRect(m, { x: 12, y: 11 }, { x: 14, y: 13 }, 0);
  assert.equal(m.area(), 46);
});

test('polygon pixel counts match the shoelace area within 1% (convex and concave)', () => {
  const shapes: Pt[][] = [
    [
      { x: 30.3, y: 20.7 },
      { x: 260.2, y: 45.1 },
      { x: 210.9, y: 190.4 },
      { x: 48.6, y: 170.2 },
    ],
    // an L shape (concave)
    [
      { x: 10, y: 10 },
      { x: 150.5, y: 10 },
      { x: 150.5, y: 60.25 },
      { x: 60.25, y: 60.25 },
      { x: 60.25, y: 190 },
      { x: 10, y: 190 },
    ],
  ];
  for (const shape of shapes) {
    const m = new BinaryMask(300, 220);
    raster.fillPolygon(m, shape, 1);
    const expected = raster.polygonArea(shape);
    assert.ok(Math.abs(m.area() - expected) / expected < 0.01, `area ${m.area()} vs ${expected}`);
  }
  const triangleArea = raster.polygonArea([
    { x: 0, y: 0 },
    { x: 4, y: 0 },
    { x: 0, y: 3 },
  ]);
  assert.equal(triangleArea, 6);
  assert.equal(raster.fillPolygon(new BinaryMask(5, 5), [{ x: 1, y: 1 }, { x: 2, y: 2 }], 1).x1, 0, 'fewer than 3 points draw nothing');
});

test('a brush dab covers pi r^2 and a stroke the capsule 2rL + pi r^2; erasing removes it again', () => {
  const m = new BinaryMask(200, 200);
  raster.stampSegment(m, { x: 100, y: 100 }, { x: 100, y: 100 }, 30, 1);
  assert.ok(Math.abs(m.area() - Math.PI * 900) / (Math.PI * 900) < 0.01, `disc ${m.area()}`);
  raster.clearMask(m);
  raster.stampSegment(m, { x: 40, y: 60 }, { x: 160, y: 110 }, 12, 1);
  const length = Math.hypot(120, 50);
  const capsule = 2 * 12 * length + Math.PI * 144;
  assert.ok(Math.abs(m.area() - capsule) / capsule < 0.01, `capsule ${m.area()} vs ${capsule}`);
  raster.stampSegment(m, { x: 40, y: 60 }, { x: 160, y: 110 }, 13, 0);
  assert.equal(m.area(), 0);
  // a stroke off the image is clipped, not an error
  raster.stampSegment(m, { x: -50, y: -50 }, { x: 5, y: 5 }, 3, 1);
  assert.ok(m.area() > 0);
});

test('hardness shrinks the binary brush to the half-opacity radius r(1 + h)/2', () => {
  assert.equal(raster.effectiveRadius(10, 1), 10);
  assert.equal(raster.effectiveRadius(10, 0), 5);
  assert.equal(raster.effectiveRadius(10, 0.5), 7.5);
  assert.equal(raster.effectiveRadius(10, 7), 10, 'hardness is clamped to [0, 1]');
});

test('bucket fill fills the enclosed hole of a ring and nothing outside it', () => {
  const m = new BinaryMask(50, 50);
  raster.fillRect(m, { x: 10, y: 10 }, { x: 40, y: 40 }, 1);
  raster.fillRect(m, { x: 15, y: 15 }, { x: 35, y: 35 }, 0);
  const ring = m.area();
  assert.equal(ring, 900 - 400);
  const box = raster.bucketFill(m, { x: 20.5, y: 20.5 }, 1);
  assert.equal(m.area(), 900);
  assert.deepEqual(box, { x0: 15, y0: 15, x1: 35, y1: 35 });
  assert.equal(raster.bucketFill(m, { x: 20, y: 20 }, 1).x1, 0, 'filling with the same value changes nothing');
  raster.bucketFill(m, { x: 0, y: 0 }, 1);
  assert.equal(m.area(), 2500);
});

test('the magic wand selects the connected region of similar colour only', () => {
  const w = 20;
  const h = 10;
  const rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      // left half grey 100 with slight noise (+-3), a dark column at x = 10, right half grey 100 again
      const v = x === 10 ? 20 : 100 + ((x + y) % 3) - 1;
      rgba[p] = rgba[p + 1] = rgba[p + 2] = v;
      rgba[p + 3] = 255;
    }
  }
  const m = new BinaryMask(w, h);
  raster.magicWand(m, rgba, { x: 2, y: 2 }, 5, 1);
  assert.equal(m.area(), 10 * h, 'stops at the dark column; the right half is not connected');
  raster.clearMask(m);
  raster.magicWand(m, rgba, { x: 2, y: 2 }, 0, 1);
  assert.ok(m.area() < 10 * h && m.area() > 0, 'tolerance 0 keeps only the exact colour');
  raster.clearMask(m);
  raster.magicWand(m, rgba, { x: 2, y: 2 }, 90, 1);
  assert.equal(m.area(), w * h, 'a wide tolerance crosses the dark column');
  assert.throws(() => raster.magicWand(new BinaryMask(3, 3), rgba, { x: 0, y: 0 }, 1, 1), /differ in size/);
});

test('invert and clear', () => {
  const m = new BinaryMask(10, 10);
  raster.fillRect(m, { x: 0, y: 0 }, { x: 3, y: 10 }, 1);
  raster.invertMask(m);
  assert.equal(m.area(), 70);
  raster.clearMask(m);
  assert.equal(m.area(), 0);
});

test('history undoes and redoes every step exactly, forgets redo after a new step, and keeps to its budget', () => {
  const m = new BinaryMask(64, 64);
  const h = new MaskHistory();
  const snapshots: Uint8Array[] = [m.data.slice()];
  const ops = [
    () => raster.stampSegment(m, { x: 5, y: 5 }, { x: 50, y: 40 }, 4, 1),
    () => raster.fillPolygon(m, [{ x: 30, y: 2 }, { x: 60, y: 10 }, { x: 40, y: 60 }], 1),
    () => raster.invertMask(m),
    () => raster.stampSegment(m, { x: 10, y: 50 }, { x: 12, y: 52 }, 6, 0),
  ];
  for (const op of ops) {
    const before = m.data.slice();
    assert.ok(h.record(m, before, op()));
    snapshots.push(m.data.slice());
  }
  assert.equal(h.undoDepth, 4);
  for (let i = ops.length - 1; i >= 0; i--) {
    h.undo(m);
    assert.deepEqual(m.data, snapshots[i], `after undoing step ${i + 1}`);
  }
  assert.equal(h.canUndo, false);
  assert.equal(h.undo(m), null);
  h.redo(m);
  h.redo(m);
  assert.deepEqual(m.data, snapshots[2]);
  const before = m.data.slice();
  assert.equal(h.record(m, before, { x0: 0, y0: 0, x1: 64, y1: 64 }), false, 'a step that changed nothing is not recorded');
  h.record(m, before, raster.clearMask(m));
  assert.equal(h.canRedo, false);

  const small = new MaskHistory(64 * 64 * 2 * 2);
  for (let i = 0; i < 5; i++) {
    const b = m.data.slice();
    small.record(m, b, raster.invertMask(m));
  }
  assert.equal(small.undoDepth, 2, 'only the steps that fit the budget are kept');
});

test('the overlay fills the region, or draws only its outline', () => {
  const m = new BinaryMask(12, 12);
  raster.fillRect(m, { x: 2, y: 2 }, { x: 7, y: 7 }, 1);
  const out = new Uint8ClampedArray(12 * 12 * 4);
  paintOverlay(m, out, { x0: 0, y0: 0, x1: 12, y1: 12 }, [255, 0, 0], 'fill');
  const opaque = () => out.filter((_, i) => i % 4 === 3 && out[i] === 255).length;
  assert.equal(opaque(), 25);
  assert.deepEqual([...out.subarray((2 * 12 + 2) * 4, (2 * 12 + 2) * 4 + 4)], [255, 0, 0, 255]);
  paintOverlay(m, out, { x0: 0, y0: 0, x1: 12, y1: 12 }, [255, 0, 0], 'outline');
  assert.equal(opaque(), 16, 'a 5x5 square has 16 border pixels');
});
