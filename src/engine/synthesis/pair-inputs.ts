// The normal image a pair is painted into: decoded from its blob, grey made RGB, at its stored
// size (normalFull, what pairs are made at) or resized to the model's with sharp's lanczos3
// (normalAtSize). A pure function of the blob bytes, so regenerate sees the same pixels. (The mask: ./mask-source.ts.)
import type { RgbImage } from '../diffusion/image-tensor';
import { decodeImage } from '../imaging';
import type { Size2 } from '../models/types';
import { lanczosRgb } from './pair-window';

export interface BlobReader {
  read(hash: string): Uint8Array;
  /** for messages: where the blob lives */
  path(hash: string): string;
}

export interface PreparedNormal {
  image: RgbImage;
  /** the stored image's size, when it was resized to the model's */
  resizedFrom?: Size2;
}

/** The normal image at its stored size, as 8-bit RGB (grey made RGB). */
export async function normalFull(blobs: BlobReader, hash: string): Promise<RgbImage> {
  const decoded = await decodeImage(blobs.read(hash), blobs.path(hash));
  let rgb = decoded.data;
  if (decoded.channels === 1) {
    rgb = new Uint8Array(decoded.width * decoded.height * 3);
    for (let p = 0; p < decoded.width * decoded.height; p++) rgb.fill(decoded.data[p]!, p * 3, p * 3 + 3);
  }
  return { width: decoded.width, height: decoded.height, channels: 3, data: rgb };
}

export async function normalAtSize(blobs: BlobReader, hash: string, size: Size2): Promise<PreparedNormal> {
  const full = await normalFull(blobs, hash);
  if (full.width === size.width && full.height === size.height) return { image: full };
  return { image: await lanczosRgb(full, size), resizedFrom: { width: full.width, height: full.height } };
}
