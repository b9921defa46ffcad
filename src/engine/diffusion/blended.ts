// Blended, mask-exact generation (METHOD.md, Generation):
//   z_{i+1} = step(z_i, eps_theta(z_i, t_i, e)) * m + q(y at level i+1, fresh noise) * (1 - m)
// inside the mask the model denoises; outside it the normal image's latent, noised to the same
// level, replaces the latent. After decoding, the original pixels are pasted back outside a
// dilated, feathered mask, so the background is bit-exact. The same inputs and seed on the same
// execution provider give bit-identical output (all randomness comes from one seeded Rng, drawn
// in a fixed order).

import { Rng } from '../../shared/random';
import type { Conditioning, DiffusionModel } from '../models/types';
import { aarDilationAt, aarWeights, DEFAULT_AAR, type AarSettings } from './aar';
import { imageToTensor, tensorToImage, type RgbImage } from './image-tensor';
import { blendLatents, dilateGrid, maskToLatent } from './latent-mask';
import { DEFAULT_PASTE_BACK, pasteBack, type PasteBackSettings } from './paste-back';
import { createScheduler, type SamplerSettings } from './schedulers';

export interface BlendedRequest {
  normal: RgbImage;
  /** pixel mask (0 / non-zero), normal.width x normal.height */
  mask: Uint8Array;
  conditioning: Conditioning;
  seed: number;
  sampler: SamplerSettings;
  /** 1: start from pure noise; s < 1: start from y noised to the level of step round(N (1 - s)) */
  strength?: number;
  /** classifier-free guidance scale (used when the model has an unconditional context and scale != 1) */
  guidanceScale?: number;
  aar?: AarSettings;
  pasteBack?: PasteBackSettings;
}

export interface StepEvent {
  step: number;
  total: number;
  /** the current clean-image estimate, decoded, when a preview was asked for at this step */
  preview?: RgbImage;
}

export interface BlendedOptions {
  signal?: AbortSignal;
  onStep?: (event: StepEvent) => void;
  /** decode a preview of x0_hat every N steps (0: never) */
  previewEvery?: number;
}

