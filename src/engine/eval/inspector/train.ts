// Training and running the inspector. Every batch is half normal images with empty masks and half
// defect pairs (the generator's pool, or the real training defects for 'none'), each randomly
// mirrored; Adam on the focal loss. The test epoch is the last one (no model selection, so the
// test set is never looked at during training).
import { composeTraining } from '../../autodiff/composer';
import { Adam } from '../../autodiff/optim';
import { encodeModel } from '../../onnx/serialize';
import { createSession, type HostTensor } from '../../runtime';
import { Rng } from '../../../shared/random';
import { UserError } from '../../../shared/errors';
import { flipPair, type Mask, type Picture } from '../picture';
import { INSPECTOR_INPUT, INSPECTOR_MASK, buildInspectorInference, buildInspectorTraining, type InspectorConfig } from './model';

export interface TrainingPair {
  picture: Picture;
  mask: Mask;
}

export interface InspectorTrainingOptions {
  config: InspectorConfig;
  /** even: half normals, half defect pairs */
  batch: number;
  /** learning rate of Adam */
  lr: number;
  /** the step count; `stepsFromBudget` may set it after the first timed steps */
  steps: number;
  /**
   * Called once after `calibrationSteps` steps with the mean seconds per step; returns the total
   * step count (>= the steps done). Lets a time budget choose the count without changing which
   * batches are drawn.
   */
  stepsFromBudget?: (secondsPerStep: number) => number;
  calibrationSteps?: number;
  seed: number;
  signal?: AbortSignal;
  onStep?: (step: number, total: number, loss: number) => void;
}

export interface TrainedInspector {
  config: InspectorConfig;
  params: Map<string, Float32Array>;
  losses: number[];
  steps: number;
  seconds: number;
}

/** NCHW float tensors of a batch of pictures (and masks). */
function toTensors(items: TrainingPair[], c: InspectorConfig): Record<string, HostTensor> {
  const plane = c.width * c.height;
  const images = new Float32Array(items.length * 3 * plane);
  const masks = new Float32Array(items.length * plane);
  items.forEach((item, b) => {
    for (let i = 0; i < plane; i++) {
      for (let ch = 0; ch < 3; ch++) images[(b * 3 + ch) * plane + i] = item.picture.data[i * 3 + ch]!;
      masks[b * plane + i] = item.mask.data[i]!;
    }
  });
  return {
    [INSPECTOR_INPUT]: { dtype: 'float32', dims: [items.length, 3, c.height, c.width], data: images },
    [INSPECTOR_MASK]: { dtype: 'float32', dims: [items.length, 1, c.height, c.width], data: masks },
  };
}

export async function trainInspector(normals: readonly Picture[], defects: readonly TrainingPair[], o: InspectorTrainingOptions): Promise<TrainedInspector> {
  if (o.batch < 2 || o.batch % 2 !== 0) throw new UserError('BAD_ARGS', `inspector batch must be an even number >= 2, got ${o.batch}`);
  if (normals.length === 0) throw new UserError('EVAL_NO_NORMALS', 'the inspector needs at least one normal training image');
  if (defects.length === 0) throw new UserError('EVAL_NO_PAIRS', 'the inspector needs at least one defect training pair');
  const c = o.config;
  const graph = buildInspectorTraining(c, o.batch);
  const trainer = await composeTraining(graph.model, { loss: graph.output, train: graph.params, optimizer: new Adam({ lr: o.lr }) });
  const rng = new Rng(o.seed);
  const empty: Mask = { width: c.width, height: c.height, data: new Uint8Array(c.width * c.height) };
  const half = o.batch / 2;
  const losses: number[] = [];
  const started = performance.now();
  let total = o.steps;
  const calibration = o.calibrationSteps ?? 10;
  let calibrationStart = 0;
  try {
    for (let step = 0; step < total; step++) {
      if (o.signal?.aborted) throw new UserError('CANCELLED', 'evaluation cancelled');
      const items: TrainingPair[] = [];
      for (let k = 0; k < half; k++) {
        const n = flipPair(normals[rng.int(normals.length)]!, empty, rng.uniform() < 0.5, rng.uniform() < 0.5);
        items.push({ picture: n.picture, mask: n.mask });
      }
      for (let k = 0; k < half; k++) {
        const d = defects[rng.int(defects.length)]!;
        items.push(flipPair(d.picture, d.mask, rng.uniform() < 0.5, rng.uniform() < 0.5));
      }
      // step 0 includes session warm-up; time the next `calibration` steps
      if (step === 1) calibrationStart = performance.now();
      const { loss } = await trainer.step(toTensors(items, c));
      if (!Number.isFinite(loss)) throw new Error(`inspector training diverged: loss ${loss} at step ${step + 1}`);
      losses.push(loss);
      if (o.stepsFromBudget && step === calibration) {
        total = Math.max(step + 1, o.stepsFromBudget((performance.now() - calibrationStart) / 1000 / calibration));
      }
      o.onStep?.(step + 1, total, loss);
    }
    return { config: c, params: new Map([...trainer.params].map(([k, v]) => [k, v.slice()])), losses, steps: total, seconds: (performance.now() - started) / 1000 };
  } finally {
    await trainer.release();
  }
}

