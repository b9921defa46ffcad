import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../../../src/engine/onnx/builder';
import { encodeModel } from '../../../../src/engine/onnx/serialize';
import { createSession } from '../../../../src/engine/runtime';
import { buildTinyUNet, Net } from '../../../../src/engine/nn';
import { symbolicBatch } from '../../../../src/engine/models/builtin/symbolic-batch';
import { Rng } from '../../../../src/shared/random';

test('a UNet built at batch 2 runs at batches 1 and 3 with the same per-item results', async () => {
  const config = { batch: 2, latentChannels: 4, size: 8, channels: [8, 16], attentionAt: [8, 4], contextTokens: 5, contextDim: 8, heads: 2, groups: 4, seed: 3, upsampleImpl: 'expand' as const };
  const fixed = buildTinyUNet(config);
  const symbolic = symbolicBatch(fixed.model, 2);
  assert.deepEqual(symbolic.graph.inputs.map((i) => i.shape![0]), ['batch', 'batch', 'batch']);
  assert.equal(symbolic.graph.outputs[0]!.shape![0], 'batch');
  const original = await createSession(encodeModel(fixed.model));
  const any = await createSession(encodeModel(symbolic));
  const rng = new Rng(5);
  const per = { sample: 4 * 8 * 8, context: 5 * 8 };
  const items = [0, 1, 2].map(() => ({ sample: rng.normals(per.sample), context: rng.normals(per.context), t: rng.int(1000) }));
  const feeds = (list: typeof items) => ({
    sample: { dtype: 'float32' as const, dims: [list.length, 4, 8, 8], data: Float32Array.from(list.flatMap((i) => Array.from(i.sample))) },
    timestep: { dtype: 'float32' as const, dims: [list.length], data: Float32Array.from(list.map((i) => i.t)) },
    context: { dtype: 'float32' as const, dims: [list.length, 5, 8], data: Float32Array.from(list.flatMap((i) => Array.from(i.context))) },
  });
  const ref = (await original.run(feeds(items.slice(0, 2)))).out!.data as Float32Array;
  const three = (await any.run(feeds(items))).out!;
  assert.deepEqual(three.dims, [3, 4, 8, 8]);
  const one = (await any.run(feeds(items.slice(1, 2)))).out!.data as Float32Array;
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-5 * (1 + Math.abs(b));
  for (let k = 0; k < 2 * per.sample; k++) assert.ok(close((three.data as Float32Array)[k]!, ref[k]!), `batch-3 value ${k}`);
  for (let k = 0; k < per.sample; k++) assert.ok(close(one[k]!, ref[per.sample + k]!), `batch-1 value ${k}`);
  await original.release();
  await any.release();
});

test('a Reshape that folds the batch into another dimension is refused, naming the node', () => {
  const b = new GraphBuilder('folded');
  const net = new Net(b, 1);
  const x = { name: b.input('x', 'float32', [2, 3, 4]), shape: [2, 3, 4] };
  const y = net.reshape(net.reshape(x, [6, 4]), [2, 12]);
  b.output(y.name, 'y', { shape: [2, 12] });
  assert.throws(() => symbolicBatch(b.toModel(), 2), /Reshape '.*' to \[6,4\] does not keep the batch 2/);
  assert.throws(() => symbolicBatch(b.toModel(), 3), /'x' has shape \[2,3,4\]; expected the batch 3 first/);
});
