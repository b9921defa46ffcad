// Phase 1: the autoencoder, trained on random crops (with flips) of a pool of corpus images
// (normal, defect and mask images alike: the decoder must reproduce all three), then evaluated
// on whole held-out images.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { composeTraining } from '../../../autodiff/composer';
import { writeFileAtomic } from '../../../autodiff/checkpoint';
import { Adam } from '../../../autodiff/optim';
import { deriveSeed } from '../../../corpus';
import type { Model } from '../../../onnx/ir';
import type { HostTensor } from '../../../runtime';
import { Rng } from '../../../../shared/random';
import { latentSize } from '../config';
import { VAE_LOSS_WEIGHTS, VAE_NOISE_INPUT, buildVaeTrainingGraph, type TrainingGraph, type VaeLossWeights } from './graphs';
import { corpusSample, cropToCHW } from './data';
import { evaluateAutoencoder, type ReconstructionReport } from './evaluate';
import { finishedPhase, runLoop, type LoopResult } from './loop';
import type { TrainLog } from './log';
import { fingerprint, learningRate, type PhaseSchedule, type TrainPlan } from './plan';

/** What a training phase works with. */
export interface PhaseContext {
  plan: TrainPlan;
  dir: string;
  log: TrainLog;
  shouldStop: () => boolean;
  crashAfterStep?: number;
}

export const vaeCheckpointPath = (dir: string): string => path.join(dir, 'vae.ckpt');

/** The crop pool: poolImages corpus images as RGB bytes, cached in the training folder. */
export async function vaePool(plan: TrainPlan, dir: string): Promise<Uint8Array[]> {
  const S = plan.model.imageSize;
  const bytes = S * S * 3;
  const file = path.join(dir, `vae-pool-${plan.seed}-${S}-${plan.vae.poolImages}.rgb`);
  if (existsSync(file)) {
    const data = readFileSync(file);
    if (data.length === bytes * plan.vae.poolImages) return Array.from({ length: plan.vae.poolImages }, (_, i) => new Uint8Array(data.buffer, data.byteOffset + i * bytes, bytes));
  }
  const images = Array.from({ length: plan.vae.poolImages }, (_, i) => corpusSample(plan.seed, 'vae-pool', i, S).image);
  const all = new Uint8Array(bytes * images.length);
  images.forEach((img, i) => all.set(img, i * bytes));
  await writeFileAtomic(file, all);
  return images;
}

/** The VAE loss weights of a plan: BASE's edge and latent L2 terms, or edge and KL (gaussian). */
export function vaeLossWeights(plan: TrainPlan): VaeLossWeights {
  if (plan.model.vae.posterior !== 'gaussian') return VAE_LOSS_WEIGHTS;
  if (plan.vae.klWeight === undefined) throw new Error(`plan ${plan.name}: a gaussian VAE needs vae.klWeight`);
  return { edge: VAE_LOSS_WEIGHTS.edge, latent: 0, kl: plan.vae.klWeight };
}

/** `batch` random crops (with flips) of pool images as one [batch, 3, crop, crop] tensor. */
export function cropBatch(plan: TrainPlan, pool: Uint8Array[], batch: number, crop: number, rng: Rng): HostTensor {
  const S = plan.model.imageSize;
  const data = new Float32Array(batch * 3 * crop * crop);
  for (let b = 0; b < batch; b++) cropToCHW(pool[rng.int(pool.length)]!, S, crop, rng, data, b * 3 * crop * crop);
  return { dtype: 'float32', dims: [batch, 3, crop, crop], data };
}

/**
 * The VAE batch of step `step`: `batch` random crops of pool images and, for a gaussian VAE, the
 * reparameterisation noise (drawn after the crops, so a deterministic plan's batches are unchanged).
 */
