// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019) over Float32Array parameters,
// following PyTorch's torch.optim.Adam / AdamW (non-fused) update order exactly:
//
//   t += 1
//   Adam with weight_decay:  g <- g + wd * p                 (L2 penalty folded into the gradient)
//   AdamW:                   p <- p * (1 - lr * wd)          (decoupled decay, before the step)
//   m <- b1 m + (1 - b1) g
//   v <- b2 v + (1 - b2) g^2
//   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//
// Arithmetic per element is done in float64 and rounded once when stored, so an update is a
// pure function of (p, m, v, g, t): a resumed run repeats an uninterrupted one bit for bit.
//
// Parameter groups (as PyTorch's param_groups): `groups` gives some parameters their own learning
// rate (or schedule); every other parameter uses `lr`. The step count t, the betas, eps and the
// weight decay are shared, so a group only changes `lr` in the formulas above.

import { learningRateAt, type LearningRate, type Optimizer, type OptimizerState } from './types';

/** Parameters (by name) updated with their own learning rate or schedule. */
export interface ParamGroup {
  names: readonly string[];
  lr: LearningRate;
}

export interface AdamOptions {
  /** the learning rate of every parameter that no group names */
  lr: LearningRate;
  /** groups with their own learning rate; a parameter may be in one group at most */
  groups?: readonly ParamGroup[];
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export class Adam implements Optimizer {
  readonly kind: string;
  private t = 0;
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private readonly lr: LearningRate;
  private readonly groups: readonly ParamGroup[];
  /** parameter name -> index into `groups` */
  private readonly groupOf = new Map<string, number>();
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;

  constructor(
    opts: AdamOptions,
    private readonly decoupled = false,
  ) {
    this.kind = decoupled ? 'adamw' : 'adam';
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? (decoupled ? 0.01 : 0);
    if (!(this.beta1 >= 0 && this.beta1 < 1 && this.beta2 >= 0 && this.beta2 < 1)) {
      throw new Error(`${this.kind}: betas must lie in [0, 1), got ${this.beta1}, ${this.beta2}`);
    }
    this.groups = opts.groups ?? [];
    this.groups.forEach((group, k) => {
      for (const name of group.names) {
        const other = this.groupOf.get(name);
        if (other !== undefined) throw new Error(`${this.kind}: parameter '${name}' is in groups ${other} and ${k}; a parameter may be in one group at most`);
        this.groupOf.set(name, k);
      }
    });
  }

  get stepCount(): number {
    return this.t;
  }

  step(params: ReadonlyMap<string, Float32Array>, grads: ReadonlyMap<string, Float32Array>): void {
    this.checkGroups(params);
    this.t += 1;
    const { beta1, beta2, eps, weightDecay } = this;
    // per learning rate (the default one, then each group's): the bias-corrected step size and the
    // decoupled decay factor, computed once per step
    const rates = [this.lr, ...this.groups.map((g) => g.lr)].map((schedule) => {
      const lr = learningRateAt(schedule, this.t);
      return { stepSize: lr / (1 - beta1 ** this.t), decayFactor: this.decoupled ? 1 - lr * weightDecay : 1 };
    });
    const sqrtBias2 = Math.sqrt(1 - beta2 ** this.t);
    const l2 = this.decoupled ? 0 : weightDecay;
    for (const [name, g] of grads) {
      const p = params.get(name);
      if (!p) throw new Error(`${this.kind}: gradient for unknown parameter '${name}'`);
      if (p.length !== g.length) throw new Error(`${this.kind}: parameter '${name}' has ${p.length} values, its gradient ${g.length}`);
      const group = this.groupOf.get(name);
      const { stepSize, decayFactor } = rates[group === undefined ? 0 : group + 1]!;
      const m = this.buffer(this.m, name, p.length);
      const v = this.buffer(this.v, name, p.length);
      for (let i = 0; i < p.length; i++) {
        const pi = p[i]! * decayFactor;
        const gi = g[i]! + l2 * p[i]!;
        const mi = beta1 * m[i]! + (1 - beta1) * gi;
        const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - (stepSize * mi) / (Math.sqrt(vi) / sqrtBias2 + eps);
      }
    }
  }

  /** A group naming a parameter that is not trained is a mistake in the caller (a misspelt name). */
  private checkGroups(params: ReadonlyMap<string, Float32Array>): void {
    for (const name of this.groupOf.keys()) {
      if (!params.has(name)) throw new Error(`${this.kind}: parameter group names '${name}', which is not a parameter`);
    }
  }

  private buffer(slot: Map<string, Float32Array>, name: string, length: number): Float32Array {
    let buf = slot.get(name);
    if (!buf) slot.set(name, (buf = new Float32Array(length)));
    return buf;
  }

  state(): OptimizerState {
    const copy = (slot: Map<string, Float32Array>): Record<string, Float32Array> => Object.fromEntries([...slot].map(([k, a]) => [k, a.slice()]));
    const hyper: Record<string, number> = { beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay };
    if (typeof this.lr === 'number') hyper.lr = this.lr;
    return { kind: this.kind, step: this.t, slots: { m: copy(this.m), v: copy(this.v) }, hyper };
  }

  load(state: OptimizerState): void {
    if (state.kind !== this.kind) throw new Error(`cannot load a '${state.kind}' optimiser state into ${this.kind}`);
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`${this.kind}: invalid step count ${state.step}`);
    const m = state.slots.m ?? {};
    const v = state.slots.v ?? {};
    this.m.clear();
    this.v.clear();
    for (const [name, buf] of Object.entries(m)) {
      const other = v[name];
      if (!other || other.length !== buf.length) throw new Error(`${this.kind} state: moments of '${name}' are missing or differ in size`);
      this.m.set(name, buf.slice());
      this.v.set(name, other.slice());
    }
    this.t = state.step;
  }
}

/** AdamW: Adam with decoupled weight decay (default 0.01, as PyTorch). */
export class AdamW extends Adam {
  constructor(opts: AdamOptions) {
    super(opts, true);
  }
}
