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
