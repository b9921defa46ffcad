// The training loop shared by defect learning (masked, with the spatial encoder) and mask
// learning (plain textual inversion): batches drawn from a cache of encoded examples, t ~
// U{0..T-1}, eps ~ N(0, I), one Adam step per batch, checkpoints every N steps and on cancel.
//
// Reproducibility: every random draw of step s comes from its own Rng seeded by (seed, s), and
// the example cache is a pure function of the seed, so a run stopped after step s and resumed
// from its checkpoint (parameters + Adam moments + step) repeats the uninterrupted run's later
// steps exactly: the same batches, the same updates, bit for bit.

import { Rng } from '../../shared/random';
import type { Checkpoint } from '../autodiff/checkpoint';
import type { Trainer } from '../autodiff/composer';
import { CancelledError } from '../diffusion/blended';
import { alphasCumprod, type ScheduleConfig } from '../diffusion/schedule';
import type { HostTensor } from '../runtime';

/** One encoded training example. */
export interface CachedExample {
  /** scaled latent [C, h, w] */
  z0: Float32Array;
  /** [H*W] in [-1, 1]: what the spatial encoder reads (defect learning) */
  encoderMask?: Float32Array;
  /** [h*w] 0/1: m' of the masked loss (defect learning) */
  lossMask?: Float32Array;
}

export interface LoopSettings {
  steps: number;
  batch: number;
  seed: number;
  checkpointEvery: number;
  /** every item of a batch shares one timestep (models whose UNet takes a scalar timestep) */
  sharedTimestep?: boolean;
}

export interface LoopShapes {
  latent: { channels: number; width: number; height: number };
  image: { width: number; height: number };
}

export interface LoopHooks {
  signal?: AbortSignal;
  /** after every step; `seconds` = time of this session's steps so far */
  onStep?: (step: number, loss: number, seconds: number) => Promise<void> | void;
  /** a checkpoint to store (every checkpointEvery steps, and when cancelled) */
  onCheckpoint?: (ckpt: Checkpoint) => Promise<void> | void;
}

export interface LoopState {
  /** steps already done (0, or the resumed checkpoint's) */
  step: number;
  /** the loss of every step done so far */
  lossCurve: number[];
  /** the probe loss (probeLoss) of the starting parameters, when a resumed checkpoint recorded it */
  probeStart?: number;
}

/** The Rng of step s: seeds differ for every (seed, step) pair. */
export function stepRng(seed: number, step: number): Rng {
  return new Rng((Math.imul(step, 0x9e3779b1) ^ Math.imul(seed >>> 0, 0x85ebca6b) ^ 0x5bd1e995) >>> 0);
}

/**
 * Batches of the probe loss. Per-step losses swing with the drawn timestep far more than with
 * learning, so a rise over training is invisible in the loss curve; the probe evaluates the same
 * fixed draws (examples, t, eps) before and after training, so the comparison is paired and the
 * timestep noise cancels. 4 batches cost 8 extra forward + backward passes per run.
 */
export const PROBE_BATCHES = 4;

/** The Rng of probe batch i: negative step numbers, which no training step uses. */
function probeRng(seed: number, i: number): Rng {
  return stepRng(seed, -1 - i);
}

/** Mean loss over the fixed probe batches at the trainer's current parameters (no update). */
export async function probeLoss(trainer: Trainer, examples: readonly CachedExample[], schedule: ScheduleConfig, shapes: LoopShapes, settings: LoopSettings): Promise<number> {
  if (examples.length === 0) throw new Error('no training examples');
  const abar = alphasCumprod(schedule);
  let sum = 0;
  for (let i = 0; i < PROBE_BATCHES; i++) {
    const feeds = drawBatch(examples, schedule, abar, shapes, settings.batch, probeRng(settings.seed, i), settings.sharedTimestep ?? false);
    sum += (await trainer.gradients(feeds)).loss;
  }
  return sum / PROBE_BATCHES;
}

const f32 = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

