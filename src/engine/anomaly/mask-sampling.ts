// Sampling new masks from a learned mask embedding (METHOD.md, mask generation, after the
// public code): DDIM from pure noise with classifier-free guidance against the unconditional
// context (eps = eps_u + s (eps_c - eps_u), s = 5, 100 steps: both settings), decode, average the
// channels, threshold at 0.8 on [-1, 1], and reject empty masks and masks along the border;
// rejected draws are retried with the next draws of the same seeded Rng, so a seed still fixes
// the result.

import { UserError } from '../../shared/errors';
import { Rng } from '../../shared/random';
import { CancelledError } from '../diffusion/blended';
import { createScheduler } from '../diffusion/schedulers';
import type { BuiltinModel } from '../models/builtin/load';
import { maskContext, maskLayout } from './mask-context';
import { DEFAULT_MASK_THRESHOLD, maskRejection, thresholdMaskImage, type MaskRejection } from './mask-rules';

export interface MaskSamplingSettings {
  steps: number;
  guidance: number;
  threshold: number;
  /** draws before giving up when every one is rejected */
  maxAttempts: number;
}

export const DEFAULT_MASK_SAMPLING: MaskSamplingSettings = { steps: 100, guidance: 5, threshold: DEFAULT_MASK_THRESHOLD, maxAttempts: 20 };

export interface SampledMask {
  /** 0 / 255 at the model's image size */
  mask: Uint8Array;
  attempts: number;
  rejected: MaskRejection[];
}

/** One DDIM + CFG sample decoded to a [3, H, W] image in [-1, 1]. */
async function sampleImage(model: BuiltinModel, cond: Float32Array, uncond: Float32Array, settings: MaskSamplingSettings, rng: Rng, signal?: AbortSignal): Promise<Float32Array> {
  const facts = model.facts;
  const scheduler = createScheduler(facts.schedule, { sampler: 'ddim', steps: settings.steps, eta: 0 });
  const count = facts.latentChannels * facts.latentSize.width * facts.latentSize.height;
  let z = rng.normals(count, scheduler.initNoiseSigma);
  const context = new Float32Array(uncond.length * 2);
  context.set(uncond, 0);
  context.set(cond, uncond.length);
  for (let i = 0; i < scheduler.timesteps.length; i++) {
    if (signal?.aborted) throw new CancelledError();
    const t = scheduler.timesteps[i]!;
    const input = scheduler.scaleModelInput(z, i);
    const both = new Float32Array(count * 2);
    both.set(input, 0);
    both.set(input, count);
    const out = await model.predictNoise({ latents: both, batch: 2, timesteps: [t, t], context });
    const eps = new Float32Array(count);
    for (let k = 0; k < count; k++) eps[k] = out[k]! + settings.guidance * (out[count + k]! - out[k]!);
    z = scheduler.step(i, eps, z, rng).prevSample;
  }
  return model.decode(z, 1);
}

export async function sampleLearnedMask(model: BuiltinModel, em: Float32Array, seed: number, settings: MaskSamplingSettings = DEFAULT_MASK_SAMPLING, signal?: AbortSignal): Promise<SampledMask> {
  const { width, height } = model.facts.imageSize;
  const cond = maskContext(model, maskLayout(model), em);
  const uncond = (await model.context(null)).context;
  const rng = new Rng(seed);
  const rejected: MaskRejection[] = [];
  for (let attempt = 1; attempt <= settings.maxAttempts; attempt++) {
    const image = await sampleImage(model, cond, uncond, settings, rng, signal);
    const mask = thresholdMaskImage(image, width, height, settings.threshold);
    const why = maskRejection(mask, width, height);
    if (why === null) return { mask, attempts: attempt, rejected };
    rejected.push(why);
  }
  throw new UserError(
    'MASK_GENERATION_FAILED',
    `model '${model.facts.name}': ${settings.maxAttempts} sampled masks were all rejected (${rejected.filter((r) => r === 'empty').length} empty, ${rejected.filter((r) => r === 'border').length} along the border); train the mask embedding longer or use real masks`,
  );
}
