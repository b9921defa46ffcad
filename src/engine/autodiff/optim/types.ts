// The optimiser contract: parameters and gradients are Float32Arrays keyed by parameter name;
// an optimiser updates the parameters in place and can export / import its whole state (moments,
// step count) so a checkpoint can resume a run bit-exactly.

export interface OptimizerState {
  /** 'adam' | 'adamw' | ... : a state is only loaded into an optimiser of the same kind */
  kind: string;
  /** number of updates applied so far */
  step: number;
  /** per-parameter buffers by slot name, e.g. { m: { w: Float32Array }, v: { w: Float32Array } } */
  slots: Record<string, Record<string, Float32Array>>;
  /** numeric hyper-parameters, recorded for reference (a learning-rate schedule is code, not state) */
  hyper: Record<string, number>;
}

export interface Optimizer {
  readonly kind: string;
  /** number of updates applied so far */
  readonly stepCount: number;
  /** Applies one update to every parameter that has a gradient, in place. */
  step(params: ReadonlyMap<string, Float32Array>, grads: ReadonlyMap<string, Float32Array>): void;
  /** A deep copy of the state. */
  state(): OptimizerState;
  /** Replaces the state with a copy of `state` (same kind; buffers must match the parameters). */
  load(state: OptimizerState): void;
}

/** A constant learning rate, or one computed from the 1-based number of the update being made. */
export type LearningRate = number | ((step: number) => number);

export function learningRateAt(lr: LearningRate, step: number): number {
  return typeof lr === 'number' ? lr : lr(step);
}

/**
 * Linear warm-up to a constant rate: lr * min(1, step / steps) for the 1-based update number, so
 * the first update uses lr / steps and update `steps` onwards the full lr. Adam's first updates
 * move every weight by about lr whatever the gradient's size (m_hat / sqrt(v_hat) is about +-1 at
 * t = 1), which a warm-up tempers while the moment estimates are still made of few gradients.
 */
export function linearWarmup(lr: number, steps: number): LearningRate {
  if (!(lr > 0 && Number.isFinite(lr))) throw new RangeError(`warm-up: the learning rate must be a positive number, got ${lr}`);
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`warm-up: steps must be a whole number >= 0, got ${steps}`);
  return steps === 0 ? lr : (step) => lr * Math.min(1, step / steps);
}
