// PNG files through sharp, written atomically (temporary name in the same folder, then rename),
// so a crash never leaves a half-written image under its final name.

import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from './canvas';

let tempCounter = 0;

export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${tempCounter++}.tmp`);
  try {
    await writeFile(temp, bytes);
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}

/** Encodes raw 8-bit pixels (1 = grey, 3 = RGB) as PNG bytes. */
export async function encodePng(data: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<Buffer> {
  const raw = sharp(data, { raw: { width, height, channels } });
  // sharp treats 1-channel raw input as sRGB and would write an RGB PNG; taking the channel
  // makes the output an 8-bit greyscale PNG, as MVTec masks are
  return (channels === 1 ? raw.extractChannel(0) : raw).png({ compressionLevel: 6 }).toBuffer();
}

export async function writeRgbPng(path: string, image: RgbImage): Promise<void> {
  await writeFileAtomic(path, await encodePng(image.data, image.width, image.height, 3));
}

/** Writes a 0/255 mask as an 8-bit greyscale PNG. */
export async function writeMaskPng(path: string, mask: Uint8Array, width: number, height: number): Promise<void> {
  await writeFileAtomic(path, await encodePng(mask, width, height, 1));
}

/** Reads a PNG as raw pixels with the file's own channel count (a greyscale mask stays 1 channel). */
export async function readPng(path: string): Promise<{ data: Uint8Array; width: number; height: number; channels: number }> {
  // sharp converts greyscale to sRGB on raw output unless asked to stay in 'b-w'
  const meta = await sharp(path).metadata();
  const input = meta.channels === 1 ? sharp(path).toColourspace('b-w') : sharp(path);
  const { data, info } = await input.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
}
