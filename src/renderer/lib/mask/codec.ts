// Moving masks and images between the project's blobs and the editor: blobs are fetched from the
// app's own origin (/blob/<hash>) and decoded without colour management (a mask's 255 must stay
// 255); masks go back to main as PNG bytes in base64 (RGBA, R = G = B = 0 or 255, alpha 255).
import { BinaryMask } from './raster';

export interface Pixels {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
}

export async function loadBlobPixels(hash: string): Promise<Pixels> {
  const response = await fetch(`/blob/${hash}`);
  if (!response.ok) throw new Error(`blob ${hash} could not be read (HTTP ${response.status})`);
  const bitmap = await createImageBitmap(await response.blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2D canvas context');
    ctx.drawImage(bitmap, 0, 0);
    return { width: bitmap.width, height: bitmap.height, rgba: ctx.getImageData(0, 0, bitmap.width, bitmap.height).data };
  } finally {
    bitmap.close();
  }
}

/** A mask from decoded pixels: set where the first channel is at least half on. */
export function maskFromPixels(pixels: Pixels): BinaryMask {
  const mask = new BinaryMask(pixels.width, pixels.height);
  for (let i = 0; i < mask.data.length; i++) mask.data[i] = pixels.rgba[i * 4]! >= 128 ? 1 : 0;
  return mask;
}

export async function maskToPngBase64(mask: BinaryMask): Promise<string> {
  const canvas = new OffscreenCanvas(mask.width, mask.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas context');
  const image = ctx.createImageData(mask.width, mask.height);
  for (let i = 0; i < mask.data.length; i++) {
    const v = mask.data[i] ? 255 : 0;
    image.data[i * 4] = v;
    image.data[i * 4 + 1] = v;
    image.data[i * 4 + 2] = v;
    image.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  const blob = await canvas.convertToBlob({ type: 'image/png' });
  return bytesToBase64(new Uint8Array(await blob.arrayBuffer()));
}

export async function maskFromPngBase64(data: string): Promise<BinaryMask> {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2D canvas context');
    ctx.drawImage(bitmap, 0, 0);
    return maskFromPixels({ width: bitmap.width, height: bitmap.height, rgba: ctx.getImageData(0, 0, bitmap.width, bitmap.height).data });
  } finally {
    bitmap.close();
  }
}

function bytesToBase64(bytes: Uint8Array): string {
  // btoa takes a binary string; build it in chunks so large masks do not overflow the call stack
  let binary = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(binary);
}
