import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BestWeights } from '../../../src/engine/adapt/best-weights';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../../../src/engine/autodiff/checkpoint';
import { isUserError } from '../../../src/shared/errors';

const NAMES = { unet: ['u/a', 'u/b'], decoder: ['d/w'] };

function params(u: number, d: number): Map<string, Float32Array> {
  return new Map([
    ['u/a', Float32Array.from([u, u + 1])],
    ['u/b', Float32Array.from([u * 2])],
    ['d/w', Float32Array.from([d, -d, d])],
  ]);
}

function trainerCheckpoint(p: Map<string, Float32Array>): Checkpoint {
  return {
    params: Object.fromEntries([...p].map(([n, data]) => [n, { dims: [data.length], data: data.slice() }])),
    optimizer: { kind: 'adam', step: 3, slots: {}, hyper: {} },
    meta: { step: 3 },
  };
}

test('each part is copied only when its own held-out loss goes below its best; the base is the first candidate', () => {
  const best = new BestWeights(NAMES, { unet: 1, decoder: 0.5 });
  const p = params(1, 1);
  assert.deepEqual(best.offer(2, { unet: 0.9, decoder: 0.6 }, p), ['unet']);
  p.get('u/a')!.fill(7); // later training must not change the copy
  assert.deepEqual(best.offer(4, { unet: 0.9, decoder: 0.5 }, p), [], 'equal is not better');
  assert.deepEqual([...best.values('unet')!.get('u/a')!], [1, 2]);
  assert.equal(best.values('decoder'), null, 'the decoder is still the base\'s');
  assert.deepEqual(best.current, { unet: { step: 2, loss: 0.9 }, decoder: { step: 0, loss: 0.5 } });
});

test('the selection goes through an encoded checkpoint and comes back exactly; the trainer gets its own tensors only', () => {
  const best = new BestWeights(NAMES, { unet: 1, decoder: 0.5 });
  best.offer(2, { unet: 0.8, decoder: 0.7 }, params(3, 9));
  const now = params(5, 6);
  const bytes = encodeCheckpoint(best.addTo(trainerCheckpoint(now)));
  const { trainer, best: back } = BestWeights.takeFrom(decodeCheckpoint(bytes, 'ckpt'), NAMES, 'ckpt');
  assert.deepEqual(Object.keys(trainer.params).sort(), ['d/w', 'u/a', 'u/b']);
  assert.deepEqual([...trainer.params['u/a']!.data], [5, 6]);
  assert.deepEqual(back.current, best.current);
  assert.deepEqual([...back.values('unet')!.get('u/a')!], [3, 4]);
  assert.deepEqual([...back.values('unet')!.get('u/b')!], [6]);
  assert.equal(back.values('decoder'), null);
});

test('a checkpoint without the selection, or with a selected tensor missing, is a CHECKPOINT_MISMATCH naming it', () => {
  const plain = trainerCheckpoint(params(1, 1));
  assert.throws(() => BestWeights.takeFrom(plain, NAMES, 'checkpoint blob abc'), (e: unknown) => isUserError(e) && e.code === 'CHECKPOINT_MISMATCH' && /checkpoint blob abc: it holds no selection/.test(e.message));
  const best = new BestWeights(NAMES, { unet: 1, decoder: 0.5 });
  best.offer(2, { unet: 0.8, decoder: 0.4 }, params(3, 9));
  const withBest = best.addTo(plain);
  delete withBest.params['best:decoder:d/w'];
  assert.throws(() => BestWeights.takeFrom(withBest, NAMES, 'checkpoint blob abc'), /the best decoder weights \(step 2\) lack 'd\/w'/);
});
