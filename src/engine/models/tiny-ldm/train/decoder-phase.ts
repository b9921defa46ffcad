// Phase 1b (plan.decoder, optional): a wider decoder trained from scratch on the finished VAE's
// frozen encoder (graphs.ts, buildDecoderTrainingGraph), on the same crop pool as the VAE. The
// encoder does not change, so the cached latents and the UNet stay valid and this phase can run
// beside the UNet phase (`--phase decoder`). Why: a 4-channel latent is what the UNet learns best,
// and the small joint VAE's decoder is what then limits the reconstruction PSNR.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../../shared/errors';
import { Rng } from '../../../../shared/random';
import { composeTraining } from '../../../autodiff/composer';
import { readCheckpoint } from '../../../autodiff/checkpoint';
import { Adam } from '../../../autodiff/optim';
import { deriveSeed } from '../../../corpus';
import { withWeights } from '../models';
import { evaluateAutoencoder } from './evaluate';
import { buildDecoderTrainingGraph } from './graphs';
import { runLoop } from './loop';
import { fingerprint, learningRate, packageConfig } from './plan';
import { cropBatch, vaeCheckpointPath, vaePool, type PhaseContext, type VaePhaseResult } from './vae-phase';

export const decoderCheckpointPath = (dir: string): string => path.join(dir, 'decoder.ckpt');

export async function runDecoderPhase(ctx: PhaseContext): Promise<VaePhaseResult> {
  const { plan, dir, log } = ctx;
  const schedule = plan.decoder;
  if (!schedule) throw new Error(`plan ${plan.name} has no decoder phase`);
  const ckptPath = decoderCheckpointPath(dir);
  const print = fingerprint(plan, 'decoder');
  if (existsSync(ckptPath)) {
    const ckpt = await readCheckpoint(ckptPath);
    if (ckpt.meta['done'] === true && ckpt.meta['fingerprint'] === print && (ckpt.meta['step'] as number) >= schedule.steps) {
      return { step: ckpt.meta['step'] as number, done: true, cpuSeconds: ckpt.meta['cpuSeconds'] as number, resumedFrom: ckpt.meta['step'] as number };
    }
  }
  if (!existsSync(vaeCheckpointPath(dir))) throw new UserError('TRAIN_NOT_DONE', `${vaeCheckpointPath(dir)}: no VAE checkpoint; the decoder phase needs the finished VAE (run the VAE phase first)`);
  const vae = await readCheckpoint(vaeCheckpointPath(dir));
  if (vae.meta['done'] !== true || vae.meta['fingerprint'] !== fingerprint(plan, 'vae')) {
    throw new UserError('TRAIN_NOT_DONE', `${vaeCheckpointPath(dir)}: the decoder phase needs this plan's finished VAE (step ${String(vae.meta['step'])}, done ${String(vae.meta['done'])})`);
  }
  const vaeWeights = new Map(Object.entries(vae.params).map(([k, p]) => [k, p.data]));
  const cfg = packageConfig(plan);
  const graph = buildDecoderTrainingGraph(cfg, schedule.batch, schedule.crop, { edge: schedule.edgeWeight, mse: schedule.mseWeight });
  const model = withWeights({ model: graph.model, params: graph.encoderParams }, vaeWeights, vaeCheckpointPath(dir));
  const pool = await vaePool(plan, dir);
  const lr = learningRate(schedule);
  const trainer = await composeTraining(model, {
    loss: graph.loss,
    train: graph.params,
    optimizer: new Adam({ lr }),
    keepOutputs: graph.metrics,
    clipGradNorm: 1,
    session: { intraOpNumThreads: 1 },
  });
  try {
    const result = await runLoop({
      phase: 'decoder',
      trainer,
      steps: schedule.steps,
      checkpointPath: ckptPath,
      fingerprint: print,
      lrAt: lr,
      metrics: graph.metrics,
      log,
      checkpointSeconds: plan.checkpointSeconds,
      ...(plan.checkpointSteps !== undefined ? { checkpointSteps: plan.checkpointSteps } : {}),
      shouldStop: ctx.shouldStop,
      ...(ctx.crashAfterStep !== undefined ? { crashAfterStep: ctx.crashAfterStep } : {}),
      // its own batch stream: the VAE's crops were already seen by the encoder
      batchAt: (step) => ({ image: cropBatch(plan, pool, schedule.batch, schedule.crop, new Rng(deriveSeed(plan.seed, 'decoder-batch', step))) }),
    });
    if (!result.done) return result;
    const weights = new Map(vaeWeights);
    for (const [name, values] of trainer.params) weights.set(name, values);
    const report = await evaluateAutoencoder(cfg, weights, { seed: plan.seed, heldout: plan.eval.heldoutImages, bsdata: plan.eval.bsdataImages, source: ckptPath });
    log.append({ phase: 'decoder', event: 'eval', ...report });
    await trainer.save(ckptPath, { fingerprint: print, phase: 'decoder', step: result.step, done: true, cpuSeconds: result.cpuSeconds, eval: report });
    return { ...result, eval: report };
  } finally {
    await trainer.release();
  }
}
