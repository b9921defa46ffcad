// Reconstruction quality of the autoencoder: PSNR of encode -> decode on whole images, in 8-bit
// pixel units as an image file would hold them (decoder output clipped to [-1, 1] and rounded):
//   PSNR = 10 log10(255^2 / MSE),  MSE over all pixels and channels of one image;
// the reported figure is the mean over images. Sets: held-out procedural samples (a stream the
// training never draws from) and BSData ball-screw photos resized to the model's image size.

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { encodeModel } from '../../../onnx/serialize';
import { createSession, type HostTensor } from '../../../runtime';
import type { TinyLdmConfig } from '../config';
import { buildVaeDecoderGraph, buildVaeEncoderGraph, withWeights } from '../models';
import { corpusSample, toCHW } from './data';

/** PSNR between two RGB byte images of the same size. */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`psnr: images differ in size (${a.length} and ${b.length} bytes)`);
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** CHW floats in [-1, 1] (clipped) -> RGB bytes, rounded. */
export function fromCHW(chw: Float32Array, size: number): Uint8Array {
  const plane = size * size;
  const out = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round((Math.min(1, Math.max(-1, chw[c * plane + i]!)) + 1) * 127.5);
  return out;
}

export interface Autoencoder {
  encode(rgb: Uint8Array): Promise<Float32Array>;
  decode(latent: Float32Array): Promise<Uint8Array>;
  release(): Promise<void>;
}

/** Batch-1 encoder and decoder sessions at the model's image size with the given weights. */
export async function openAutoencoder(cfg: TinyLdmConfig, weights: ReadonlyMap<string, Float32Array>, source: string): Promise<Autoencoder> {
  const S = cfg.imageSize;
  const g = S / 2 ** (cfg.vae.channels.length - 1);
  const enc = await createSession(encodeModel(withWeights(buildVaeEncoderGraph(cfg, 1), weights, source)), { intraOpNumThreads: 1 });
  const dec = await createSession(encodeModel(withWeights(buildVaeDecoderGraph(cfg, 1), weights, source)), { intraOpNumThreads: 1 });
  return {
    async encode(rgb) {
      const image = new Float32Array(3 * S * S);
      toCHW(rgb, S, image, 0);
      const out = await enc.run({ image: { dtype: 'float32', dims: [1, 3, S, S], data: image } });
      return out['latent']!.data as Float32Array;
    },
    async decode(latent) {
      const feed: HostTensor = { dtype: 'float32', dims: [1, cfg.vae.latentChannels, g, g], data: latent };
      const out = await dec.run({ latent: feed });
      return fromCHW(out['image']!.data as Float32Array, S);
    },
    async release() {
      await enc.release();
      await dec.release();
    },
  };
}

async function meanPsnr(ae: Autoencoder, images: Uint8Array[]): Promise<number | null> {
  if (images.length === 0) return null;
  let sum = 0;
  for (const rgb of images) sum += psnr(rgb, await ae.decode(await ae.encode(rgb)));
  return sum / images.length;
}

export function heldoutImages(seed: number, count: number, size: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => corpusSample(seed, 'heldout', i, size).image);
}

/** The project root (this file is src/engine/models/tiny-ldm/train/evaluate.ts). */
const PROJECT_ROOT = path.join(import.meta.dirname, '..', '..', '..', '..', '..');

/** The BSData ball-screw folder beside the project (../shared/data/bsdata), when present: development data only. */
export function bsdataDir(): string | undefined {
  const candidates = [process.env['DEFECTFORGE_BSDATA'], path.join(PROJECT_ROOT, '..', 'shared', 'data', 'bsdata', 'ball_screw')];
  return candidates.find((c): c is string => typeof c === 'string' && c.length > 0 && existsSync(c));
}

/** Up to `count` images from the ball-screw set (good images first), resized to size x size RGB. */
export async function bsdataImages(dir: string, count: number, size: number): Promise<Uint8Array[]> {
  const files: string[] = [];
  for (const sub of [['train', 'good'], ['test', 'good'], ['test', 'pitting']]) {
    const folder = path.join(dir, ...sub);
    if (!existsSync(folder)) continue;
    for (const f of readdirSync(folder).sort()) if (/\.(png|jpe?g|bmp|tiff?)$/i.test(f)) files.push(path.join(folder, f));
  }
  // spread the picks over the whole list (neighbouring files are near-duplicates)
  const picks = files.length <= count ? files : Array.from({ length: count }, (_, i) => files[Math.floor((i * files.length) / count)]!);
  return Promise.all(picks.map(async (f) => new Uint8Array(await sharp(f).removeAlpha().toColourspace('srgb').resize(size, size, { fit: 'fill' }).raw().toBuffer())));
}

export interface ReconstructionReport {
  heldoutPsnr: number | null;
  bsdataPsnr: number | null;
  heldoutImages: number;
  bsdataImages: number;
}

export async function evaluateAutoencoder(cfg: TinyLdmConfig, weights: ReadonlyMap<string, Float32Array>, opts: { seed: number; heldout: number; bsdata: number; source: string }): Promise<ReconstructionReport> {
  const ae = await openAutoencoder(cfg, weights, opts.source);
  try {
    const held = heldoutImages(opts.seed, opts.heldout, cfg.imageSize);
    const dir = opts.bsdata > 0 ? bsdataDir() : undefined;
    const bs = dir ? await bsdataImages(dir, opts.bsdata, cfg.imageSize) : [];
    return { heldoutPsnr: await meanPsnr(ae, held), bsdataPsnr: await meanPsnr(ae, bs), heldoutImages: held.length, bsdataImages: bs.length };
  } finally {
    await ae.release();
  }
}
