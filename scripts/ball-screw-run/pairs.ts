// The synthetic pairs of a run as pictures: each sample's normal image, mask and synthetic image
// (through eval/picture.ts: decode, resize, area-coverage masks), the change synthesis made inside
// and outside the mask, and a picture grid of pairs.
//
// Change of one pair, on 8-bit values (x synthetic, y normal, c = 3 channels, M the mask pixels):
//   inside  = sum over M of |x - y|_1 / (3 |M|) * 255
//   outside = sum over the rest of |x - y|_1 / (3 (N - |M|)) * 255
// and the mask alignment of eval/quality.ts (the share of all change that lies inside M).
// A good pair changes a lot inside and nearly nothing outside (synthesis pastes the normal back
// outside a slightly dilated mask).
import sharp from 'sharp';
import { blankPicture, encodePicturePng, loadMask, loadPicture, type Mask, type Picture } from '../../src/engine/eval/picture';
import { maskAlignment } from '../../src/engine/eval/quality';
import type { Project } from '../../src/main/store/project';
import type { SampleWithLineage } from '../../src/main/store/samples';

export interface PairPictures {
  sampleId: number;
  normalImageId: number;
  maskBlob: string;
  normal: Picture;
  mask: Mask;
  synthetic: Picture;
}

export interface PairChange {
  inside: number;
  outside: number;
  alignment: number;
}

/** The sample's three pictures at the synthetic image's size. */
export async function pairPictures(project: Project, s: SampleWithLineage): Promise<PairPictures> {
  const normalImageId = s.lineage?.normalImageId;
  if (normalImageId == null) throw new Error(`sample ${s.id}: its lineage names no normal image`);
  const imageBytes = project.blobs.read(s.imageBlob);
  const { width, height } = await sharp(imageBytes).metadata();
  if (!width || !height) throw new Error(`sample ${s.id}: image blob ${s.imageBlob} has no size`);
  const normalBlob = project.db.prepare('SELECT blob_hash FROM images WHERE id = ?').pluck().get(normalImageId) as string;
  return {
    sampleId: s.id,
    normalImageId,
    maskBlob: s.maskBlob,
    normal: await loadPicture(project.blobs.read(normalBlob), project.blobs.path(normalBlob), width, height),
    mask: await loadMask(project.blobs.read(s.maskBlob), project.blobs.path(s.maskBlob), width, height),
    synthetic: await loadPicture(imageBytes, project.blobs.path(s.imageBlob), width, height),
  };
}

export function pairChange(p: Pick<PairPictures, 'normal' | 'mask' | 'synthetic'>): PairChange {
  let inside = 0;
  let outside = 0;
  let area = 0;
  const n = p.mask.data.length;
  for (let i = 0; i < n; i++) {
    let d = 0;
    for (let c = 0; c < 3; c++) d += Math.abs(p.synthetic.data[i * 3 + c]! - p.normal.data[i * 3 + c]!);
    if (p.mask.data[i]) {
      inside += d;
      area++;
    } else outside += d;
  }
  return {
    inside: area > 0 ? (inside / (3 * area)) * 255 : Number.NaN,
    outside: area < n ? (outside / (3 * (n - area))) * 255 : Number.NaN,
    alignment: maskAlignment(p.synthetic, p.normal, p.mask),
  };
}

/** Means of the pairs' changes (NaN entries skipped). */
export function meanChange(changes: readonly PairChange[]): PairChange & { pairs: number } {
  const mean = (k: keyof PairChange): number => {
    const v = changes.map((c) => c[k]).filter(Number.isFinite);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN;
  };
  return { inside: mean('inside'), outside: mean('outside'), alignment: mean('alignment'), pairs: changes.length };
}

export type Tile = Picture | Mask | null;

const isMask = (t: Picture | Mask): t is Mask => t.data instanceof Uint8Array;

/** Nearest-neighbour copy of a picture or mask (white = defect) into a size x size cell. */
function drawTile(grid: Picture, tile: Tile, col: number, row: number, size: number, gap: number): void {
  if (!tile) return;
  const ox = gap + col * (size + gap);
  const oy = gap + row * (size + gap);
  for (let y = 0; y < size; y++) {
    const sy = Math.min(tile.height - 1, Math.floor(((y + 0.5) * tile.height) / size));
    for (let x = 0; x < size; x++) {
      const sx = Math.min(tile.width - 1, Math.floor(((x + 0.5) * tile.width) / size));
      const o = ((oy + y) * grid.width + ox + x) * 3;
      for (let c = 0; c < 3; c++) grid.data[o + c] = isMask(tile) ? (tile.data[sy * tile.width + sx] ? 1 : 0) : tile.data[(sy * tile.width + sx) * 3 + c]!;
    }
  }
}

/** A grid of tiles (rows x columns; null leaves a cell grey) as a PNG. */
export function gridPng(rows: readonly Tile[][], size = 128, gap = 4): Promise<Buffer> {
  const cols = Math.max(1, ...rows.map((r) => r.length));
  const grid = blankPicture(gap + cols * (size + gap), gap + Math.max(1, rows.length) * (size + gap));
  grid.data.fill(0.5);
  rows.forEach((r, ri) => r.forEach((t, ci) => drawTile(grid, t, ci, ri, size, gap)));
  return encodePicturePng(grid);
}