export function vaeBatch(plan: TrainPlan, pool: Uint8Array[], step: number): Record<string, HostTensor> {
  const { batch, crop } = plan.vae;
  const rng = new Rng(deriveSeed(plan.seed, 'vae-batch', step));
  const feeds: Record<string, HostTensor> = { image: cropBatch(plan, pool, batch, crop, rng) };
  if (plan.model.vae.posterior === 'gaussian') {
    const g = crop / (plan.model.imageSize / latentSize(plan.model));
    const C = plan.model.vae.latentChannels;
    feeds[VAE_NOISE_INPUT] = { dtype: 'float32', dims: [batch, C, g, g], data: rng.normals(batch * C * g * g) };
  }
  return feeds;
}

export interface VaePhaseResult extends LoopResult {
  eval?: ReconstructionReport;
}

/** What differs between the two autoencoder phases (the VAE, the decoder) around the shared loop. */
export interface AutoencoderPhase {
  phase: 'vae' | 'decoder';
  /** the training graph, with any frozen weights already in it */
  model: Model;
  graph: TrainingGraph;
  schedule: PhaseSchedule;
  checkpointPath: string;
  fingerprint: string;
  batchAt: (step: number) => Record<string, HostTensor>;
  /** reconstruction quality with the trained parameters (called once, when the phase finishes) */
  evaluate: (trained: ReadonlyMap<string, Float32Array>) => Promise<ReconstructionReport>;
}

/**
 * Trains (or resumes) an autoencoder phase to its step count, then evaluates it and stores the
 * evaluation in the final checkpoint, where the export reads it. The caller checks first whether
 * the phase is already finished (finishedPhase), before it loads data and builds the graph.
 */
export async function runAutoencoderPhase(ctx: PhaseContext, o: AutoencoderPhase): Promise<VaePhaseResult> {
  const { plan, log } = ctx;
  const lr = learningRate(o.schedule);
  const trainer = await composeTraining(o.model, {
    loss: o.graph.loss,
    train: o.graph.params,
    optimizer: new Adam({ lr }),
    keepOutputs: o.graph.metrics,
    clipGradNorm: 1,
    session: { intraOpNumThreads: 1 },
    cpuConvKernels: plan.cpuConvKernels,
    ruleVariants: plan.ruleVariants,
  });
  try {
    const result = await runLoop({
      phase: o.phase,
      trainer,
      steps: o.schedule.steps,
      checkpointPath: o.checkpointPath,
      fingerprint: o.fingerprint,
      lrAt: lr,
      metrics: o.graph.metrics,
      log,
      checkpointSeconds: plan.checkpointSeconds,
      ...(plan.checkpointSteps !== undefined ? { checkpointSteps: plan.checkpointSteps } : {}),
      shouldStop: ctx.shouldStop,
      ...(ctx.crashAfterStep !== undefined ? { crashAfterStep: ctx.crashAfterStep } : {}),
      batchAt: o.batchAt,
    });
    if (!result.done) return result;
    const report = await o.evaluate(trainer.params);
    log.append({ phase: o.phase, event: 'eval', ...report });
    await trainer.save(o.checkpointPath, { fingerprint: o.fingerprint, phase: o.phase, step: result.step, done: true, cpuSeconds: result.cpuSeconds, eval: report });
    return { ...result, eval: report };
  } finally {
    await trainer.release();
  }
}

export async function runVaePhase(ctx: PhaseContext): Promise<VaePhaseResult> {
  const { plan, dir } = ctx;
  const checkpointPath = vaeCheckpointPath(dir);
  const print = fingerprint(plan, 'vae');
  const finished = await finishedPhase(checkpointPath, print, plan.vae.steps);
  if (finished) return finished;
  const pool = await vaePool(plan, dir);
  const graph = buildVaeTrainingGraph(plan.model, plan.vae.batch, plan.vae.crop, vaeLossWeights(plan));
  return runAutoencoderPhase(ctx, {
    phase: 'vae',
    model: graph.model,
    graph,
    schedule: plan.vae,
    checkpointPath,
    fingerprint: print,
    batchAt: (step) => vaeBatch(plan, pool, step),
    evaluate: (trained) => evaluateAutoencoder(plan.model, trained, { seed: plan.seed, heldout: plan.eval.heldoutImages, bsdata: plan.eval.bsdataImages, source: checkpointPath }),
  });
}
