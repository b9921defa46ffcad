/** 8-bit pixels, row-major, channels interleaved (gray: 1, RGB: 3), no row padding. */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

export type ImageFormat = 'png' | 'jpeg' | 'bmp' | 'tiff';

export function checkRawImage(img: RawImage): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width <= 0 || img.height <= 0) {
    throw new Error(`image size must be positive whole numbers (got ${img.width}x${img.height})`);
  }
  if (img.data.length !== img.width * img.height * img.channels) {
    throw new Error(`image data holds ${img.data.length} bytes; ${img.width}x${img.height}x${img.channels} needs ${img.width * img.height * img.channels}`);
  }
}
