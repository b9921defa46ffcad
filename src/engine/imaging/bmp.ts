// A BMP decoder (libvips, and so sharp, cannot read BMP). Supports what scanners, cameras and
// Windows tools write: uncompressed 1/4/8-bit paletted, 24-bit BGR, and 32-bit BGRX or
// bit-field pixels; rows stored bottom-up (positive height) or top-down (negative height).
// RLE-compressed, 16-bit and embedded JPEG/PNG bitmaps are refused with a clear reason.
// Alpha is dropped. A palette whose colours are all grey yields a 1-channel image.
//
// Layout: 14-byte file header ("BM", size, reserved, pixel offset), then a DIB header whose first
// u32 is its own size: 12 (OS/2 BITMAPCOREHEADER, u16 sizes, 3-byte palette entries) or >= 40
// (BITMAPINFOHEADER and its V4/V5 extensions, i32 sizes, 4-byte BGRX palette entries). Each pixel
// row is padded to a multiple of 4 bytes. All numbers are little-endian.
import type { RawImage } from './types';

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;
const COMPRESSION_NAMES: Record<number, string> = { 1: 'RLE8', 2: 'RLE4', 4: 'embedded JPEG', 5: 'embedded PNG', 11: 'CMYK', 12: 'CMYK RLE8', 13: 'CMYK RLE4' };

export class BmpError extends Error {}

interface Channel {
  mask: number;
  shift: number;
  max: number;
}

/** A bit-field mask as shift + maximum value, so a field of any width scales to 0..255. */
function channelOf(mask: number): Channel {
  if (mask === 0) throw new BmpError('a colour bit mask is zero');
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  if ((max & (max + 1)) !== 0) throw new BmpError(`colour bit mask 0x${mask.toString(16)} is not one run of bits`);
  return { mask, shift, max };
}

export function decodeBmp(bytes: Uint8Array): RawImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (end: number, what: string): void => {
    if (end > bytes.length) throw new BmpError(`truncated: ${what} needs ${end} bytes, the file has ${bytes.length}`);
  };
  need(18, 'the headers');
  if (bytes[0] !== 0x42 || bytes[1] !== 0x4d) throw new BmpError('not a BMP file (no "BM" signature)');
  const pixelOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  let width: number;
  let rawHeight: number;
  let bpp: number;
  let compression = BI_RGB;
  let colorsUsed = 0;
  let paletteEntrySize = 4;
  let afterHeader = 14 + headerSize;
  let fields: { r: Channel; g: Channel; b: Channel } | null = null;

  if (headerSize === 12) {
    need(26, 'the OS/2 header');
    width = view.getUint16(18, true);
    rawHeight = view.getUint16(20, true);
    bpp = view.getUint16(24, true);
    paletteEntrySize = 3;
  } else if (headerSize >= 40) {
    need(14 + 40, 'the info header');
    width = view.getInt32(18, true);
    rawHeight = view.getInt32(22, true);
    bpp = view.getUint16(28, true);
    compression = view.getUint32(30, true);
    colorsUsed = view.getUint32(46, true);
    if (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) {
      // The masks sit inside V2+ headers, or right after a 40-byte header.
      need(54 + 12, 'the colour bit masks');
      fields = { r: channelOf(view.getUint32(54, true)), g: channelOf(view.getUint32(58, true)), b: channelOf(view.getUint32(62, true)) };
      if (headerSize === 40) afterHeader += compression === BI_ALPHABITFIELDS ? 16 : 12;
    } else if (compression !== BI_RGB) {
      throw new BmpError(`${COMPRESSION_NAMES[compression] ?? `compression type ${compression}`} BMP files are not supported (save it uncompressed)`);
    }
  } else {
    throw new BmpError(`unknown BMP header size ${headerSize}`);
  }

  if (width <= 0 || rawHeight === 0) throw new BmpError(`bad image size ${width}x${rawHeight}`);
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  if (fields && bpp !== 32) throw new BmpError(`${bpp}-bit bit-field BMP files are not supported`);
  if (![1, 4, 8, 24, 32].includes(bpp)) throw new BmpError(`${bpp}-bit BMP files are not supported (1, 4, 8, 24 and 32 are)`);

  let palette: Uint8Array | null = null; // RGB triples
  let gray = false;
  if (bpp <= 8) {
    const count = colorsUsed === 0 ? 1 << bpp : colorsUsed;
    if (count > 1 << bpp) throw new BmpError(`the palette claims ${count} colours, more than ${bpp}-bit pixels can index`);
    need(afterHeader + count * paletteEntrySize, 'the palette');
    palette = new Uint8Array(count * 3);
    for (let i = 0; i < count; i++) {
      const at = afterHeader + i * paletteEntrySize;
      palette[i * 3] = bytes[at + 2]!;
      palette[i * 3 + 1] = bytes[at + 1]!;
      palette[i * 3 + 2] = bytes[at]!;
    }
    gray = true;
    for (let i = 0; i < count && gray; i++) gray = palette[i * 3] === palette[i * 3 + 1] && palette[i * 3] === palette[i * 3 + 2];
  }

  const stride = Math.ceil((bpp * width) / 32) * 4;
  need(pixelOffset + stride * (height - 1) + Math.ceil((bpp * width) / 8), 'the pixel data');
  const channels = gray ? 1 : 3;
  const out = new Uint8Array(width * height * channels);

  for (let y = 0; y < height; y++) {
    const row = pixelOffset + (topDown ? y : height - 1 - y) * stride;
    const dst = y * width * channels;
    if (palette) {
      const colours = palette.length / 3;
      const perByte = 8 / bpp;
      const indexMask = (1 << bpp) - 1;
      for (let x = 0; x < width; x++) {
        // Sub-byte pixels are packed from the most significant bits down.
        const byte = bytes[row + Math.floor(x / perByte)]!;
        const index = bpp === 8 ? byte : (byte >> (8 - bpp * ((x % perByte) + 1))) & indexMask;
        if (index >= colours) throw new BmpError(`pixel (${x}, ${y}) uses palette entry ${index}, but the palette has ${colours} colours`);
        if (gray) out[dst + x] = palette[index * 3]!;
        else {
          out[dst + x * 3] = palette[index * 3]!;
          out[dst + x * 3 + 1] = palette[index * 3 + 1]!;
          out[dst + x * 3 + 2] = palette[index * 3 + 2]!;
        }
      }
    } else if (fields) {
      const { r, g, b } = fields;
      const scale = (v: number, c: Channel): number => (c.max === 255 ? v : Math.round((v * 255) / c.max));
      for (let x = 0; x < width; x++) {
        const px = view.getUint32(row + x * 4, true);
        out[dst + x * 3] = scale((px & r.mask) >>> r.shift, r);
        out[dst + x * 3 + 1] = scale((px & g.mask) >>> g.shift, g);
        out[dst + x * 3 + 2] = scale((px & b.mask) >>> b.shift, b);
      }
    } else {
      const step = bpp / 8; // 3 (BGR) or 4 (BGRX)
      for (let x = 0; x < width; x++) {
        const at = row + x * step;
        out[dst + x * 3] = bytes[at + 2]!;
        out[dst + x * 3 + 1] = bytes[at + 1]!;
        out[dst + x * 3 + 2] = bytes[at]!;
      }
    }
  }
  return { width, height, channels, data: out };
}
