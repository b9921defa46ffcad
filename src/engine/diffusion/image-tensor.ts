// 8-bit interleaved images <-> the [-1, 1] planar (CHW) floats the VAE reads and writes.

export interface RgbImage {
  width: number;
  height: number;
  /** 3: data is interleaved RGB */
  channels: 3;
  data: Uint8Array;
}

export function imageToTensor(image: RgbImage): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = image.data[p * 3 + c]! / 127.5 - 1;
  }
  return out;
}

export function tensorToImage(tensor: Float32Array, width: number, height: number): RgbImage {
  const plane = width * height;
  if (tensor.length !== 3 * plane) throw new RangeError(`tensor of ${tensor.length} values is not 3x${height}x${width}`);
  const data = new Uint8Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.round((tensor[c * plane + p]! + 1) * 127.5);
      data[p * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { width, height, channels: 3, data };
}
