// The picture for the model card: one row per defect family, columns (normal image, mask,
// generated defect, the corpus' real defect for reference), each cell resized to `cell` px,
// 2 px white gaps between cells.

import { blankPicture, encodePicturePng, resizePicture, type Picture } from '../../../eval/picture';
import type { RgbImage } from '../../../diffusion/image-tensor';

export const GRID_COLUMNS = ['normal image', 'mask', 'generated defect', 'real defect (reference)'] as const;
const GAP = 2;

export interface GridRow {
  normal: RgbImage;
  /** 0 / non-zero */
  mask: Uint8Array;
  generated: RgbImage;
  reference: RgbImage;
}

function toPicture(image: RgbImage): Picture {
  const p = blankPicture(image.width, image.height);
  for (let i = 0; i < image.data.length; i++) p.data[i] = image.data[i]! / 255;
  return p;
}

function maskPicture(mask: Uint8Array, width: number, height: number): Picture {
  const p = blankPicture(width, height);
  for (let i = 0; i < mask.length; i++) if (mask[i]) p.data.fill(1, i * 3, i * 3 + 3);
  return p;
}

/** The grid as a Picture (rows in the order given). */
export function composeGrid(rows: readonly GridRow[], cell: number): Picture {
  if (rows.length === 0) throw new RangeError('quality grid: no rows');
  if (!(Number.isInteger(cell) && cell > 0)) throw new RangeError(`quality grid: cell size must be a positive whole number, got ${cell}`);
  const cols = GRID_COLUMNS.length;
  const width = cols * cell + (cols - 1) * GAP;
  const height = rows.length * cell + (rows.length - 1) * GAP;
  const grid = blankPicture(width, height);
  grid.data.fill(1);
  const put = (p: Picture, row: number, col: number): void => {
    const small = p.width === cell && p.height === cell ? p : resizePicture(p, cell, cell);
    const x0 = col * (cell + GAP);
    const y0 = row * (cell + GAP);
    for (let y = 0; y < cell; y++) grid.data.set(small.data.subarray(y * cell * 3, (y + 1) * cell * 3), ((y0 + y) * width + x0) * 3);
  };
  rows.forEach((r, i) => {
    put(toPicture(r.normal), i, 0);
    put(maskPicture(r.mask, r.normal.width, r.normal.height), i, 1);
    put(toPicture(r.generated), i, 2);
    put(toPicture(r.reference), i, 3);
  });
  return grid;
}

export function encodeGrid(rows: readonly GridRow[], cell: number): Promise<Buffer> {
  return encodePicturePng(composeGrid(rows, cell));
}
