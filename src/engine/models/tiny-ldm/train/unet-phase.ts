// Phase 2: UNet + spatial encoder + token table on cached latents (./latents).
//
// Per sample of a step's batch (all draws from Rng(seed, 'unet-batch', step)):
//   z0 = scale * latent,  t ~ U{0..T-1},  eps ~ N(0, I),  z_t = sqrt(abar_t) z0 + sqrt(1 - abar_t) eps
//   context dropping: with dropAll every slot is '<null>' (the unconditional context CFG needs),
//   with dropLabels the family and anomaly slots, with dropMask the spatial slots; mask images
//   never take spatial tokens (they ARE the mask)
// Per batch, with probability maskedLossBatches, METHOD.md's masked loss: defect samples weigh
// the squared error by m' (mask on the latent grid, majority of the cell; any coverage when the
// defect is thinner than a cell), the other samples by 0; otherwise MSE everywhere, in which the
// cells a defect touches (any coverage) weigh defectWeight (default 1: plain MSE) and all other
// cells 1. Why: blended generation only ever asks the UNet for the masked cells, and a thin
// defect (a scratch) touches a few percent of its image's cells, so under plain MSE its look is a
// sliver of the loss and the model learns to paint it faintly.
// With plan.unet.minSnrGamma = gamma, each sample's terms are also scaled by Min-SNR-gamma (Hang
// et al., ICCV 2023), for eps-prediction: w(t) = min(SNR(t), gamma) / SNR(t), SNR = abar / (1 - abar).
// Under plain eps-MSE the low-noise steps, whose loss is largest, dominate the gradient; capping
// their weight leaves more of it to the noisy steps, where the image's layout and colours (and
// so its conditioning) are decided.
// With plan.unet.offsetNoise = s ("offset noise", Guttenberg 2023), the noise of each sample also
// gets a constant per latent channel: eps' = eps + s * n_c, n_c ~ N(0, 1), and eps' is the target.
// Why: the schedule's last level keeps sqrt(abar) = 0.068 of the image. Averaged over the 32x32
// grid, that leak (0.068 x 0.87, the rms of a latent channel's spatial mean over the shipped
// latents: ~0.06) outweighs the noise's own mean (std 1/32), so a UNet learns to read an image's
// overall colour from z_t rather than from its family token, and from pure noise paints every
// family alike (measured on v3 and v4: the same grey-olive mosaic whatever the family; started
// from the noised image instead, the brightness follows the image). With s = 0.1 the noise's mean
// has std ~0.105 at every level, which hides the leak at high noise (0.06) but not from t ~ 600
// down (sqrt(abar) = 0.4 there).
// With plan.unet.schedule (unetSchedule: ZERO_SNR_V_SCHEDULE for `--zero-snr`), the schedule is
// rescaled so that the last level holds no image at all (removes the leak rather than hiding it),
// and the UNet predicts v = sqrt(abar) eps - sqrt(1 - abar) z0 (the graph's eps_target input then
// holds v), because eps says nothing about z0 where abar = 0.

import path from 'node:path';
import { composeTraining } from '../../../autodiff/composer';
import { Adam, WithEma } from '../../../autodiff/optim';
import { deriveSeed } from '../../../corpus';
import { maskToLatent } from '../../../diffusion/latent-mask';
import { alphasCumprod, type PredictionType } from '../../../diffusion/schedule';
import type { HostTensor } from '../../../runtime';
import { Rng } from '../../../../shared/random';
import { latentSize } from '../config';
import { NULL_TOKEN, oneHot, type TokenVocabulary } from '../tokens';
import { sampleLabels } from './data';
import { buildUNetTrainingGraph } from './graphs';
import { unpackMask, type LatentSet } from './latents';
import { finishedPhase, runLoop, type LoopResult } from './loop';
import { fingerprint, learningRate, unetSchedule, type TrainPlan } from './plan';
import type { PhaseContext } from './vae-phase';

export const unetCheckpointPath = (dir: string): string => path.join(dir, 'unet.ckpt');

/**
 * Min-SNR-gamma's weight of a loss term at cumulative alpha `abar` (file comment): min(SNR, gamma)
 * divided by the SNR for eps-prediction, by SNR + 1 for v-prediction (whose MSE is (SNR + 1) times
 * the eps one's in x0 terms; Hang et al. 2023, eq. 9), which stays finite where SNR = 0.
 */
export function minSnrWeight(abar: number, gamma: number, prediction: PredictionType = 'epsilon'): number {
  const snr = abar / (1 - abar);
  return Math.min(snr, gamma) / (prediction === 'epsilon' ? snr : snr + 1);
}

/** What the UNet learns to output for z_t = a z0 + s eps (a = sqrt(abar), s = sqrt(1 - abar)): eps, or v = a eps - s z0. */
function predictionTarget(prediction: PredictionType, a: number, s: number, z0: number, eps: number): number {
  return prediction === 'epsilon' ? eps : a * eps - s * z0;
}

/** eps [C, plane] += std * n_c per channel c, n_c ~ N(0, 1) (file comment, offset noise). */
export function addOffsetNoise(eps: Float32Array, channels: number, plane: number, std: number, rng: Rng): void {
  const offsets = rng.normals(channels);
  for (let c = 0; c < channels; c++) {
    const shift = std * offsets[c]!;
    for (let i = c * plane; i < (c + 1) * plane; i++) eps[i]! += shift;
  }
}

