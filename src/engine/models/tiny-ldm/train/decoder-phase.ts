// Phase 1b (plan.decoder, optional): a wider decoder trained from scratch on the finished VAE's
// frozen encoder (graphs.ts, buildDecoderTrainingGraph), on the same crop pool as the VAE. The
// encoder does not change, so the cached latents and the UNet stay valid and this phase can run
// beside the UNet phase (`--phase decoder`). Why: a 4-channel latent is what the UNet learns best,
// and the small joint VAE's decoder is what then limits the reconstruction PSNR.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../../shared/errors';
import { Rng } from '../../../../shared/random';
import { readCheckpoint } from '../../../autodiff/checkpoint';
import { deriveSeed } from '../../../corpus';
import { withWeights } from '../models';
import type { HostTensor } from '../../../runtime';
import { latentSize } from '../config';
import { evaluateAutoencoder, openAutoencoder } from './evaluate';
import { buildDecoderTrainingGraph, DECODER_LATENT_INPUT } from './graphs';
import { finishedPhase } from './loop';
import { fingerprint, packageConfig, type TrainPlan } from './plan';
import { cropBatch, runAutoencoderPhase, vaeCheckpointPath, vaePool, type PhaseContext, type VaePhaseResult } from './vae-phase';

export const decoderCheckpointPath = (dir: string): string => path.join(dir, 'decoder.ckpt');

export async function runDecoderPhase(ctx: PhaseContext): Promise<VaePhaseResult> {
  const { plan, dir } = ctx;
  const schedule = plan.decoder;
  if (!schedule) throw new Error(`plan ${plan.name} has no decoder phase`);
  const checkpointPath = decoderCheckpointPath(dir);
  const print = fingerprint(plan, 'decoder');
  const finished = await finishedPhase(checkpointPath, print, schedule.steps);
  if (finished) return finished;
  const vaePath = vaeCheckpointPath(dir);
  if (!existsSync(vaePath)) throw new UserError('TRAIN_NOT_DONE', `${vaePath}: no VAE checkpoint; the decoder phase needs the finished VAE (run the VAE phase first)`);
  const vae = await readCheckpoint(vaePath);
  if (vae.meta['done'] !== true || vae.meta['fingerprint'] !== fingerprint(plan, 'vae')) {
    throw new UserError('TRAIN_NOT_DONE', `${vaePath}: the decoder phase needs this plan's finished VAE (step ${String(vae.meta['step'])}, done ${String(vae.meta['done'])})`);
  }
  const vaeWeights = new Map(Object.entries(vae.params).map(([k, p]) => [k, p.data]));
  const cfg = packageConfig(plan);
  const input = schedule.input ?? 'crops';
  const graph = buildDecoderTrainingGraph(cfg, schedule.batch, schedule.crop, { edge: schedule.edgeWeight, mse: schedule.mseWeight }, input);
  const pool = await vaePool(plan, dir);
  const latents = input === 'latents' ? await encodePool(plan, pool, vaeWeights, vaePath) : undefined;
  // its own batch stream: the VAE's crops were already seen by the encoder
  const rngAt = (step: number): Rng => new Rng(deriveSeed(plan.seed, 'decoder-batch', step));
  return runAutoencoderPhase(ctx, {
    phase: 'decoder',
    model: withWeights({ model: graph.model, params: graph.encoderParams }, vaeWeights, vaePath),
    graph,
    schedule,
    checkpointPath,
    fingerprint: print,
    batchAt: (step) => (latents ? latentWindowBatch(plan, pool, latents, schedule.batch, schedule.crop, rngAt(step)) : { image: cropBatch(plan, pool, schedule.batch, schedule.crop, rngAt(step)) }),
    evaluate: (trained) => {
      const weights = new Map(vaeWeights);
      for (const [name, values] of trained) weights.set(name, values);
      return evaluateAutoencoder(cfg, weights, { seed: plan.seed, heldout: plan.eval.heldoutImages, bsdata: plan.eval.bsdataImages, source: checkpointPath });
    },
  });
}

/** A pool image's encoder latents [C, g, g], as it is and mirrored left-right. */
export interface PoolLatents {
  plain: Float32Array[];
  mirrored: Float32Array[];
}

/** Mirrors an interleaved RGB image left-right. */
function mirrorRgb(rgb: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const from = (y * size + size - 1 - x) * 3;
      const to = (y * size + x) * 3;
      out[to] = rgb[from]!;
      out[to + 1] = rgb[from + 1]!;
      out[to + 2] = rgb[from + 2]!;
    }
  }
  return out;
}

/**
 * Every pool image through the frozen encoder, at full size, as it is and mirrored (the crops'
 * flip augmentation: an encoder is not mirror-equivariant, so the mirrored image is encoded
 * itself). 2 x poolImages encodes, once per run of the phase.
 */
export async function encodePool(plan: TrainPlan, pool: readonly Uint8Array[], vaeWeights: ReadonlyMap<string, Float32Array>, source: string): Promise<PoolLatents> {
  const S = plan.model.imageSize;
  const ae = await openAutoencoder(plan.model, vaeWeights, source);
  try {
    const plain: Float32Array[] = [];
    const mirrored: Float32Array[] = [];
    for (const rgb of pool) {
      plain.push(Float32Array.from(await ae.encode(rgb)));
      mirrored.push(Float32Array.from(await ae.encode(mirrorRgb(rgb, S))));
    }
    return { plain, mirrored };
  } finally {
    await ae.release();
  }
}

/**
 * `batch` training pairs from whole-image latents: per pair an image, a mirror flag and a crop
 * origin on the latent grid (multiples of f pixels), then the crop's pixels (target, [-1, 1]) and
 * the same window of that image's latents (input).
 */
export function latentWindowBatch(plan: TrainPlan, pool: readonly Uint8Array[], latents: PoolLatents, batch: number, crop: number, rng: Rng): Record<string, HostTensor> {
  const S = plan.model.imageSize;
  const f = S / latentSize(plan.model);
  const g = S / f;
  const w = crop / f;
  const C = plan.model.vae.latentChannels;
  const image = new Float32Array(batch * 3 * crop * crop);
  const latent = new Float32Array(batch * C * w * w);
  const plane = crop * crop;
  for (let b = 0; b < batch; b++) {
    const index = rng.int(pool.length);
    const mirror = rng.uniform() < 0.5;
    const cx = rng.int(g - w + 1);
    const cy = rng.int(g - w + 1);
    const rgb = pool[index]!;
    for (let y = 0; y < crop; y++) {
      for (let x = 0; x < crop; x++) {
        const px = cx * f + x;
        const sx = mirror ? S - 1 - px : px;
        const src = ((cy * f + y) * S + sx) * 3;
        for (let c = 0; c < 3; c++) image[b * 3 * plane + c * plane + y * crop + x] = rgb[src + c]! / 127.5 - 1;
      }
    }
    const z = (mirror ? latents.mirrored : latents.plain)[index]!;
    for (let c = 0; c < C; c++) for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) latent[((b * C + c) * w + y) * w + x] = z[(c * g + cy + y) * g + cx + x]!;
  }
  return {
    image: { dtype: 'float32', dims: [batch, 3, crop, crop], data: image },
    [DECODER_LATENT_INPUT]: { dtype: 'float32', dims: [batch, C, w, w], data: latent },
  };
}
