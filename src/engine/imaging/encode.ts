// PNG encoding of raw pixels (sharp). The output is deterministic (no timestamps or metadata),
// which the content-addressed store relies on: the same pixels always give the same blob.
import sharp from 'sharp';
import { checkRawImage, type RawImage } from './types';

export async function encodePng(img: RawImage, opts: { compressionLevel?: number } = {}): Promise<Buffer> {
  checkRawImage(img);
  // Without an explicit b-w colourspace sharp writes 1-channel input as a 3-channel PNG.
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } })
    .toColourspace(img.channels === 1 ? 'b-w' : 'srgb')
    .png({ compressionLevel: opts.compressionLevel ?? 6 })
    .toBuffer();
}