/** The feeds of one step: examples, timesteps and noise drawn from the step's Rng. */
export function drawBatch(examples: readonly CachedExample[], schedule: ScheduleConfig, abar: Float64Array, shapes: LoopShapes, batch: number, rng: Rng, sharedTimestep = false): Record<string, HostTensor> {
  const { channels: C, width: w, height: h } = shapes.latent;
  const per = C * w * h;
  const z0 = new Float32Array(batch * per);
  const noise = new Float32Array(batch * per);
  const sa = new Float32Array(batch);
  const sb = new Float32Array(batch);
  const timestep = new Float32Array(batch);
  const masked = examples[0]!.lossMask !== undefined;
  const hasEncoder = examples[0]!.encoderMask !== undefined;
  const plane = shapes.image.width * shapes.image.height;
  const lossMask = masked ? new Float32Array(batch * w * h) : undefined;
  const encoderMask = hasEncoder ? new Float32Array(batch * plane) : undefined;
  let firstT = 0;
  for (let k = 0; k < batch; k++) {
    const ex = examples[rng.int(examples.length)]!;
    const t = sharedTimestep && k > 0 ? firstT : rng.int(schedule.numTrainTimesteps);
    if (k === 0) firstT = t;
    z0.set(ex.z0, k * per);
    noise.set(rng.normals(per), k * per);
    sa[k] = Math.sqrt(abar[t]!);
    sb[k] = Math.sqrt(1 - abar[t]!);
    timestep[k] = t;
    if (lossMask) lossMask.set(ex.lossMask!, k * w * h);
    if (encoderMask) encoderMask.set(ex.encoderMask!, k * plane);
  }
  const feeds: Record<string, HostTensor> = {
    z0: f32([batch, C, h, w], z0),
    noise: f32([batch, C, h, w], noise),
    sqrt_abar: f32([batch, 1, 1, 1], sa),
    sqrt_one_minus_abar: f32([batch, 1, 1, 1], sb),
    timestep: f32([batch], timestep),
  };
  if (lossMask) feeds['loss_mask'] = f32([batch, 1, h, w], lossMask);
  if (encoderMask) feeds['mask'] = f32([batch, 1, shapes.image.height, shapes.image.width], encoderMask);
  return feeds;
}

/**
 * Runs steps state.step+1 .. settings.steps. Throws CancelledError (after storing a checkpoint)
 * when the signal fires between steps. `meta` is written into every checkpoint besides the step
 * and the loss curve (the run's configuration, to check a resume against).
 */
export async function runInversionLoop(
  trainer: Trainer,
  examples: readonly CachedExample[],
  schedule: ScheduleConfig,
  shapes: LoopShapes,
  settings: LoopSettings,
  state: LoopState,
  meta: Record<string, unknown>,
  hooks: LoopHooks = {},
): Promise<LoopState> {
  if (examples.length === 0) throw new Error('no training examples');
  const abar = alphasCumprod(schedule);
  const lossCurve = [...state.lossCurve];
  let step = state.step;
  const checkpoint = (): Checkpoint => trainer.checkpoint({ ...meta, step, lossCurve });
  const started = performance.now();
  while (step < settings.steps) {
    if (hooks.signal?.aborted) {
      await hooks.onCheckpoint?.(checkpoint());
      throw new CancelledError();
    }
    const feeds = drawBatch(examples, schedule, abar, shapes, settings.batch, stepRng(settings.seed, step + 1), settings.sharedTimestep ?? false);
    const result = await trainer.step(feeds);
    if (!Number.isFinite(result.loss)) throw new Error(`training diverged at step ${step + 1}: the loss is ${result.loss}`);
    step += 1;
    lossCurve.push(result.loss);
    try {
      await hooks.onStep?.(step, result.loss, (performance.now() - started) / 1000);
    } catch (e) {
      // a cancel that lands inside the step's extra work (a preview) still keeps the step
      if (!hooks.signal?.aborted) throw e;
      await hooks.onCheckpoint?.(checkpoint());
      throw new CancelledError();
    }
    if (settings.checkpointEvery > 0 && step % settings.checkpointEvery === 0 && step < settings.steps) await hooks.onCheckpoint?.(checkpoint());
  }
  return { step, lossCurve };
}
