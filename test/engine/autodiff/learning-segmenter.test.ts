// Learning test (a'), a small conv net: two 3x3 convolutions trained from scratch by the composer
// segment bright rectangles in noisy 12x12 images (per-pixel logistic loss). The loss must fall
// below a fixed threshold within a bounded number of steps, and held-out masks must be right.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeTraining } from '../../../src/engine/autodiff/composer';
import { Adam } from '../../../src/engine/autodiff/optim';
import { Net, conv2d, type Value } from '../../../src/engine/nn';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import type { HostTensor } from '../../../src/engine/runtime';
import { Rng } from '../../../src/shared/random';

const SIDE = 12;
const BATCH = 8;

/** Images with one rectangle of brightness 1 on noise (std 0.3), and its mask. */
function rectangles(rng: Rng): Record<string, HostTensor> {
  const images = rng.normals(BATCH * SIDE * SIDE, 0.3);
  const masks = new Float32Array(BATCH * SIDE * SIDE);
  for (let b = 0; b < BATCH; b++) {
    const h = 2 + rng.int(5), w = 2 + rng.int(5);
    const y0 = rng.int(SIDE - h), x0 = rng.int(SIDE - w);
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) {
      images[(b * SIDE + y) * SIDE + x]! += 1;
      masks[(b * SIDE + y) * SIDE + x] = 1;
    }
  }
  const dims = [BATCH, 1, SIDE, SIDE];
  return { images: { dtype: 'float32', dims, data: images }, masks: { dtype: 'float32', dims, data: masks } };
}

/** conv3x3(1->8) -> ReLU -> conv3x3(8->1) = logits z; loss = mean(softplus(z) - mask * z) (BCE with logits). */
function segmenter() {
  const b = new GraphBuilder('rect_segmenter');
  const net = new Net(b, 8);
  const shape = [BATCH, 1, SIDE, SIDE];
  const x: Value = { name: b.input('images', 'float32', shape), shape };
  const mask = b.input('masks', 'float32', shape);
  const hidden = net.op('Relu', [conv2d(net, 'conv1', x, 8).name], [BATCH, 8, SIDE, SIDE]);
  const logits = conv2d(net, 'conv2', hidden, 1);
  const bce = b.op('Sub', [b.op('Softplus', [logits.name]), b.op('Mul', [mask, logits.name])]);
  b.output(b.op('ReduceMean', [bce], { keepdims: 0 }), 'loss', { dtype: 'float32', shape: [] });
  return { model: b.toModel(), params: net.params, logits: logits.name };
}

test('a two-layer conv net trained from scratch segments rectangles', { timeout: 30_000 }, async () => {
  const started = Date.now();
  const { model, params, logits } = segmenter();
  const trainer = await composeTraining(model, { loss: 'loss', train: params, optimizer: new Adam({ lr: 0.03 }), keepOutputs: [logits] });
  const rng = new Rng(31);
  const MAX_STEPS = 150;
  const THRESHOLD = 0.1;
  const recent: number[] = [];
  let steps = 0;
  for (; steps < MAX_STEPS; steps++) {
    recent.push((await trainer.step(rectangles(rng))).loss);
    if (recent.length > 10) recent.shift();
    if (recent.length === 10 && recent.reduce((a, v) => a + v, 0) / 10 < THRESHOLD) break;
  }
  const smoothed = recent.reduce((a, v) => a + v, 0) / recent.length;
  assert.ok(steps < MAX_STEPS, `mean loss of the last 10 batches still ${smoothed} after ${MAX_STEPS} steps`);

  const heldOut = rectangles(new Rng(4242));
  const result = await trainer.gradients(heldOut);
  const z = result.outputs[logits]!.data as Float32Array;
  const truth = heldOut.masks!.data as Float32Array;
  let wrong = 0;
  for (let i = 0; i < z.length; i++) if ((z[i]! > 0 ? 1 : 0) !== truth[i]) wrong++;
  console.log(`rectangle segmenter: loss < ${THRESHOLD} after ${steps + 1} steps, held-out loss ${result.loss.toFixed(4)}, ${wrong}/${z.length} pixels wrong, ${Date.now() - started} ms`);
  assert.ok(wrong / z.length < 0.03, `${wrong} of ${z.length} held-out pixels misclassified`);
  await trainer.release();
});
