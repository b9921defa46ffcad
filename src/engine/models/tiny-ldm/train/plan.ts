// What the pretraining does and how long: the model configuration plus, per phase, the step
// counts, batch sizes and learning rates. Sized by measurement on this machine (1 ORT thread):
// VAE step (batch 8, 64x64 crops) 0.26 CPU s, UNet step (batch 12) 0.64 CPU s, latents ~0.1 CPU s
// per sample, so about 10000 x 0.26 s = 43 min + 4000 x 0.1 s = 7 min + 7000 x 0.64 s = 75 min:
// ~2h of CPU in all. (The VAE had 6000 steps first; the held-out PSNR measured at step 2400,
// 26.4 dB and rising ~1 dB per 700 steps, projected a miss of the 30 dB target, so it was raised.)
// The checkpoints store a fingerprint of the plan, so a resume with other settings is refused.

import { homedir } from 'node:os';
import path from 'node:path';
import { LDM_SCHEDULE, type ScheduleConfig } from '../../../diffusion/schedule';
import { SMOKE_LDM, SMOKE_LDM_V2, SMOKE_LDM_V3, SMOKE_LDM_V4, TINY_LDM, TINY_LDM_V2, TINY_LDM_V3, TINY_LDM_V4, checkConfig, type TinyLdmConfig } from '../config';
import type { CpuConvKernels } from '../../../autodiff/cpu-kernels';
import { DEFAULT_RULE_VARIANTS, type RuleVariants } from '../../../autodiff/types';

export interface PhaseSchedule {
  steps: number;
  batch: number;
  /** peak learning rate, reached after `warmup` steps, then cosine decay to `finalLr` */
  lr: number;
  finalLr: number;
  warmup: number;
}

export interface TrainPlan {
  name: string;
  /** the training folder's name under ~/.cache/defectforge (defaultTrainDir) */
  trainFolder: string;
  model: TinyLdmConfig;
  seed: number;
  /** klWeight: beta of the KL term, for a gaussian VAE only (losses.ts, klDivergence) */
  vae: PhaseSchedule & { crop: number; poolImages: number; klWeight?: number };
  /**
   * Optional phase after the VAE: a decoder with `channels` retrained on the frozen encoder
   * (graphs.ts, buildDecoderTrainingGraph), shipped in place of the VAE's own decoder.
   */
  decoder?: PhaseSchedule & { crop: number; channels: number[]; edgeWeight: number; mseWeight: number };
  latents: { samples: number; chunk: number };
  unet: PhaseSchedule & {
    /** per sample: all context slots '<null>' (the CFG unconditional) */
    dropAll: number;
    /** per sample: family and anomaly slots '<null>' */
    dropLabels: number;
    /** per sample: spatial slots '<null>' */
    dropMask: number;
    /** per batch: train with the masked loss of METHOD.md */
    maskedLossBatches: number;
    /** in the other batches, the loss weight of the latent cells a defect touches (others 1; absent: 1) */
    defectWeight?: number;
    /** decay of the parameter average the package ships (optim/ema.ts); absent: the last weights */
    emaDecay?: number;
    /** Min-SNR-gamma loss weighting over timesteps (unet-phase.ts); absent: plain eps-MSE */
    minSnrGamma?: number;
    /** std of the offset noise added per sample and latent channel (unet-phase.ts); absent: none */
    offsetNoise?: number;
    /** the noise schedule and prediction target the UNet learns and the package declares; absent: LDM_SCHEDULE (eps) */
    schedule?: ScheduleConfig;
  };
  eval: { heldoutImages: number; bsdataImages: number };
  /** the package's default guidance rescale (manifest.guidanceRescale); absent: none. Inference only: no fingerprint holds it */
  guidanceRescale?: number;
  /**
   * How the phases' trainers run convolutions on CPU (autodiff/cpu-kernels.ts) and which of the
   * exact gradient constructions they emit (autodiff/types.ts RuleVariants). The shipped plans pin
   * what their weights were trained with ('standard' kernels, padded-row im2col), so that
   * `npm run train:base` reproduces them bit for bit; every other trainer's defaults ('nchwc',
   * flat rows) are faster per step (~8% and ~3%) but round differently: switching a plan to them
   * means retraining and reshipping its model.
   */
  cpuConvKernels: CpuConvKernels;
  ruleVariants: RuleVariants;
  /** checkpoint at least this often (wall seconds), and every `checkpointSteps` steps when set */
  checkpointSeconds: number;
  checkpointSteps?: number;
}

