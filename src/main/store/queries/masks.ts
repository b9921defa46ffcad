// Saving a mask the user drew: the PNG from the editor is decoded, checked against the image
// (exact pixel size, binary values), re-encoded as a canonical 1-channel PNG (0 / 255) and stored
// as a blob plus a 'drawn' row in masks. The image and its other masks are never touched.
import sharp from 'sharp';
import { UserError } from '../../../shared/errors';
import type { MaskInfo } from '../../../shared/ipc';
import type { Project } from '../project';
import { nowIso } from '../time';
import { imageBlob } from './images';

export interface BinaryMask {
  width: number;
  height: number;
  /** One byte per pixel, 0 or 255, row-major. */
  data: Uint8Array;
}

/**
 * Decodes a mask PNG to one channel. The editor encodes RGBA with R = G = B = value and alpha
 * 255; a grey or grey+alpha PNG works too. Channel 0 is the value; anything other than 0 or 255
 * is refused rather than thresholded, so what was drawn is exactly what is stored.
 */
export async function decodeBinaryMask(png: Uint8Array, what: string): Promise<BinaryMask> {
  let decoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    decoded = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new UserError('MASK_UNREADABLE', `${what}: the mask is not a readable PNG (${(e as Error).message}).`);
  }
  const { data, info } = decoded;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v !== 0 && v !== 255) {
      throw new UserError('MASK_NOT_BINARY', `${what}: pixel ${i % info.width},${Math.floor(i / info.width)} has value ${v}; a mask holds only 0 and 255.`);
    }
  }
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

export function maskArea(mask: BinaryMask): number {
  let area = 0;
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i] === 255) area++;
  return area;
}

export function encodeMaskPng(mask: BinaryMask): Promise<Buffer> {
  return sharp(mask.data, { raw: { width: mask.width, height: mask.height, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** Checks a mask PNG against the image it belongs to; returns the decoded mask. */
export async function checkMaskForImage(project: Project, imageId: number, png: Uint8Array): Promise<BinaryMask> {
  const image = imageBlob(project, imageId);
  const what = `mask for image ${imageId}`;
  const mask = await decodeBinaryMask(png, what);
  if (mask.width !== image.width || mask.height !== image.height) {
    throw new UserError('MASK_SIZE_MISMATCH', `${what}: the mask is ${mask.width}x${mask.height} but the image is ${image.width}x${image.height}.`);
  }
  return mask;
}

/**
 * Stores a drawn mask. Saving content the image already has as a 'drawn' mask moves that row to
 * the newest place (the editor starts from the newest drawn mask); content equal to an imported
 * or generated mask is reported `unchanged` and nothing is written.
 */
export async function saveDrawnMask(project: Project, imageId: number, png: Uint8Array): Promise<{ mask: MaskInfo; unchanged: boolean }> {
  const mask = await checkMaskForImage(project, imageId, png);
  const area = maskArea(mask);
  if (area === 0) throw new UserError('MASK_EMPTY', `mask for image ${imageId}: the mask is empty; draw the defect region before saving.`);
  const bytes = await encodeMaskPng(mask);
  const db = project.db;
  const select = db.prepare('SELECT id, blob_hash AS blobHash, source, area_px AS areaPx, created_at AS createdAt FROM masks WHERE id = ?');
  return db.transaction(() => {
    const hash = project.blobs.put(bytes, 'image/png');
    const existing = db.prepare('SELECT id, source FROM masks WHERE image_id = ? AND blob_hash = ?').get(imageId, hash) as
      | { id: number; source: string }
      | undefined;
    if (existing && existing.source !== 'drawn') return { mask: select.get(existing.id) as MaskInfo, unchanged: true };
    if (existing) db.prepare('DELETE FROM masks WHERE id = ?').run(existing.id);
    const id = Number(
      db
        .prepare("INSERT INTO masks (image_id, blob_hash, source, source_path, area_px, created_at) VALUES (?, ?, 'drawn', NULL, ?, ?)")
        .run(imageId, hash, area, nowIso()).lastInsertRowid,
    );
    return { mask: select.get(id) as MaskInfo, unchanged: false };
  })();
}
