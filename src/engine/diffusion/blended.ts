// Blended, mask-exact generation (METHOD.md, Generation):
//   z_{i+1} = step(z_i, eps_theta(z_i, t_i, e)) * m + q(y at level i+1, fresh noise) * (1 - m)
// inside the mask the model denoises; outside it the normal image's latent, noised to the same
// level, replaces the latent. After decoding, the original pixels are pasted back outside a
// dilated, feathered mask, so the background is bit-exact; with PasteBackSettings.restoreDetail
// (generation's default) the original's detail layer is added to the decoded image first. The
// same inputs and seed on the same execution provider give bit-identical output (all randomness
// comes from one seeded Rng, drawn in a fixed order).

import { Rng } from '../../shared/random';
import type { Conditioning, DiffusionModel } from '../models/types';
import { aarDilationAt, aarWeights, DEFAULT_AAR, type AarSettings } from './aar';
import { guide } from './guidance';
import { imageToTensor, tensorToImage, type RgbImage } from './image-tensor';
import { blendLatents, dilateGrid, maskToLatent } from './latent-mask';
import { DEFAULT_PASTE_BACK, pasteBack, restoreDetail, type PasteBackSettings } from './paste-back';
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
  /** phi of guidance rescaling (guidance.ts; 0 = plain CFG); absent: the model's (facts.guidanceRescale), else 0 */
  guidanceRescale?: number;
  aar?: AarSettings;
  pasteBack?: PasteBackSettings;
  /**
   * the decoder's reconstruction of `normal`, decode(encode(normal)), when the caller has it
   * (restoring the detail needs it; a cache saves one decode per pair on a normal image seen before)
   */
  reconstruction?: RgbImage;
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
  /** also return the decoded images before paste-back (quality measurements need the model's own
   *  output outside the mask, which paste-back replaces by the original bytes) */
  keepDecoded?: boolean;
}