/**
 * The shipped UNet's schedule since session 9 (BASE_PLAN_V5; `train:base -- --zero-snr` applies it
 * to other plans): the LDM betas rescaled to zero terminal SNR, v-prediction and trailing
 * timesteps (Lin et al. 2024). The last level is pure noise, so the
 * UNet must take an image's overall colour from its tokens, not from the leak of the image that
 * the scaled-linear schedule keeps at t = 999 (unet-phase.ts); eps-prediction cannot give x0
 * there, hence v; trailing spacing makes the sampler start at t = 999 itself.
 */
export const ZERO_SNR_V_SCHEDULE: ScheduleConfig = { ...LDM_SCHEDULE, predictionType: 'v_prediction', timestepSpacing: 'trailing', stepsOffset: 0, rescaleBetasZeroSnr: true };

/** The schedule the plan's UNet is trained on and its package declares. */
export function unetSchedule(plan: TrainPlan): ScheduleConfig {
  return plan.unet.schedule ?? LDM_SCHEDULE;
}

/** The first shipped design (16 latent channels, deterministic autoencoder): `--plan v1`. */
export const BASE_PLAN: TrainPlan = {
  name: 'tiny-ldm-v1',
  trainFolder: 'train-base',
  model: TINY_LDM,
  cpuConvKernels: 'standard',
  ruleVariants: { flatRows: false },
  seed: 1,
  vae: { steps: 10000, batch: 8, crop: 64, lr: 1e-3, finalLr: 5e-5, warmup: 200, poolImages: 400 },
  latents: { samples: 4000, chunk: 200 },
  // The full budget: 7000 UNet steps (~72 min of CPU). The first shipped package (session 1)
  // was exported at 3000 steps, when that session's CPU time ran out; a resume extends the phase
  // from its checkpoint (the fingerprint ignores steps) and the export then replaces the package.
  unet: { steps: 7000, batch: 12, lr: 3e-4, finalLr: 3e-5, warmup: 200, dropAll: 0.1, dropLabels: 0.1, dropMask: 0.1, maskedLossBatches: 0.3 },
  eval: { heldoutImages: 16, bsdataImages: 16 },
  checkpointSeconds: 90,
};

export const SMOKE_PLAN: TrainPlan = {
  name: 'tiny-ldm-smoke',
  trainFolder: 'train-base',
  model: SMOKE_LDM,
  // the smoke plans train throwaway weights: the fastest constructions
  cpuConvKernels: 'nchwc',
  ruleVariants: { ...DEFAULT_RULE_VARIANTS },
  seed: 1,
  vae: { steps: 100, batch: 4, crop: 32, lr: 3e-3, finalLr: 3e-4, warmup: 5, poolImages: 12 },
  latents: { samples: 24, chunk: 8 },
  unet: { steps: 120, batch: 4, lr: 2e-3, finalLr: 2e-4, warmup: 5, dropAll: 0.1, dropLabels: 0.1, dropMask: 0.1, maskedLossBatches: 0.3 },
  eval: { heldoutImages: 4, bsdataImages: 2 },
  checkpointSeconds: 90,
  checkpointSteps: 25,
};

/** A v1 plan's schedules with the v2 latent design: a gaussian VAE (KL weight 1e-4), a decoder phase, the v2 training folder. */
function withV2Latents(base: TrainPlan, name: string, model: TinyLdmConfig, decoder: NonNullable<TrainPlan['decoder']>): TrainPlan {
  return { ...base, name, trainFolder: 'train-base-v2', model, vae: { ...base.vae, klWeight: 1e-4 }, decoder };
}

/**
 * The design shipped in sessions 3-4 (`--plan v2`, package name tiny-ldm-v2): TINY_LDM_V2 (4
 * latent channels, gaussian posterior) with KL weight 1e-4 (the short experiments found no
 * measurable difference between 1e-6, 1e-4 and 1e-2: ./LATENT-EXPERIMENTS.md), the same VAE and
 * UNet schedules as BASE_PLAN, then a wider decoder on the frozen encoder; its own training folder.
 */
