// A structural check of a PNG file: every chunk fits in the file, its CRC matches, IHDR comes
// first and IEND last. libspng (inside sharp) decodes some truncated files without complaint,
// filling the missing rows, so a cut-off download would otherwise be imported as a valid image.
// Checking the chunk list is cheap (no decompression; CRC-32 is native).
import { crc32 } from 'node:zlib';

/** Returns why the PNG is broken, or null when its chunk structure is sound. */
export function pngStructureProblem(bytes: Uint8Array): string | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8; // after the signature
  let first = true;
  while (offset < bytes.length) {
    if (offset + 8 > bytes.length) return `truncated: chunk header at byte ${offset} is cut off`;
    const length = view.getUint32(offset);
    const type = String.fromCharCode(bytes[offset + 4]!, bytes[offset + 5]!, bytes[offset + 6]!, bytes[offset + 7]!);
    const end = offset + 12 + length;
    if (end > bytes.length) return `truncated: chunk ${JSON.stringify(type)} at byte ${offset} needs ${end} bytes, the file has ${bytes.length}`;
    if (first && type !== 'IHDR') return `the first chunk is ${JSON.stringify(type)}, not IHDR`;
    first = false;
    // CRC-32 covers the chunk type and data, not the length.
    const expected = view.getUint32(end - 4);
    const actual = crc32(bytes.subarray(offset + 4, end - 4));
    if (expected !== actual) return `chunk ${JSON.stringify(type)} at byte ${offset} is damaged (CRC mismatch)`;
    if (type === 'IEND') return null; // bytes after IEND are ignored, as every decoder does
    offset = end;
  }
  return 'truncated: the file ends before the IEND chunk';
}
