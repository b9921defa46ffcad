// The parameter average kept beside an optimiser (optim/ema.ts): values worked out by hand,
// resumption through a checkpoint bit for bit, and which weights a finished run ships.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCheckpoint, encodeCheckpoint } from '../../../src/engine/autodiff/checkpoint';
import { Adam, EMA_SLOT, WithEma, shippedWeights, type Optimizer, type OptimizerState } from '../../../src/engine/autodiff/optim';
import { Rng } from '../../../src/shared/random';

/** p <- p - g: trajectories easy to follow by hand. */
class PlainDescent implements Optimizer {
  readonly kind = 'plain';
  stepCount = 0;
  step(params: ReadonlyMap<string, Float32Array>, grads: ReadonlyMap<string, Float32Array>): void {
    this.stepCount++;
    for (const [name, g] of grads) {
      const p = params.get(name)!;
      for (let i = 0; i < p.length; i++) p[i] = p[i]! - g[i]!;
    }
  }
  state(): OptimizerState {
    return { kind: this.kind, step: this.stepCount, slots: {}, hyper: {} };
  }
  load(state: OptimizerState): void {
    this.stepCount = state.step;
  }
}

test('the average follows a <- d_n a + (1 - d_n) p with the warm-up d_n = min(decay, (1 + n) / (10 + n))', () => {
  const ema = new WithEma(new PlainDescent(), 0.5);
  const p = Float32Array.from([1, 4]);
  const params = new Map([['w', p]]);
  const grads = new Map([['w', Float32Array.from([1, 2])]]);
  assert.equal(ema.averaged().size, 0, 'nothing is averaged before the first update');
  // by hand, first entry (p: 1 -> 0 -> -1 -> -2; d_1 = 2/11, d_2 = 3/12, d_3 = 4/13):
  //   a_1 = 2/11 * 1 + 9/11 * 0 = 2/11
  //   a_2 = 1/4 * 2/11 - 3/4 = -31/44
  //   a_3 = 4/13 * (-31/44) + 9/13 * (-2) = -229/143
  // second entry (p: 4 -> 2 -> 0 -> -2): a_1 = 8/11 + 18/11 = 26/11, a_2 = 26/44 + 0 = 13/22,
  //   a_3 = 4/13 * 13/22 + 9/13 * (-2) = 2/11 - 18/13 = -172/143
  const expected = [
    [2 / 11, 26 / 11],
    [-31 / 44, 13 / 22],
    [-229 / 143, -172 / 143],
  ];
  for (const [n, want] of expected.entries()) {
    ema.step(params, grads);
    const got = ema.averaged().get('w')!;
    want.forEach((v, i) => assert.ok(Math.abs(got[i]! - v) < 1e-6, `update ${n + 1} [${i}]: ${got[i]} vs ${v}`));
  }
  assert.deepEqual(Array.from(p), [-2, -2], 'the trained parameters themselves are the inner optimiser\'s');
  assert.equal(ema.decayAt(8), 0.5, 'from update 8 on (9/18) the decay is the configured one');
  assert.ok(ema.decayAt(7) < 0.5);
});

test('a run resumed from a checkpoint of Adam + EMA continues the average bit for bit', () => {
  const rng = new Rng(4);
  const start = rng.normals(12);
  const gradsAt = Array.from({ length: 6 }, () => rng.normals(12));
  const make = (): WithEma => new WithEma(new Adam({ lr: 0.01 }), 0.9);
  const run = (opt: WithEma, p: Float32Array, from: number, to: number): void => {
    for (let s = from; s < to; s++) opt.step(new Map([['w', p]]), new Map([['w', gradsAt[s]!]]));
  };
  const straight = make();
  const p1 = start.slice();
  run(straight, p1, 0, 6);

  const first = make();
  const p2 = start.slice();
  run(first, p2, 0, 3);
  const bytes = encodeCheckpoint({ params: { w: { dims: [12], data: p2 } }, optimizer: first.state(), meta: {} });
  const ckpt = decodeCheckpoint(bytes, 'resume.ckpt');
  assert.equal(ckpt.optimizer.kind, 'adam+ema');
  assert.ok(ckpt.optimizer.slots[EMA_SLOT]?.['w'], 'the checkpoint carries the average');
  const resumed = make();
  resumed.load(ckpt.optimizer);
  const p3 = ckpt.params['w']!.data.slice();
  run(resumed, p3, 3, 6);
  const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
  assert.deepEqual(bits(p3), bits(p1));
  assert.deepEqual(bits(resumed.averaged().get('w')!), bits(straight.averaged().get('w')!));
  assert.notDeepEqual(bits(straight.averaged().get('w')!), bits(p1), 'the average is not the last parameters');
});

test('a state without the average, or of another kind, is refused', () => {
  const adam = new Adam({ lr: 0.1 });
  adam.step(new Map([['w', Float32Array.from([1])]]), new Map([['w', Float32Array.from([1])]]));
  const ema = new WithEma(new Adam({ lr: 0.1 }), 0.99);
  assert.throws(() => ema.load(adam.state()), /cannot load a 'adam' optimiser state into adam\+ema/);
  assert.throws(() => ema.load({ ...adam.state(), kind: 'adam+ema' }), /at step 1 has no 'ema' slot/);
  assert.throws(() => new WithEma(new Adam({ lr: 0.1 }), 1), /EMA decay must lie in \[0, 1\)/);
});

test('a finished run ships the average when it kept one, else its parameters', () => {
  const params = { w: { data: Float32Array.from([1, 2]) }, b: { data: Float32Array.from([3]) } };
  const plain = shippedWeights(params, { kind: 'adam', step: 5, slots: {}, hyper: {} });
  assert.deepEqual(Array.from(plain.get('w')!), [1, 2]);
  const averaged = shippedWeights(params, { kind: 'adam+ema', step: 5, slots: { [EMA_SLOT]: { w: Float32Array.from([0.5, 1.5]), b: Float32Array.from([2.5]) } }, hyper: {} });
  assert.deepEqual(Array.from(averaged.get('w')!), [0.5, 1.5]);
  assert.deepEqual(Array.from(averaged.get('b')!), [2.5]);
  assert.throws(() => shippedWeights(params, { kind: 'adam+ema', step: 5, slots: { [EMA_SLOT]: { w: Float32Array.from([0.5, 1.5]) } }, hyper: {} }), /no average of 'b'/);
});
