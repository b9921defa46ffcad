// Decodes PNG, JPEG, TIFF (through sharp/libvips) and BMP (our own decoder) to 8-bit gray or RGB.
// 16-bit samples are reduced to 8 bits by libvips' colourspace conversion (v / 257, within 1),
// alpha is dropped (the colour values are kept as stored, not composited), palettes and CMYK
// become RGB. Damaged files fail with a UserError naming the file and the reason: sharp runs with
// failOn 'truncated', and PNG chunk structure is checked first because libspng decodes some
// truncated PNGs silently.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { UserError } from '../../shared/errors';
import { BmpError, decodeBmp } from './bmp';
import { sniffFormat } from './format';
import { pngStructureProblem } from './png-structure';
import type { ImageFormat, RawImage } from './types';

export interface DecodedImage extends RawImage {
  format: ImageFormat;
  /** Bits per sample in the file (8 or 16; 1/2/4-bit files report 8). */
  sourceBitDepth: 8 | 16;
  /** True when the file had an alpha channel (now dropped). */
  hadAlpha: boolean;
}

function unreadable(path: string, reason: string): UserError {
  return new UserError('IMAGE_UNREADABLE', `${path}: ${reason}`);
}

/** Decodes an image held in memory; `path` is only for messages. */
export async function decodeImage(bytes: Uint8Array, path: string): Promise<DecodedImage> {
  if (bytes.length === 0) throw unreadable(path, 'the file is empty (0 bytes)');
  const format = sniffFormat(bytes);
  if (format === null) throw new UserError('IMAGE_UNSUPPORTED', `${path}: not a PNG, JPEG, BMP or TIFF image`);
  if (format === 'bmp') {
    try {
      return { ...decodeBmp(bytes), format, sourceBitDepth: 8, hadAlpha: false };
    } catch (e) {
      if (e instanceof BmpError) throw unreadable(path, e.message);
      throw e;
    }
  }
  if (format === 'png') {
    const problem = pngStructureProblem(bytes);
    if (problem !== null) throw unreadable(path, problem);
  }
  try {
    const input = sharp(bytes, { failOn: 'truncated' });
    const meta = await input.metadata();
    const hadAlpha = meta.hasAlpha === true;
    const colourChannels = (meta.channels ?? 3) - (hadAlpha ? 1 : 0);
    const gray = colourChannels === 1 && !meta.isPalette;
    const sourceBitDepth = meta.depth === 'ushort' || meta.depth === 'short' ? 16 : 8;
    const { data, info } = await input
      .removeAlpha()
      .toColourspace(gray ? 'b-w' : 'srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== (gray ? 1 : 3)) throw new Error(`decoded to ${info.channels} channels, expected ${gray ? 1 : 3}`);
    // A plain Uint8Array view (no copy): Buffers behave differently under structured clone.
    const pixels = new Uint8Array(data.buffer, data.byteOffset, data.length);
    return { width: info.width, height: info.height, channels: gray ? 1 : 3, data: pixels, format, sourceBitDepth, hadAlpha };
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw unreadable(path, failureReason(format, bytes, (e as Error).message));
  }
}

/**
 * libvips keeps one error buffer for the whole process, so when several images decode at once
 * a failure can surface as "Unknown error". Then a structural hint is given instead.
 */
function failureReason(format: ImageFormat, bytes: Uint8Array, message: string): string {
  const informative = message.trim() !== '' && !/^unknown error$/i.test(message.trim());
  if (informative) return message;
  if (format === 'jpeg' && !endsWithJpegEoi(bytes)) return 'truncated: the JPEG data ends without an end-of-image marker';
  return `the ${format.toUpperCase()} data is damaged or truncated (the decoder gave no details)`;
}

/** JPEG ends with the EOI marker FF D9 (some writers pad with zeros after it). */
function endsWithJpegEoi(bytes: Uint8Array): boolean {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return end >= 2 && bytes[end - 2] === 0xff && bytes[end - 1] === 0xd9;
}

/** Reads and decodes an image file. */
export async function readImage(path: string): Promise<DecodedImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw unreadable(path, (e as Error).message);
  }
  return decodeImage(bytes, path);
}
