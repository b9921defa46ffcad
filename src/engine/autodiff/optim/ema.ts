// An exponential moving average of the parameters (Polyak averaging) kept beside an optimiser.
// After update n (1-based):
//   d_n = min(decay, (1 + n) / (10 + n)),   a <- d_n a + (1 - d_n) p
// with `a` starting at the parameters as they were before the first update. The warm-up of d_n
// (TensorFlow's ExponentialMovingAverage with num_updates) keeps the average of a short run from
// being dominated by the random initial weights: d_1 = 2/11, so the first average is mostly p_1.
//
// Why: a diffusion model samples from the averaged weights (Ho et al. 2020, decay 0.9999; Song &
// Ermon 2020). The raw weights of the last steps carry the gradient noise of small batches.
// Sampling runs the denoiser dozens of times, so that noise shows in the image.
//
// The average is an extra slot ('ema') of the optimiser's state, so a checkpoint stores it and a
// resumed run continues it bit for bit (float64 arithmetic per element, rounded once when stored).

import type { Optimizer, OptimizerState } from './types';

export const EMA_SLOT = 'ema';

export class WithEma implements Optimizer {
  readonly kind: string;
  private readonly average = new Map<string, Float32Array>();

  constructor(
    private readonly inner: Optimizer,
    readonly decay: number,
  ) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`EMA decay must lie in [0, 1), got ${decay}`);
    this.kind = `${inner.kind}+ema`;
  }

  get stepCount(): number {
    return this.inner.stepCount;
  }

  /** d_n of the file comment for the 1-based update n. */
  decayAt(n: number): number {
    return Math.min(this.decay, (1 + n) / (10 + n));
  }

  step(params: ReadonlyMap<string, Float32Array>, grads: ReadonlyMap<string, Float32Array>): void {
    for (const [name, p] of params) if (!this.average.has(name)) this.average.set(name, p.slice());
    this.inner.step(params, grads);
    const d = this.decayAt(this.inner.stepCount);
    for (const [name, p] of params) {
      const a = this.average.get(name)!;
      for (let i = 0; i < p.length; i++) a[i] = d * a[i]! + (1 - d) * p[i]!;
    }
  }

  /** Copies of the averaged parameters (empty before the first update). */
  averaged(): Map<string, Float32Array> {
    return new Map([...this.average].map(([name, a]) => [name, a.slice()]));
  }

  state(): OptimizerState {
    const s = this.inner.state();
    if (EMA_SLOT in s.slots) throw new Error(`${this.inner.kind} already has a slot named '${EMA_SLOT}'`);
    const ema = Object.fromEntries([...this.average].map(([name, a]) => [name, a.slice()]));
    return { ...s, kind: this.kind, slots: { ...s.slots, [EMA_SLOT]: ema }, hyper: { ...s.hyper, emaDecay: this.decay } };
  }

  load(state: OptimizerState): void {
    if (state.kind !== this.kind) throw new Error(`cannot load a '${state.kind}' optimiser state into ${this.kind}`);
    const { [EMA_SLOT]: ema = {}, ...innerSlots } = state.slots;
    if (state.step > 0 && Object.keys(ema).length === 0) throw new Error(`${this.kind} state at step ${state.step} has no '${EMA_SLOT}' slot`);
    this.inner.load({ ...state, kind: this.inner.kind, slots: innerSlots });
    this.average.clear();
    for (const [name, a] of Object.entries(ema)) this.average.set(name, a.slice());
  }
}

/**
 * The weights a finished run ships: the EMA slot when the optimiser kept one, else the parameters.
 * `state` and `params` are a checkpoint's.
 */
export function shippedWeights(params: Record<string, { data: Float32Array }>, state: OptimizerState): Map<string, Float32Array> {
  const ema = state.slots[EMA_SLOT];
  const weights = new Map<string, Float32Array>();
  for (const [name, p] of Object.entries(params)) {
    const averaged = ema?.[name];
    if (ema && !averaged) throw new Error(`the EMA slot has no average of '${name}'`);
    weights.set(name, averaged ?? p.data);
  }
  return weights;
}