export const BASE_PLAN_V2: TrainPlan = withV2Latents(BASE_PLAN, 'tiny-ldm-v2', TINY_LDM_V2,
  // The joint VAE ends at 28.9 dB held-out (4 channels carry less than v1's 16, and its decoder is
  // small); fine-tuning that decoder with an MSE term only reached 29.3 dB in 3,000 steps, while a
  // wider decoder from scratch on the frozen encoder passed the joint VAE's figure by step 2,000
  // (27.1 dB at 1,000, 28.8 dB at 2,000, learning rate still near its peak). ~0.26 CPU s a step.
  { steps: 12000, batch: 8, crop: 64, lr: 1e-3, finalLr: 5e-5, warmup: 200, channels: [32, 64, 128, 128], edgeWeight: 0.5, mseWeight: 10 },
);

export const SMOKE_PLAN_V2: TrainPlan = withV2Latents(SMOKE_PLAN, 'tiny-ldm-v2-smoke', SMOKE_LDM_V2,
  { steps: 60, batch: 4, crop: 32, lr: 3e-3, finalLr: 3e-4, warmup: 5, channels: [16, 16, 32, 32], edgeWeight: 0.5, mseWeight: 10 },
);

/**
 * The design shipped in sessions 5-8 (`--plan v3`, package name tiny-ldm-v3 since session 9):
 * BASE_PLAN_V2 with the UNet's mask input (TINY_LDM_V3). Every phase before the UNet has V2's
 * fingerprint (and is deterministic), so a copy of a finished V2 folder's vae.ckpt, decoder.ckpt
 * and latents lets a V3 run train only its UNet.
 * Its decoder phase has 14,000 steps (V2: 12,000). Since session 6 train:base runs that phase
 * beside the latents and the UNet (run.ts, decoderBeside), whose ~4,200 s it stays under (0.254
 * s a step: ~3,560 s), so the extra steps cost CPU time but no wall time; V2's decoder reached
 * 30.15 dB held-out only after an extension from 8,000 to 12,000 steps (its cosine schedule
 * restarted at step 8,000), which a from-scratch rerun does not repeat: one straight schedule
 * with a margin over the 30 dB target instead.
 */
export const BASE_PLAN_V3: TrainPlan = { ...BASE_PLAN_V2, name: 'tiny-ldm-v3', trainFolder: 'train-base-v3', model: TINY_LDM_V3, decoder: { ...BASE_PLAN_V2.decoder!, steps: 14000 } };

export const SMOKE_PLAN_V3: TrainPlan = { ...SMOKE_PLAN_V2, name: 'tiny-ldm-v3-smoke', model: SMOKE_LDM_V3, unet: { ...SMOKE_PLAN_V2.unet, emaDecay: 0.9 } };

/**
 * BASE_PLAN_V3 with the UNet's family embedding (TINY_LDM_V4; unet.ts). Its phases before the UNet
 * have V3's fingerprints, so a copy of a finished V3 folder's vae.ckpt, decoder.ckpt and latents
 * lets a V4 run train only its UNet.
 */
export const BASE_PLAN_V4: TrainPlan = { ...BASE_PLAN_V3, name: 'tiny-ldm-v4', trainFolder: 'train-base-v4', model: TINY_LDM_V4 };

export const SMOKE_PLAN_V4: TrainPlan = { ...SMOKE_PLAN_V3, name: 'tiny-ldm-v4-smoke', model: SMOKE_LDM_V4 };

/**
 * The shipped design since session 9 (`--plan v5`, the default; package name tiny-ldm): V3's
 * model, VAE, decoder and latents (the same fingerprints, so a finished V3 folder's vae.ckpt,
 * decoder.ckpt and latents leave only the UNet to train), with the UNet trained on
 * ZERO_SNR_V_SCHEDULE. Measured against V3 (session 9, `npm run model:quality`, 32 samples per
 * family): distance to the real defect 43.2 against 44.8, classifier 36.6% against 35.3%, and a
 * large mask takes its family's colour instead of a mottled patch.
 */
