// The UNet phase's data: corpus samples encoded once by the trained VAE encoder ("cached
// latents"), with their masks (bit-packed, at the image size, for the spatial encoder) and labels.
// Built in chunks, each written atomically (.bin, then the .json that marks it complete), so a
// stop loses at most one chunk. The folder name carries a hash of the plan, so latents of another
// VAE are never mixed in.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../../autodiff/checkpoint';
import { latentSize } from '../config';
import { corpusSample, type SampleKind } from './data';
import { openAutoencoder } from './evaluate';
import { processCpuSeconds, type TrainLog } from './log';
import { fingerprint, type TrainPlan } from './plan';

export interface SampleLabel {
  kind: SampleKind;
  family: string;
  defect: string | null;
}

export interface LatentSet {
  count: number;
  /** [count, C, g, g] unscaled latents */
  latents: Float32Array;
  /** per sample: size*size bits, 1 = defect pixel */
  masks: Uint8Array;
  labels: SampleLabel[];
  /** 1 / std of all latent values (SD's 0.18215) */
  scale: number;
  /** latent mean (reported; the scale is about the mean) */
  mean: number;
  cpuSeconds: number;
}

interface ChunkInfo {
  labels: SampleLabel[];
  cpuSeconds: number;
}

export function latentDir(plan: TrainPlan, dir: string): string {
  const hash = createHash('sha256').update(fingerprint(plan, 'latents')).digest('hex').slice(0, 12);
  return path.join(dir, `latents-${hash}`);
}

export function packBits(mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(mask.length / 8));
  for (let i = 0; i < mask.length; i++) if (mask[i]! > 127) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

/** Unpacks sample `index`'s mask into [-1, 1] floats at `offset` of `out`. */
export function unpackMask(bits: Uint8Array, pixels: number, index: number, out: Float32Array, offset: number): void {
  const base = index * (pixels / 8);
  for (let i = 0; i < pixels; i++) out[offset + i] = (bits[base + (i >> 3)]! >> (i & 7)) & 1 ? 1 : -1;
}

/** Builds missing chunks (encoder weights from the finished VAE), then loads the whole set. */
export async function buildLatents(plan: TrainPlan, dir: string, vaeWeights: ReadonlyMap<string, Float32Array>, log: TrainLog, shouldStop: () => boolean): Promise<LatentSet | undefined> {
  const folder = latentDir(plan, dir);
  mkdirSync(folder, { recursive: true });
  const cfg = plan.model;
  const S = cfg.imageSize;
  const { samples, chunk } = plan.latents;
  if (S * S % 8 !== 0) throw new Error(`latent cache: ${S}x${S} masks do not pack into bytes`);
  const chunks = Math.ceil(samples / chunk);
  const chunkPath = (c: number, ext: string): string => path.join(folder, `chunk-${String(c).padStart(4, '0')}.${ext}`);
  const missing = Array.from({ length: chunks }, (_, c) => c).filter((c) => !existsSync(chunkPath(c, 'json')));
  if (missing.length > 0) {
    const ae = await openAutoencoder(cfg, vaeWeights, 'vae.ckpt');
    try {
      for (const c of missing) {
        if (shouldStop()) return undefined;
        const cpu0 = processCpuSeconds();
        const first = c * chunk;
        const n = Math.min(chunk, samples - first);
        const latentParts: Float32Array[] = [];
        const maskParts: Uint8Array[] = [];
        const labels: SampleLabel[] = [];
        for (let i = first; i < first + n; i++) {
          const s = corpusSample(plan.seed, 'train', i, S);
          latentParts.push(await ae.encode(s.image));
          maskParts.push(packBits(s.mask));
          labels.push({ kind: s.kind, family: s.family, defect: s.defect });
        }
        const latentBytes = latentParts.reduce((a, l) => a + l.byteLength, 0);
        const bin = new Uint8Array(latentBytes + maskParts.reduce((a, m) => a + m.length, 0));
        let at = 0;
        for (const l of latentParts) {
          bin.set(new Uint8Array(l.buffer, l.byteOffset, l.byteLength), at);
          at += l.byteLength;
        }
        for (const m of maskParts) {
          bin.set(m, at);
          at += m.length;
        }
        await writeFileAtomic(chunkPath(c, 'bin'), bin);
        const info: ChunkInfo = { labels, cpuSeconds: processCpuSeconds() - cpu0 };
        await writeFileAtomic(chunkPath(c, 'json'), new TextEncoder().encode(JSON.stringify(info)));
        log.append({ phase: 'latents', event: 'chunk', chunk: c, of: chunks, samples: n, cpuSeconds: Math.round(info.cpuSeconds * 10) / 10 });
      }
    } finally {
      await ae.release();
    }
  }
  return loadLatents(plan, dir);
}

export function loadLatents(plan: TrainPlan, dir: string): LatentSet {
  const folder = latentDir(plan, dir);
  const cfg = plan.model;
  const g = latentSize(cfg);
  const perLatent = cfg.vae.latentChannels * g * g;
  const maskBytes = (cfg.imageSize * cfg.imageSize) / 8;
  const { samples, chunk } = plan.latents;
  const latents = new Float32Array(samples * perLatent);
  const masks = new Uint8Array(samples * maskBytes);
  const labels: SampleLabel[] = [];
  let cpuSeconds = 0;
  for (let c = 0; c * chunk < samples; c++) {
    const name = path.join(folder, `chunk-${String(c).padStart(4, '0')}`);
    const info = JSON.parse(readFileSync(`${name}.json`, 'utf8')) as ChunkInfo;
    const bin = readFileSync(`${name}.bin`);
    const n = info.labels.length;
    if (bin.length !== n * (perLatent * 4 + maskBytes)) throw new Error(`${name}.bin: ${bin.length} bytes, expected ${n * (perLatent * 4 + maskBytes)} for ${n} samples`);
    const first = c * chunk;
    const lat = new Float32Array(n * perLatent);
    new Uint8Array(lat.buffer).set(bin.subarray(0, n * perLatent * 4));
    latents.set(lat, first * perLatent);
    masks.set(bin.subarray(n * perLatent * 4), first * maskBytes);
    labels.push(...info.labels);
    cpuSeconds += info.cpuSeconds;
  }
  let sum = 0;
  for (const v of latents) sum += v;
  const mean = sum / latents.length;
  let sq = 0;
  for (const v of latents) sq += (v - mean) ** 2;
  const std = Math.sqrt(sq / latents.length);
  return { count: samples, latents, masks, labels, scale: 1 / std, mean, cpuSeconds };
}
