// VAE reconstruction quality: PSNR of decode(encode(x)) against x, on images in [-1, 1].
// With pixel values mapped to [0, 1] (v01 = (v + 1) / 2), MSE01 = MSE / 4 and
//   PSNR = 10 log10(1 / MSE01) dB
// (infinite for a perfect reconstruction). The set's figure is the mean of per-image PSNRs.
// The reconstruction is clamped to [-1, 1] first, as every image the model writes is (an 8-bit
// pixel cannot hold more): a decoder that overshoots where it cannot show it is not penalised.
// Before and after adaptation are measured by the same function on the same images, which must
// already be at the model's size (the caller resizes once, for both).

import type { DiffusionModel } from '../models/types';
import { imageToTensor, type RgbImage } from '../diffusion/image-tensor';

/** PSNR in dB of two equally long [-1, 1] tensors. */
export function psnr(reference: Float32Array, test: Float32Array): number {
  if (reference.length !== test.length || reference.length === 0) throw new RangeError(`psnr: ${reference.length} vs ${test.length} values`);
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const d = (reference[i]! - test[i]!) / 2;
    sum += d * d;
  }
  const mse01 = sum / reference.length;
  return mse01 === 0 ? Infinity : 10 * Math.log10(1 / mse01);
}

/** Mean PSNR of the model's VAE round trip (clamped to [-1, 1]) over images of the model's size. */
export async function reconstructionPsnr(model: DiffusionModel, images: readonly RgbImage[], signal?: AbortSignal): Promise<number> {
  if (images.length === 0) throw new RangeError('reconstructionPsnr: no images');
  const { width, height } = model.facts.imageSize;
  let total = 0;
  for (const [k, image] of images.entries()) {
    signal?.throwIfAborted();
    if (image.width !== width || image.height !== height) {
      throw new RangeError(`reconstructionPsnr: image ${k} is ${image.width}x${image.height}; model '${model.facts.name}' works at ${width}x${height} (resize first)`);
    }
    const x = imageToTensor(image);
    const back = await model.decode(await model.encode(x, 1), 1);
    total += psnr(x, back.map((v) => (v < -1 ? -1 : v > 1 ? 1 : v)));
  }
  return total / images.length;
}
