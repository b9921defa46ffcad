// Learning test (b), a textual-inversion toy: a frozen random network (cross-attention from fixed
// query features to context tokens [e; fixed tokens], then an MLP) produced its targets from a
// hidden embedding e*. Starting from a random e and training only e, the composer must recover e*
// (cosine similarity > 0.95), as DefectForge learns anomaly embeddings against a frozen UNet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeTraining } from '../../../src/engine/autodiff/composer';
import { Adam } from '../../../src/engine/autodiff/optim';
import { Net, attention, linear, silu, type Value } from '../../../src/engine/nn';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession, type HostTensor } from '../../../src/engine/runtime';
import { Rng } from '../../../src/shared/random';

const TOKENS = 2; // learned tokens
const FIXED = 3; // fixed prompt tokens
const WIDTH = 8;
const QUERIES = 16;
const QDIM = 16;

/** The frozen network; `withLoss` appends loss = mean((y - target)^2). */
function network(withLoss: boolean) {
  const b = new GraphBuilder('inversion_toy');
  const net = new Net(b, 77);
  const rng = new Rng(78);
  const e: Value = { name: b.input('e', 'float32', [1, TOKENS, WIDTH]), shape: [1, TOKENS, WIDTH] };
  const queries: Value = { name: b.input('queries', 'float32', [1, QUERIES, QDIM]), shape: [1, QUERIES, QDIM] };
  const fixed = net.constant(rng.normals(FIXED * WIDTH), [1, FIXED, WIDTH], 'prompt_tokens');
  // fixed positional embeddings, as a text encoder adds: without them attention is blind to token
  // order and e* could only be recovered up to a permutation of its tokens
  const positions = net.constant(rng.normals((TOKENS + FIXED) * WIDTH), [1, TOKENS + FIXED, WIDTH], 'positions');
  const tokens = net.op('Concat', [e.name, fixed.name], [1, TOKENS + FIXED, WIDTH], { axis: 1 });
  const context = net.op('Add', [tokens.name, positions.name], tokens.shape);
  const attended = attention(net, 'xattn', queries, context, { heads: 2 });
  const y = linear(net, 'mlp.fc2', silu(net, linear(net, 'mlp.fc1', attended, 32)), QDIM);
  if (withLoss) {
    const target = b.input('target', 'float32', y.shape);
    const diff = b.op('Sub', [y.name, target]);
    b.output(b.op('ReduceMean', [b.op('Mul', [diff, diff])], { keepdims: 0 }), 'loss', { dtype: 'float32', shape: [] });
  } else {
    b.output(y.name, 'y', { dtype: 'float32', shape: y.shape });
  }
  return b.toModel();
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

test('training only the embedding recovers the hidden embedding e* through a frozen network', { timeout: 30_000 }, async () => {
  const started = Date.now();
  const rng = new Rng(5);
  const eStar = rng.normals(TOKENS * WIDTH);
  const eStart = rng.normals(TOKENS * WIDTH);
  const queries: HostTensor = { dtype: 'float32', dims: [1, QUERIES, QDIM], data: rng.normals(QUERIES * QDIM) };

  // the targets: the frozen network's output at e*
  const forward = await createSession(encodeModel(network(false)));
  const target = (await forward.run({ e: { dtype: 'float32', dims: [1, TOKENS, WIDTH], data: eStar }, queries })).y!;
  await forward.release();

  const trainer = await composeTraining(network(true), {
    loss: 'loss',
    train: ['e'],
    initial: { e: eStart },
    frozenInputs: { queries },
    optimizer: new Adam({ lr: 0.05 }),
  });
  assert.deepEqual(trainer.batchInputs, ['target']);
  const initialCos = cosine(eStart, eStar);
  const MAX_STEPS = 1000;
  const initialLoss = (await trainer.gradients({ target })).loss;
  let loss = Infinity;
  let steps = 0;
  // stop once the fit is 10^5 times better than at the start
  for (; steps < MAX_STEPS && loss > initialLoss * 1e-5; steps++) loss = (await trainer.step({ target })).loss;
  const e = trainer.params.get('e')!;
  const cos = cosine(e, eStar);
  console.log(`inversion toy: cosine ${initialCos.toFixed(3)} -> ${cos.toFixed(4)}, loss ${initialLoss.toExponential(2)} -> ${loss.toExponential(2)} after ${steps} steps, ${Date.now() - started} ms`);
  assert.ok(Math.abs(initialCos) < 0.5, 'the start must not already be close');
  assert.ok(cos > 0.95, `cosine similarity ${cos}`);
  await trainer.release();
});