export const BASE_PLAN_V5: TrainPlan = { ...BASE_PLAN_V3, name: 'tiny-ldm', trainFolder: 'train-base-v5', unet: { ...BASE_PLAN_V3.unet, schedule: ZERO_SNR_V_SCHEDULE } };

export const SMOKE_PLAN_V5: TrainPlan = { ...SMOKE_PLAN_V3, name: 'tiny-ldm-v5-smoke', unet: { ...SMOKE_PLAN_V3.unet, schedule: ZERO_SNR_V_SCHEDULE } };

export type PlanVersion = 'v1' | 'v2' | 'v3' | 'v4' | 'v5';

/** The plan of `--plan v1|v2|v3|v4|v5` (with `--smoke`: its tiny version); v5 is the shipped one. */
export function selectPlan(version: string, smoke: boolean): TrainPlan {
  if (version === 'v1') return smoke ? SMOKE_PLAN : BASE_PLAN;
  if (version === 'v2') return smoke ? SMOKE_PLAN_V2 : BASE_PLAN_V2;
  if (version === 'v3') return smoke ? SMOKE_PLAN_V3 : BASE_PLAN_V3;
  if (version === 'v4') return smoke ? SMOKE_PLAN_V4 : BASE_PLAN_V4;
  if (version === 'v5') return smoke ? SMOKE_PLAN_V5 : BASE_PLAN_V5;
  throw new Error(`--plan must be v1, v2, v3, v4 or v5, got '${version}'`);
}

/** What an experiment changes in a plan (planVariant): the latent design, the VAE steps, or one of the UNet phase's loss options. */
export interface PlanVariant {
  latentChannels?: number;
  /** beta of the KL term; switches the VAE to the gaussian posterior. 'off': deterministic VAE */
  kl?: number | 'off';
  vaeSteps?: number;
  /** plan.unet.defectWeight (the UNet phase only: the autoencoder and latents stay valid) */
  defectWeight?: number;
  /** plan.unet.minSnrGamma (the UNet phase only) */
  minSnrGamma?: number;
  /** plan.unet.offsetNoise (the UNet phase only) */
  offsetNoise?: number;
  /** plan.unet.schedule = ZERO_SNR_V_SCHEDULE (the UNet phase only) */
  zeroSnr?: boolean;
}

/**
 * A plan with another latent design, for the short latent-space experiments: the channel count,
 * the posterior (KL weight or none) and the VAE step count changed, the name saying how; or with
 * another UNet defect weight or Min-SNR weighting (the autoencoder's and the latents' fingerprints unchanged). A
 * deterministic VAE gets the latent L2 term of BASE_PLAN; a gaussian one the KL term instead.
 */
export function planVariant(plan: TrainPlan, v: PlanVariant): TrainPlan {
  const vae = { ...plan.model.vae };
  const schedule = { ...plan.vae };
  let name = plan.name;
  if (v.latentChannels !== undefined) {
    if (!Number.isInteger(v.latentChannels)) throw new Error(`latent channels must be an integer, got ${v.latentChannels}`);
    vae.latentChannels = v.latentChannels;
    name += `-c${v.latentChannels}`;
  }
  if (v.kl === 'off') {
    delete vae.posterior;
    delete schedule.klWeight;
    name += '-det';
  } else if (v.kl !== undefined) {
    if (!(v.kl >= 0) || !Number.isFinite(v.kl)) throw new Error(`the KL weight must be a number >= 0, got ${v.kl}`);
    vae.posterior = 'gaussian';
    schedule.klWeight = v.kl;
    name += `-kl${v.kl}`;
  }
  if (v.vaeSteps !== undefined) {
    if (!Number.isInteger(v.vaeSteps) || v.vaeSteps < 1) throw new Error(`VAE steps must be a positive integer, got ${v.vaeSteps}`);
    schedule.steps = v.vaeSteps;
    name += `-vae${v.vaeSteps}`;
    schedule.warmup = Math.min(schedule.warmup, Math.floor(v.vaeSteps / 4));
  }
  let unet = plan.unet;
  if (v.defectWeight !== undefined) {
    if (!(Number.isFinite(v.defectWeight) && v.defectWeight >= 1)) throw new Error(`the defect weight must be a number >= 1, got ${v.defectWeight}`);
    unet = { ...unet, defectWeight: v.defectWeight };
    name += `-dw${v.defectWeight}`;
  }
  // the UNet options that take any positive number: [option, its name in errors, name suffix]
  const positiveOptions = [['minSnrGamma', 'the Min-SNR gamma', 'snr'], ['offsetNoise', 'the offset noise', 'offset']] as const;
  for (const [option, what, suffix] of positiveOptions) {
    const value = v[option];
    if (value === undefined) continue;
    if (!(Number.isFinite(value) && value > 0)) throw new Error(`${what} must be a number > 0, got ${value}`);
    unet = { ...unet, [option]: value };
    name += `-${suffix}${value}`;
  }
  if (v.zeroSnr) {
    unet = { ...unet, schedule: ZERO_SNR_V_SCHEDULE };
    name += '-zsnr';
  }
  if (vae.posterior === 'gaussian' && schedule.klWeight === undefined) throw new Error(`plan ${name}: a gaussian VAE needs a KL weight`);
  const model = { ...plan.model, vae };
  checkConfig(model);
  return { ...plan, name, model, vae: schedule, unet };
}

