// Learning test (a): a 2-layer MLP trained from scratch by the composer tells horizontal from
// vertical bars in noisy 8x8 images. The loss must fall below a fixed threshold within a bounded
// number of Adam steps, and held-out accuracy must be high.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeTraining } from '../../../src/engine/autodiff/composer';
import { Adam } from '../../../src/engine/autodiff/optim';
import { Net, linear, type Value } from '../../../src/engine/nn';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession, type HostTensor } from '../../../src/engine/runtime';
import { Rng } from '../../../src/shared/random';

const SIDE = 8;
const BATCH = 32;

/** A batch of images with one bright bar (row or column) plus noise; label 0 = horizontal, 1 = vertical. */
function bars(rng: Rng, batch: number): { images: Float32Array; onehot: Float32Array; labels: number[] } {
  const images = rng.normals(batch * SIDE * SIDE, 0.3);
  const onehot = new Float32Array(batch * 2);
  const labels: number[] = [];
  for (let b = 0; b < batch; b++) {
    const vertical = rng.int(2);
    const at = rng.int(SIDE);
    for (let i = 0; i < SIDE; i++) images[b * SIDE * SIDE + (vertical ? i * SIDE + at : at * SIDE + i)]! += 1;
    onehot[b * 2 + vertical] = 1;
    labels.push(vertical);
  }
  return { images, onehot, labels };
}

/** MLP 64 -> 32 -> 2, loss = mean over the batch of -sum(onehot * LogSoftmax(logits)). */
function classifier(): { model: ReturnType<GraphBuilder['toModel']>; params: string[]; logits: string } {
  const b = new GraphBuilder('bars_mlp');
  const net = new Net(b, 5);
  const x: Value = { name: b.input('images', 'float32', [BATCH, SIDE * SIDE]), shape: [BATCH, SIDE * SIDE] };
  const y = b.input('onehot', 'float32', [BATCH, 2]);
  const hidden = net.op('Relu', [linear(net, 'fc1', x, 32).name], [BATCH, 32]);
  const logits = linear(net, 'fc2', hidden, 2);
  const logProbs = b.op('LogSoftmax', [logits.name], { axis: -1 });
  const picked = b.op('ReduceSum', [b.op('Mul', [logProbs, y]), b.ints([0, 1])], { keepdims: 0 });
  b.output(b.op('Mul', [picked, b.scalar(-1 / BATCH)]), 'loss', { dtype: 'float32', shape: [] });
  return { model: b.toModel(), params: net.params, logits: logits.name };
}

test('an MLP trained from scratch separates horizontal from vertical bars', { timeout: 30_000 }, async () => {
  const started = Date.now();
  const { model, params, logits: logitsName } = classifier();
  const trainer = await composeTraining(model, { loss: 'loss', train: params, optimizer: new Adam({ lr: 0.01 }), clipGradNorm: 5 });
  const rng = new Rng(21);
  const feed = (d: { images: Float32Array; onehot: Float32Array }): Record<string, HostTensor> => ({
    images: { dtype: 'float32', dims: [BATCH, SIDE * SIDE], data: d.images },
    onehot: { dtype: 'float32', dims: [BATCH, 2], data: d.onehot },
  });
  const first = (await trainer.gradients(feed(bars(new Rng(1), BATCH)))).loss;
  assert.ok(first > 0.5, `untrained loss ${first} should be near ln 2`);
  const MAX_STEPS = 150;
  const THRESHOLD = 0.05;
  // smoothed over 10 batches, so one easy batch does not end training early
  const recent: number[] = [];
  let steps = 0;
  for (; steps < MAX_STEPS; steps++) {
    recent.push((await trainer.step(feed(bars(rng, BATCH)))).loss);
    if (recent.length > 10) recent.shift();
    if (recent.length === 10 && recent.reduce((a, v) => a + v, 0) / 10 < THRESHOLD) break;
  }
  assert.ok(steps < MAX_STEPS, `mean loss of the last 10 batches still ${recent.reduce((a, v) => a + v, 0) / 10} after ${MAX_STEPS} steps`);

  const heldOut = bars(new Rng(999), BATCH);
  const heldOutLoss = (await trainer.gradients(feed(heldOut))).loss;
  assert.ok(heldOutLoss < 0.2, `held-out loss ${heldOutLoss}`);

  // held-out accuracy from the exported forward model (trained weights written back)
  const exported = trainer.exportModel();
  exported.graph.outputs.push({ name: logitsName, dtype: 'float32', shape: [BATCH, 2] });
  const session = await createSession(encodeModel(exported));
  const logits = (await session.run(feed(heldOut), [logitsName]))[logitsName]!.data as Float32Array;
  const correct = heldOut.labels.filter((label, i) => (logits[i * 2 + 1]! > logits[i * 2]! ? 1 : 0) === label).length;
  assert.ok(correct >= BATCH - 1, `held-out accuracy ${correct}/${BATCH}`);
  // the caller's model is untouched: its initializers still hold the initial weights
  assert.notDeepEqual(exported.graph.initializers.get('fc1.weight')!.data, model.graph.initializers.get('fc1.weight')!.data);
  console.log(`bars MLP: loss < ${THRESHOLD} after ${steps + 1} steps, held-out loss ${heldOutLoss.toFixed(4)}, accuracy ${correct}/${BATCH}, ${Date.now() - started} ms`);
  await session.release();
  await trainer.release();
});
