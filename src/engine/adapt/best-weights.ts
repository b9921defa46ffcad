// Keep the best, not the last (issue 6): adaptation trains two parts at once, the UNet (eps-MSE)
// and the VAE decoder (L1 reconstruction of the cached z0 latents). Their losses depend on
// disjoint parameters (the decoder never sees the UNet's output), so each part's weights are
// selected on its own held-out loss: a part's trained tensors are copied whenever its held-out loss
// improves, and the package gets the best UNet and the best decoder. Step 0 (the base weights) is
// a candidate, so a part that never improved stays exactly the base's: adaptation can not make a
// part worse on the held-out images than the model it started from.
//
// The copies travel in checkpoints (as extra parameter tensors named `best:<part>:<name>`, next to
// the trained ones; the steps and losses in the header's meta) so a resumed run selects exactly
// what the uninterrupted one would.

import { UserError } from '../../shared/errors';
import type { Checkpoint, ParamTensor } from '../autodiff/checkpoint';

export type AdaptPart = 'unet' | 'decoder';
export const ADAPT_PARTS: readonly AdaptPart[] = ['unet', 'decoder'];

/** The best held-out loss of one part so far and the step it was measured at (0: the base). */
export interface PartBest {
  step: number;
  loss: number;
}

export type BestByPart = Record<AdaptPart, PartBest>;

const SNAPSHOT_PREFIX = 'best:';
const snapshotName = (part: AdaptPart, name: string): string => `${SNAPSHOT_PREFIX}${part}:${name}`;

export class BestWeights {
  private readonly best: BestByPart;
  /** copies of the part's trained tensors at its best step; absent while the best is the base */
  private readonly snapshots = new Map<AdaptPart, Map<string, Float32Array>>();

  /**
   * @param names each part's trained tensors (names in the training graph)
   * @param base the held-out losses of the base weights (step 0)
   */
  constructor(
    private readonly names: Readonly<Record<AdaptPart, readonly string[]>>,
    base: Record<AdaptPart, number>,
  ) {
    this.best = { unet: { step: 0, loss: base.unet }, decoder: { step: 0, loss: base.decoder } };
  }

  /** The best step and loss of each part (copies). */
  get current(): BestByPart {
    return { unet: { ...this.best.unet }, decoder: { ...this.best.decoder } };
  }

  /**
   * Offers the weights as they are at `step`, with their held-out losses: a part whose loss is
   * strictly lower than its best so far is copied. Returns the parts that improved.
   */
  offer(step: number, losses: Record<AdaptPart, number>, params: ReadonlyMap<string, Float32Array>): AdaptPart[] {
    const improved: AdaptPart[] = [];
    for (const part of ADAPT_PARTS) {
      if (!(losses[part] < this.best[part].loss)) continue;
      this.best[part] = { step, loss: losses[part] };
      this.snapshots.set(part, new Map(this.names[part].map((n) => [n, params.get(n)!.slice()])));
      improved.push(part);
    }
    return improved;
  }

  /** The part's best tensors by training-graph name, or null when its best is the base. */
  values(part: AdaptPart): ReadonlyMap<string, Float32Array> | null {
    return this.snapshots.get(part) ?? null;
  }

  /** `ckpt` with the selection added: the copies as tensors, the steps and losses in meta.best. */
  addTo(ckpt: Checkpoint): Checkpoint {
    const params: Record<string, ParamTensor> = { ...ckpt.params };
    for (const [part, values] of this.snapshots) {
      for (const [name, data] of values) {
        const trained = ckpt.params[name];
        if (!trained) throw new Error(`adaptation checkpoint: the selected ${part} tensor '${name}' is not a trained parameter`);
        params[snapshotName(part, name)] = { dims: [...trained.dims], data: data.slice() };
      }
    }
    return { ...ckpt, params, meta: { ...ckpt.meta, best: this.current } };
  }

  /**
   * Splits a checkpoint written by addTo into the trainer's own checkpoint (the selection's tensors
   * removed) and the selection it held; `source` names the checkpoint in errors.
   */
  static takeFrom(ckpt: Checkpoint, names: Readonly<Record<AdaptPart, readonly string[]>>, source: string): { trainer: Checkpoint; best: BestWeights } {
    const meta = ckpt.meta['best'] as Partial<BestByPart> | undefined;
    const bad = (problem: string): UserError => new UserError('CHECKPOINT_MISMATCH', `${source}: ${problem}; start a new adaptation instead`);
    if (!meta || !ADAPT_PARTS.every((p) => Number.isInteger(meta[p]?.step) && typeof meta[p]?.loss === 'number')) {
      throw bad('it holds no selection of the best UNet and decoder weights (written by an older version)');
    }
    const best = new BestWeights(names, { unet: meta.unet!.loss, decoder: meta.decoder!.loss });
    const params: Record<string, ParamTensor> = { ...ckpt.params };
    for (const part of ADAPT_PARTS) {
      best.best[part] = { ...meta[part]! };
      if (meta[part]!.step === 0) continue;
      const values = new Map<string, Float32Array>();
      for (const name of names[part]) {
        const key = snapshotName(part, name);
        const t = params[key];
        if (!t) throw bad(`the best ${part} weights (step ${meta[part]!.step}) lack '${name}'`);
        values.set(name, t.data);
        delete params[key];
      }
      best.snapshots.set(part, values);
    }
    const stray = Object.keys(params).find((n) => ADAPT_PARTS.some((part) => n.startsWith(snapshotName(part, ''))));
    if (stray) throw bad(`it holds a selected tensor '${stray}' this run does not train`);
    return { trainer: { ...ckpt, params }, best };
  }
}
