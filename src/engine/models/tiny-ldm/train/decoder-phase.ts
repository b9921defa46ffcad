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
import { evaluateAutoencoder } from './evaluate';
import { buildDecoderTrainingGraph } from './graphs';
import { finishedPhase } from './loop';
import { fingerprint, packageConfig } from './plan';
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
  const graph = buildDecoderTrainingGraph(cfg, schedule.batch, schedule.crop, { edge: schedule.edgeWeight, mse: schedule.mseWeight });
  const pool = await vaePool(plan, dir);
  return runAutoencoderPhase(ctx, {
    phase: 'decoder',
    model: withWeights({ model: graph.model, params: graph.encoderParams }, vaeWeights, vaePath),
    graph,
    schedule,
    checkpointPath,
    fingerprint: print,
    // its own batch stream: the VAE's crops were already seen by the encoder
    batchAt: (step) => ({ image: cropBatch(plan, pool, schedule.batch, schedule.crop, new Rng(deriveSeed(plan.seed, 'decoder-batch', step))) }),
    evaluate: (trained) => {
      const weights = new Map(vaeWeights);
      for (const [name, values] of trained) weights.set(name, values);
      return evaluateAutoencoder(cfg, weights, { seed: plan.seed, heldout: plan.eval.heldoutImages, bsdata: plan.eval.bsdataImages, source: checkpointPath });
    },
  });
}