/** The batch of step `step` (see the file comment). */
export function unetBatch(plan: TrainPlan, data: LatentSet, vocabulary: TokenVocabulary, step: number): Record<string, HostTensor> {
  const cfg = plan.model;
  const { batch, dropAll, dropLabels, dropMask, maskedLossBatches } = plan.unet;
  const defectWeight = plan.unet.defectWeight ?? 1;
  const g = latentSize(cfg);
  const C = cfg.vae.latentChannels;
  const S = cfg.imageSize;
  const per = C * g * g;
  const schedule = unetSchedule(plan);
  const abar = alphasCumprod(schedule);
  const rng = new Rng(deriveSeed(plan.seed, 'unet-batch', step));
  const masked = rng.uniform() < maskedLossBatches;
  const sample = new Float32Array(batch * per);
  const target = new Float32Array(batch * per);
  const timestep = new Float32Array(batch);
  const keep = new Float32Array(batch);
  const mask = new Float32Array(batch * S * S);
  const weight = new Float32Array(batch * g * g);
  const gamma = plan.unet.minSnrGamma;
  const timestepWeight = gamma !== undefined ? new Float32Array(batch) : undefined;
  const sequences: string[][] = [];
  let maskedAny = false;
  for (let b = 0; b < batch; b++) {
    const index = rng.int(data.count);
    const label = data.labels[index]!;
    const t = rng.int(schedule.numTrainTimesteps);
    const a = Math.sqrt(abar[t]!);
    const s = Math.sqrt(1 - abar[t]!);
    const eps = rng.normals(per);
    if (plan.unet.offsetNoise !== undefined) addOffsetNoise(eps, C, g * g, plan.unet.offsetNoise, rng);
    for (let i = 0; i < per; i++) {
      const z0 = data.scale * data.latents[index * per + i]!;
      sample[b * per + i] = a * z0 + s * eps[i]!;
      target[b * per + i] = predictionTarget(schedule.predictionType, a, s, z0, eps[i]!);
    }
    timestep[b] = t;
    if (timestepWeight) timestepWeight[b] = minSnrWeight(abar[t]!, gamma!, schedule.predictionType);
    const u = rng.uniform();
    const nullAll = u < dropAll;
    const nullLabels = nullAll || u < dropAll + dropLabels;
    const nullMask = nullAll || (u >= dropAll + dropLabels && u < dropAll + dropLabels + dropMask);
    sequences.push(nullLabels ? Array.from({ length: 1 + cfg.defectTokens }, () => NULL_TOKEN) : sampleLabels(label, cfg.defectTokens));
    keep[b] = nullMask || label.kind === 'mask-image' ? 0 : 1;
    unpackMask(data.masks, S * S, index, mask, b * S * S);
    const pixels = mask.subarray(b * S * S, (b + 1) * S * S);
    const cells = weight.subarray(b * g * g, (b + 1) * g * g);
    if (masked && label.kind === 'defect') {
      let m = maskToLatent(pixels, { width: S, height: S }, { width: g, height: g }, 'majority');
      if (!m.some((v) => v > 0)) m = maskToLatent(pixels, { width: S, height: S }, { width: g, height: g }, 'any');
      cells.set(m);
      maskedAny = true;
    } else if (!masked && label.kind === 'defect' && defectWeight !== 1) {
      const m = maskToLatent(pixels, { width: S, height: S }, { width: g, height: g }, 'any');
      for (let i = 0; i < cells.length; i++) cells[i] = 1 + (defectWeight - 1) * m[i]!;
    } else if (!masked) {
      cells.fill(1);
    }
  }
  // a masked batch without a defect sample falls back to the plain loss
  if (masked && !maskedAny) weight.fill(1);
  const f = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });
  const V = vocabulary.labels.length;
  return {
    sample: f([batch, C, g, g], sample),
    timestep: f([batch], timestep),
    eps_target: f([batch, C, g, g], target),
    loss_weight: f([batch, 1, g, g], weight),
    label_onehot: f([batch, 1 + cfg.defectTokens, V], oneHot(vocabulary, sequences)),
    spatial_keep: f([batch, 1, 1], keep),
    mask: f([batch, 1, S, S], mask),
    ...(timestepWeight ? { timestep_weight: f([batch, 1, 1, 1], timestepWeight) } : {}),
  };
}

export async function runUNetPhase(ctx: PhaseContext, data: LatentSet): Promise<LoopResult> {
  const { plan, dir, log } = ctx;
  const ckptPath = unetCheckpointPath(dir);
  const print = fingerprint(plan, 'unet');
  const finished = await finishedPhase(ckptPath, print, plan.unet.steps);
  if (finished) return finished;
  const graph = buildUNetTrainingGraph(plan.model, plan.unet.batch, { timestepWeights: plan.unet.minSnrGamma !== undefined });
  const lr = learningRate(plan.unet);
  const trainer = await composeTraining(graph.model, {
    loss: graph.loss,
    train: graph.params,
    optimizer: plan.unet.emaDecay !== undefined ? new WithEma(new Adam({ lr }), plan.unet.emaDecay) : new Adam({ lr }),
    clipGradNorm: 1,
    session: { intraOpNumThreads: 1 },
    cpuConvKernels: plan.cpuConvKernels,
    ruleVariants: plan.ruleVariants,
  });
  try {
    return await runLoop({
      phase: 'unet',
      trainer,
      steps: plan.unet.steps,
      checkpointPath: ckptPath,
      fingerprint: print,
      lrAt: lr,
      metrics: [],
      log,
      checkpointSeconds: plan.checkpointSeconds,
      ...(plan.checkpointSteps !== undefined ? { checkpointSteps: plan.checkpointSteps } : {}),
      shouldStop: ctx.shouldStop,
      ...(ctx.crashAfterStep !== undefined ? { crashAfterStep: ctx.crashAfterStep } : {}),
      meta: { latentScale: data.scale, latentMean: data.mean, vocabulary: graph.vocabulary.labels },
      batchAt: (step) => unetBatch(plan, data, graph.vocabulary, step),
    });
  } finally {
    await trainer.release();
  }
}
