// The normal image a pair is painted into, at the model's image size: decoded from its blob,
// grey made RGB, resized with sharp's lanczos3 when its size differs from the model's. A pure
// function of the blob bytes, so regenerate sees the same pixels. (The mask: ./mask-source.ts.)
import sharp from 'sharp';
import type { RgbImage } from '../diffusion/image-tensor';
import { decodeImage } from '../imaging';
import type { Size2 } from '../models/types';

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

export async function normalAtSize(blobs: BlobReader, hash: string, size: Size2): Promise<PreparedNormal> {
  const decoded = await decodeImage(blobs.read(hash), blobs.path(hash));
  let rgb = decoded.data;
  if (decoded.channels === 1) {
    rgb = new Uint8Array(decoded.width * decoded.height * 3);
    for (let p = 0; p < decoded.width * decoded.height; p++) rgb.fill(decoded.data[p]!, p * 3, p * 3 + 3);
  }
  if (decoded.width === size.width && decoded.height === size.height) {
    return { image: { width: size.width, height: size.height, channels: 3, data: rgb } };
  }
  const resized = await sharp(rgb, { raw: { width: decoded.width, height: decoded.height, channels: 3 } })
    .resize(size.width, size.height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  return {
    image: { width: size.width, height: size.height, channels: 3, data: new Uint8Array(resized.buffer, resized.byteOffset, resized.length) },
    resizedFrom: { width: decoded.width, height: decoded.height },
  };
}