export interface BlendedResult {
  image: RgbImage;
  /** the VAE decoder's output; only when options.keepDecoded */
  decoded?: RgbImage;
  /** the decoder's reconstruction of the normal image, whenever paste-back restores the detail (to cache for the next pair on it) */
  decodedNormal?: RgbImage;
  /** what paste-back composited over the original: `decoded`, with the original's detail when restored; only when options.keepDecoded */
  unpasted?: RgbImage;
  /** the exact mask used (0/255) */
  mask: Uint8Array;
  settings: {
    seed: number;
    sampler: SamplerSettings;
    strength: number;
    guidanceScale: number;
    guidanceRescale: number;
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
  const [result] = await generateBlendedBatch(model, [request], options);
  return result!;
}

/** Per-item state of a batch run: each item keeps its own seed stream, latents and masks. */
interface ItemState {
  request: BlendedRequest;
  rng: Rng;
  aar: AarSettings;
  paste: PasteBackSettings;
  y0: Float32Array;
  latentMask: Float32Array;
  /** the pixel mask in {0, 1}, for models whose UNet reads it (facts.unetMask) */
  unetMask: Float32Array | undefined;
  cond: ContextPair;
  uncond: ContextPair | undefined;
  z: Float32Array;
  x0Hat: Float32Array | undefined;
}

type ContextPair = { context: Float32Array; anomalyColumns: Float32Array };

/**
 * Several images in one UNet run per step. The items must share the sampler settings, strength,
 * guidance scale and rescale (they step in lockstep); conditioning, masks, seeds and AAR differ per item.
 * Each item draws from its own seeded Rng in the same order as a single run, so an item's result
 * equals generating it alone wherever the model is batch-invariant (a test checks it on ORT CPU).
 */
export async function generateBlendedBatch(model: DiffusionModel, requests: BlendedRequest[], options: BlendedOptions = {}): Promise<BlendedResult[]> {
  if (requests.length === 0) return [];
  const facts = model.facts;
  const first = requests[0]!;
  const strength = first.strength ?? 1;
  const guidance = first.guidanceScale ?? 1;
  // a request's own guidance rescale, else the model's default, else none
  const rescaleOf = (r: BlendedRequest): number => r.guidanceRescale ?? facts.guidanceRescale ?? 0;
  const rescale = rescaleOf(first);
  for (const [k, r] of requests.entries()) {
    const { normal, mask } = r;
    if (normal.width !== facts.imageSize.width || normal.height !== facts.imageSize.height) {
      throw new RangeError(`item ${k}: normal image is ${normal.width}x${normal.height}; model '${facts.name}' works at ${facts.imageSize.width}x${facts.imageSize.height}`);
    }
    if (mask.length !== normal.width * normal.height) throw new RangeError(`item ${k}: mask has ${mask.length} pixels, image ${normal.width * normal.height}`);
    if (JSON.stringify(r.sampler) !== JSON.stringify(first.sampler) || (r.strength ?? 1) !== strength || (r.guidanceScale ?? 1) !== guidance || rescaleOf(r) !== rescale) {
      throw new RangeError(`item ${k}: a batch must share sampler settings, strength, guidance scale and rescale`);
    }
  }
  if (!(strength > 0 && strength <= 1)) throw new RangeError(`strength must be in (0, 1], got ${strength}`);
  if (!(rescale >= 0 && rescale <= 1)) throw new RangeError(`guidance rescale must be in [0, 1], got ${rescale}`);
  const useCfg = facts.hasUnconditional && guidance !== 1;
  const n = requests.length;

  const scheduler = createScheduler(facts.schedule, first.sampler);
  const steps = scheduler.timesteps.length;
  const latentPlane = facts.latentSize.width * facts.latentSize.height;
  const latentCount = facts.latentChannels * latentPlane;
  const imageCount = 3 * facts.imageSize.width * facts.imageSize.height;

  const images = new Float32Array(n * imageCount);
  requests.forEach((r, k) => images.set(imageToTensor(r.normal), k * imageCount));
  const y0All = await model.encode(images, n);
  // the all-'<null>' unconditional, shared by the batch; a mask-reading UNet's is per item (see predict)
  const sharedUncond = useCfg && !facts.unetMask ? await model.context(null) : undefined;
  // the starting sample: pure noise (scaled to the sampler's space) or a partially noised y
  const startStep = Math.min(steps - 1, Math.round(steps * (1 - strength)));
  const items: ItemState[] = [];
  for (const [k, r] of requests.entries()) {
    const rng = new Rng(r.seed);
    const y0 = y0All.slice(k * latentCount, (k + 1) * latentCount);
    const z = startStep === 0 ? rng.normals(latentCount, scheduler.initNoiseSigma) : scheduler.noiseTo(y0, rng.normals(latentCount), startStep);
    items.push({
      request: r,
      rng,
      aar: r.aar ?? DEFAULT_AAR,
      paste: r.pasteBack ?? DEFAULT_PASTE_BACK,
      y0,
      latentMask: maskToLatent(r.mask, r.normal, facts.latentSize, 'any'),
      unetMask: facts.unetMask ? Float32Array.from(r.mask, (v) => (v > 0 ? 1 : 0)) : undefined,
      cond: await model.context(r.conditioning),
      uncond: useCfg && facts.unetMask ? await model.context({ mask: { width: r.normal.width, height: r.normal.height, data: r.mask } }) : sharedUncond,
      z,
      x0Hat: undefined,
    });
  }

  for (let i = startStep; i < steps; i++) {
    if (options.signal?.aborted) throw new CancelledError();
    const t = scheduler.timesteps[i]!;
    // AAR uses the previous step's x0 estimate (the current one needs this step's attention);
    // the first step runs unweighted.
    const weights = items.map((it) => {
      if (!it.aar.enabled || !it.x0Hat) return undefined;
      const region = dilateGrid(it.latentMask, facts.latentSize, aarDilationAt(i, steps, it.aar.dilationRadius));
      return aarWeights(it.y0, it.x0Hat, region, it.aar.clamp);
    });
    const eps = await predict(
      model,
      items.map((it) => scheduler.scaleModelInput(it.z, i)),
      t,
      items,
      { scale: guidance, rescale },
      weights,
      latentPlane,
    );
    for (const [k, it] of items.entries()) {
      it.x0Hat = scheduler.predictOriginal(i, eps[k]!, it.z);
      const denoised = scheduler.step(i, eps[k]!, it.z, it.rng).prevSample;
      const background = scheduler.noiseTo(it.y0, it.rng.normals(latentCount), i + 1);
      it.z = blendLatents(denoised, background, it.latentMask);
    }

    const wantPreview = (options.previewEvery ?? 0) > 0 && (i + 1 - startStep) % options.previewEvery! === 0 && i + 1 < steps;
    // previews show the first item (the one a single-image caller asked for)
    const preview = wantPreview
      ? tensorToImage(await model.decode(blendLatents(items[0]!.x0Hat!, items[0]!.y0, items[0]!.latentMask), 1), first.normal.width, first.normal.height)
      : undefined;
    options.onStep?.({ step: i + 1 - startStep, total: steps - startStep, ...(preview ? { preview } : {}) });
  }

  const latents = new Float32Array(n * latentCount);
  items.forEach((it, k) => latents.set(it.z, k * latentCount));
  const decodedAll = await model.decode(latents, n);
  const results: BlendedResult[] = [];
  for (const [k, it] of items.entries()) {
    const r = it.request;
    const decoded = tensorToImage(decodedAll.slice(k * imageCount, (k + 1) * imageCount), r.normal.width, r.normal.height);
    // restoring the detail needs the decoder's reconstruction of the normal image: the caller's
    // (a cache of an earlier pair on the same image), else decoded here, alone, so that both are
    // the same computation whatever else is in the batch
    const decodedNormal = it.paste.restoreDetail === true ? (r.reconstruction ?? tensorToImage(await model.decode(it.y0, 1), r.normal.width, r.normal.height)) : undefined;
    const unpasted: RgbImage = decodedNormal ? { ...decoded, data: restoreDetail(decoded.data, decodedNormal.data, r.normal.data) } : decoded;
    const image: RgbImage = { ...decoded, data: pasteBack(r.normal.data, unpasted.data, r.mask, r.normal, it.paste) };
    results.push({
      image,
      ...(options.keepDecoded ? { decoded, unpasted } : {}),
      ...(decodedNormal ? { decodedNormal } : {}),
      mask: Uint8Array.from(r.mask, (v) => (v > 0 ? 255 : 0)),
      settings: { seed: r.seed, sampler: r.sampler, strength, guidanceScale: guidance, guidanceRescale: rescale, aar: it.aar, pasteBack: it.paste, modelHash: facts.contentHash, startStep },
    });
  }
  return results;
}

/**
 * One UNet evaluation for the whole batch, with classifier-free guidance batched as
 * [uncond x n, cond x n] when used. Items without AAR weights get weights of exactly 1, which
 * leaves their attention bit-identical to an unweighted run.
 *
 * A UNet that reads the defect mask (facts.unetMask) gets it in both halves, and its
 * unconditional context keeps the spatial tokens (labels '<null>'): pretraining's dropLabels
 * samples. Against a mask-free unconditional, CFG also scaled "a defect is here" by the guidance
 * and painted saturated colour into large masks (v3 at CFG 3, session 5: distance to the real
 * defect 51.0; with this unconditional 47.5 on the eight token families, v2 49.9).
 */
async function predict(
  model: DiffusionModel,
  inputs: Float32Array[],
  t: number,
  items: ItemState[],
  guidance: { scale: number; rescale: number },
  weights: (Float32Array | undefined)[],
  latentPlane: number,
): Promise<Float32Array[]> {
  const n = inputs.length;
  const size = inputs[0]!.length;
  const contextSize = items[0]!.cond.context.length;
  const columnsSize = items[0]!.cond.anomalyColumns.length;
  const halves = items[0]!.uncond ? 2 : 1;
  const batch = n * halves;
  const latents = new Float32Array(batch * size);
  const context = new Float32Array(batch * contextSize);
  const anyWeights = weights.some((w) => w !== undefined);
  const w = anyWeights ? new Float32Array(batch * latentPlane).fill(1) : undefined;
  const cols = anyWeights ? new Float32Array(batch * columnsSize) : undefined;
  const maskPlane = items[0]!.unetMask?.length ?? 0;
  const masks = maskPlane > 0 ? new Float32Array(batch * maskPlane) : undefined;
  for (let h = 0; h < halves; h++) {
    const conditional = h === halves - 1;
    for (let k = 0; k < n; k++) {
      const slot = h * n + k;
      latents.set(inputs[k]!, slot * size);
      const ctx = conditional ? items[k]!.cond : items[k]!.uncond!;
      context.set(ctx.context, slot * contextSize);
      if (masks) masks.set(items[k]!.unetMask!, slot * maskPlane);
      // only the conditional half has anomaly tokens to re-weight
      if (conditional && weights[k]) {
        w!.set(weights[k]!, slot * latentPlane);
        cols!.set(items[k]!.cond.anomalyColumns, slot * columnsSize);
      }
    }
  }
  const out = await model.predictNoise({
    latents,
    batch,
    timesteps: new Array<number>(batch).fill(t),
    context,
    ...(w && cols ? { attentionWeights: w, attentionColumns: cols } : {}),
    ...(masks ? { masks } : {}),
  });
  return inputs.map((_, k) => {
    if (halves === 1) return out.slice(k * size, (k + 1) * size);
    return guide(out.subarray(k * size, (k + 1) * size), out.subarray((n + k) * size, (n + k + 1) * size), guidance.scale, guidance.rescale);
  });
}