export interface BlendedResult {
  image: RgbImage;
  /** the exact mask used (0/255) */
  mask: Uint8Array;
  settings: {
    seed: number;
    sampler: SamplerSettings;
    strength: number;
    guidanceScale: number;
    aar: AarSettings;
    pasteBack: PasteBackSettings;
    modelHash: string;
    startStep: number;
  };
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export async function generateBlended(model: DiffusionModel, request: BlendedRequest, options: BlendedOptions = {}): Promise<BlendedResult> {
  const facts = model.facts;
  const { normal, mask } = request;
  if (normal.width !== facts.imageSize.width || normal.height !== facts.imageSize.height) {
    throw new RangeError(`normal image is ${normal.width}x${normal.height}; model '${facts.name}' works at ${facts.imageSize.width}x${facts.imageSize.height}`);
  }
  if (mask.length !== normal.width * normal.height) throw new RangeError(`mask has ${mask.length} pixels, image ${normal.width * normal.height}`);
  const strength = request.strength ?? 1;
  if (!(strength > 0 && strength <= 1)) throw new RangeError(`strength must be in (0, 1], got ${strength}`);
  const aar = request.aar ?? DEFAULT_AAR;
  const paste = request.pasteBack ?? DEFAULT_PASTE_BACK;
  const guidance = request.guidanceScale ?? 1;
  const useCfg = facts.hasUnconditional && guidance !== 1;

  const rng = new Rng(request.seed);
  const scheduler = createScheduler(facts.schedule, request.sampler);
  const steps = scheduler.timesteps.length;
  const latentPlane = facts.latentSize.width * facts.latentSize.height;
  const latentCount = facts.latentChannels * latentPlane;

  const y0 = await model.encode(imageToTensor(normal), 1);
  const latentMask = maskToLatent(mask, normal, facts.latentSize, 'any');
  const cond = await model.context(request.conditioning);
  const uncond = useCfg ? await model.context(null) : undefined;

  // the starting sample: pure noise (scaled to the sampler's space) or a partially noised y
  const startStep = Math.min(steps - 1, Math.round(steps * (1 - strength)));
  let z: Float32Array;
  if (startStep === 0) {
    z = rng.normals(latentCount, scheduler.initNoiseSigma);
  } else {
    z = scheduler.noiseTo(y0, rng.normals(latentCount), startStep);
  }

  let x0Hat: Float32Array | undefined;
  for (let i = startStep; i < steps; i++) {
    if (options.signal?.aborted) throw new CancelledError();
    const t = scheduler.timesteps[i]!;
    // AAR uses the previous step's x0 estimate (the current one needs this step's attention);
    // the first step runs unweighted.
    let weights: Float32Array | undefined;
    if (aar.enabled && x0Hat) {
      const region = dilateGrid(latentMask, facts.latentSize, aarDilationAt(i, steps, aar.dilationRadius));
      weights = aarWeights(y0, x0Hat, region, aar.clamp);
    }
    const input = scheduler.scaleModelInput(z, i);
    const eps = await predict(model, input, t, cond, uncond, guidance, weights, latentPlane);
    x0Hat = scheduler.predictOriginal(i, eps, z);
    const denoised = scheduler.step(i, eps, z, rng).prevSample;
    const background = scheduler.noiseTo(y0, rng.normals(latentCount), i + 1);
    z = blendLatents(denoised, background, latentMask);

    const wantPreview = (options.previewEvery ?? 0) > 0 && (i + 1 - startStep) % options.previewEvery! === 0 && i + 1 < steps;
    const preview = wantPreview ? tensorToImage(await model.decode(blendLatents(x0Hat, y0, latentMask), 1), normal.width, normal.height) : undefined;
    options.onStep?.({ step: i + 1 - startStep, total: steps - startStep, ...(preview ? { preview } : {}) });
  }

  const decoded = tensorToImage(await model.decode(z, 1), normal.width, normal.height);
  const image: RgbImage = { ...decoded, data: pasteBack(normal.data, decoded.data, mask, normal, paste) };
  const exactMask = Uint8Array.from(mask, (v) => (v > 0 ? 255 : 0));
  return {
    image,
    mask: exactMask,
    settings: { seed: request.seed, sampler: request.sampler, strength, guidanceScale: guidance, aar, pasteBack: paste, modelHash: facts.contentHash, startStep },
  };
}

/** One UNet evaluation, with classifier-free guidance batched as [uncond, cond] when used. */
async function predict(
  model: DiffusionModel,
  input: Float32Array,
  t: number,
  cond: { context: Float32Array; anomalyColumns: Float32Array },
  uncond: { context: Float32Array; anomalyColumns: Float32Array } | undefined,
  guidance: number,
  weights: Float32Array | undefined,
  latentPlane: number,
): Promise<Float32Array> {
  if (!uncond) {
    return model.predictNoise({
      latents: input,
      batch: 1,
      timesteps: [t],
      context: cond.context,
      ...(weights ? { attentionWeights: weights, attentionColumns: cond.anomalyColumns } : {}),
    });
  }
  const both = new Float32Array(input.length * 2);
  both.set(input, 0);
  both.set(input, input.length);
  const context = new Float32Array(cond.context.length * 2);
  context.set(uncond.context, 0);
  context.set(cond.context, cond.context.length);
  let attention: { attentionWeights: Float32Array; attentionColumns: Float32Array } | undefined;
  if (weights) {
    const w = new Float32Array(latentPlane * 2).fill(1);
    w.set(weights, latentPlane); // the unconditional half has no anomaly tokens to re-weight
    const cols = new Float32Array(cond.anomalyColumns.length * 2);
    cols.set(cond.anomalyColumns, cond.anomalyColumns.length);
    attention = { attentionWeights: w, attentionColumns: cols };
  }
  const out = await model.predictNoise({ latents: both, batch: 2, timesteps: [t, t], context, ...(attention ?? {}) });
  const n = input.length;
  const guided = new Float32Array(n);
  for (let k = 0; k < n; k++) guided[k] = out[k]! + guidance * (out[n + k]! - out[k]!);
  return guided;
}
