// What the pretraining does and how long: the model configuration plus, per phase, the step
// counts, batch sizes and learning rates. Sized by measurement on this machine (1 ORT thread):
// VAE step (batch 8, 64x64 crops) 0.26 CPU s, UNet step (batch 12) 0.64 CPU s, latents ~0.1 CPU s
// per sample, so about 10000 x 0.26 s = 43 min + 4000 x 0.1 s = 7 min + 7000 x 0.64 s = 75 min:
// ~2h of CPU in all. (The VAE had 6000 steps first; the held-out PSNR measured at step 2400,
// 26.4 dB and rising ~1 dB per 700 steps, projected a miss of the 30 dB target, so it was raised.)
// The checkpoints store a fingerprint of the plan, so a resume with other settings is refused.

import { homedir } from 'node:os';
import path from 'node:path';
import { SMOKE_LDM, TINY_LDM, type TinyLdmConfig } from '../config';

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
  model: TinyLdmConfig;
  seed: number;
  vae: PhaseSchedule & { crop: number; poolImages: number };
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
  };
  eval: { heldoutImages: number; bsdataImages: number };
  /** checkpoint at least this often (wall seconds), and every `checkpointSteps` steps when set */
  checkpointSeconds: number;
  checkpointSteps?: number;
}

export const BASE_PLAN: TrainPlan = {
  name: 'tiny-ldm',
  model: TINY_LDM,
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
  model: SMOKE_LDM,
  seed: 1,
  vae: { steps: 100, batch: 4, crop: 32, lr: 3e-3, finalLr: 3e-4, warmup: 5, poolImages: 12 },
  latents: { samples: 24, chunk: 8 },
  unet: { steps: 120, batch: 4, lr: 2e-3, finalLr: 2e-4, warmup: 5, dropAll: 0.1, dropLabels: 0.1, dropMask: 0.1, maskedLossBatches: 0.3 },
  eval: { heldoutImages: 4, bsdataImages: 2 },
  checkpointSeconds: 90,
  checkpointSteps: 25,
};

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
export function fingerprint(plan: TrainPlan, phase: 'vae' | 'unet' | 'latents'): string {
  // the VAE phase depends only on the autoencoder's part of the model, so resizing the UNet
  // never invalidates a trained VAE
  const m = plan.model;
  const withoutSteps = <T extends { steps: number }>(s: T): Omit<T, 'steps'> => {
    const { steps: _steps, ...rest } = s;
    return rest;
  };
  const parts: Record<string, unknown> = { imageSize: m.imageSize, vaeModel: m.vae, modelSeed: m.seed, seed: plan.seed, vae: withoutSteps(plan.vae) };
  if (phase !== 'vae') {
    // the cached latents come from the VAE's final weights, so they depend on its step count
    parts.vae = plan.vae;
    parts.latents = plan.latents;
  }
  if (phase === 'unet') {
    parts.model = m;
    parts.unet = withoutSteps(plan.unet);
  }
  return JSON.stringify(parts);
}

/** `DEFECTFORGE_TRAIN_DIR`, else ~/.cache/defectforge/train-base. */
export function defaultTrainDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env['DEFECTFORGE_TRAIN_DIR'];
  return override && override.length > 0 ? path.resolve(override) : path.join(homedir(), '.cache', 'defectforge', 'train-base');
}