/** Anomaly maps (probability of 'defect' per pixel, row-major) of pictures, one run each. */
export async function inspectPictures(inspector: TrainedInspector, pictures: readonly Picture[]): Promise<Float32Array[]> {
  const c = inspector.config;
  const graph = buildInspectorInference(c, 1);
  for (const name of graph.params) {
    const values = inspector.params.get(name);
    const init = graph.model.graph.initializers.get(name);
    if (!values || !init) throw new Error(`inspector: trained parameter '${name}' is missing from the inference graph or the training result`);
    graph.model.graph.initializers.set(name, { ...init, data: values });
  }
  const session = await createSession(encodeModel(graph.model));
  try {
    const maps: Float32Array[] = [];
    for (const p of pictures) {
      const input = toTensors([{ picture: p, mask: { width: c.width, height: c.height, data: new Uint8Array(c.width * c.height) } }], c)[INSPECTOR_INPUT]!;
      const out = await session.run({ [INSPECTOR_INPUT]: input });
      maps.push((out[graph.output]!.data as Float32Array).slice());
    }
    return maps;
  } finally {
    await session.release();
  }
}

/**
 * The paper's image score: the maximum of the anomaly map average-pooled with a k x k window
 * (stride 1, zero padding k/2 counted in the mean, as PyTorch's avg_pool2d default that DRAEM
 * uses). Box sums come from a summed-area table.
 */
export function imageScore(map: Float32Array, width: number, height: number, kernel: number): number {
  if (kernel % 2 !== 1) throw new Error(`image score: the pooling window must be odd, got ${kernel}`);
  const r = (kernel - 1) / 2;
  const sat = new Float64Array((width + 1) * (height + 1));
  for (let y = 0; y < height; y++) {
    let row = 0;
    for (let x = 0; x < width; x++) {
      row += map[y * width + x]!;
      sat[(y + 1) * (width + 1) + x + 1] = sat[y * (width + 1) + x + 1]! + row;
    }
  }
  let best = Number.NEGATIVE_INFINITY;
  for (let y = 0; y < height; y++) {
    const y0 = Math.max(0, y - r), y1 = Math.min(height, y + r + 1);
    for (let x = 0; x < width; x++) {
      const x0 = Math.max(0, x - r), x1 = Math.min(width, x + r + 1);
      const sum = sat[y1 * (width + 1) + x1]! - sat[y0 * (width + 1) + x1]! - sat[y1 * (width + 1) + x0]! + sat[y0 * (width + 1) + x0]!;
      best = Math.max(best, sum / (kernel * kernel));
    }
  }
  return best;
}

/** The paper's 21 x 21 window at 256 x 256, scaled to the working resolution (nearest odd size). */
export function poolingWindow(width: number, height: number): number {
  const scaled = (21 * Math.sqrt(width * height)) / 256;
  return Math.max(1, 2 * Math.round((scaled - 1) / 2) + 1);
}