/** Warmup then cosine decay; `step` is the 1-based number of the update being made. */
export function learningRate(s: PhaseSchedule): (step: number) => number {
  return (step) => {
    if (step <= s.warmup) return (s.lr * step) / Math.max(1, s.warmup);
    const progress = Math.min(1, (step - s.warmup) / Math.max(1, s.steps - s.warmup));
    return s.finalLr + 0.5 * (s.lr - s.finalLr) * (1 + Math.cos(Math.PI * progress));
  };
}

/**
 * A stable fingerprint of what determines a phase's results (checkpoint compatibility). A phase's
 * step count is left out on purpose: raising it on a running training extends the phase (the
 * cosine schedule then stretches from the resume point on; the log records the change), which is
 * how a phase that will miss its target gets more steps without starting over.
 */
export function fingerprint(plan: TrainPlan, phase: 'vae' | 'decoder' | 'unet' | 'latents'): string {
  // the VAE phase depends only on the autoencoder's part of the model, so resizing the UNet
  // never invalidates a trained VAE
  const m = plan.model;
  const withoutSteps = <T extends { steps: number }>(s: T): Omit<T, 'steps'> => {
    const { steps: _steps, ...rest } = s;
    return rest;
  };
  const parts: Record<string, unknown> = { imageSize: m.imageSize, vaeModel: m.vae, modelSeed: m.seed, seed: plan.seed, vae: withoutSteps(plan.vae) };
  if (phase !== 'vae') {
    // the cached latents and the decoder's frozen encoder come from the VAE's final weights, so
    // they depend on its step count
    parts.vae = plan.vae;
  }
  if (phase === 'decoder') {
    if (!plan.decoder) throw new Error(`plan ${plan.name} has no decoder phase`);
    parts.decoder = withoutSteps(plan.decoder);
  }
  if (phase === 'latents' || phase === 'unet') parts.latents = plan.latents;
  if (phase === 'unet') {
    parts.model = m;
    parts.unet = withoutSteps(plan.unet);
  }
  return JSON.stringify(parts);
}

/** The model the package ships: plan.model, with the decoder phase's channels when it has one. */
export function packageConfig(plan: TrainPlan): TinyLdmConfig {
  if (!plan.decoder) return plan.model;
  const cfg = { ...plan.model, vae: { ...plan.model.vae, decoderChannels: [...plan.decoder.channels] } };
  checkConfig(cfg);
  return cfg;
}

/** `DEFECTFORGE_TRAIN_DIR`, else ~/.cache/defectforge/<folder> (train-base for v1, train-base-v2 for v2). */
export function defaultTrainDir(env: NodeJS.ProcessEnv = process.env, folder = BASE_PLAN.trainFolder): string {
  const override = env['DEFECTFORGE_TRAIN_DIR'];
  return override && override.length > 0 ? path.resolve(override) : path.join(homedir(), '.cache', 'defectforge', folder);
}
