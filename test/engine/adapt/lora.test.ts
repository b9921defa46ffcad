import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addLoraAdapters, mergeLora } from '../../../src/engine/adapt/lora';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession, type HostTensor } from '../../../src/engine/runtime';
import { Rng } from '../../../src/shared/random';
import { tinyUnet, TINY } from '../../fixtures/builtin/tiny-package';
import type { Model } from '../../../src/engine/onnx/ir';

const B = 2;
function feeds(seed: number): Record<string, HostTensor> {
  const rng = new Rng(seed);
  const cells = TINY.latent * TINY.latent;
  return {
    sample: { dtype: 'float32', dims: [B, TINY.latentChannels, TINY.latent, TINY.latent], data: rng.normals(B * TINY.latentChannels * cells) },
    timestep: { dtype: 'float32', dims: [B], data: Float32Array.from([10, 700]) },
    context: { dtype: 'float32', dims: [B, TINY.contextLength, TINY.width], data: rng.normals(B * TINY.contextLength * TINY.width) },
    aar_weight: { dtype: 'float32', dims: [B, cells], data: new Float32Array(B * cells).fill(1) },
    aar_columns: { dtype: 'float32', dims: [B, TINY.contextLength], data: new Float32Array(B * TINY.contextLength) },
  };
}

async function eps(model: Model, f: Record<string, HostTensor>): Promise<Float32Array> {
  const session = await createSession(encodeModel(model));
  try {
    return (await session.run(f, ['eps']))['eps']!.data as Float32Array;
  } finally {
    await session.release();
  }
}

test('LoRA adapters go on the attention MatMuls and the 1x1/3x3 convs, and at step 0 (B = 0) the UNet is bit-identical to the base', async () => {
  const base = tinyUnet(9);
  const { model, adapters } = addLoraAdapters(base, 2, 1);
  const kinds = new Set(adapters.map((a) => a.kind));
  assert.deepEqual([...kinds].sort(), ['conv', 'matmul']);
  assert.ok(adapters.some((a) => a.kind === 'conv' && a.aDims[2] === 3) && adapters.some((a) => a.kind === 'conv' && a.aDims[2] === 1), 'both 3x3 and 1x1 convs');
  assert.ok(adapters.some((a) => /to_q|to_k|to_v|q\.|k\.|v\./.test(a.weight)), `attention projections adapted: ${adapters.map((a) => a.weight).join(', ')}`);
  for (const a of adapters) {
    const A = model.graph.initializers.get(a.a)!.data as Float32Array;
    const Bf = model.graph.initializers.get(a.b)!.data as Float32Array;
    assert.ok(A.some((v) => v !== 0), `${a.a} is random`);
    assert.ok(Bf.every((v) => v === 0), `${a.b} is zero`);
  }
  // the base graph is not touched
  assert.equal(base.graph.initializers.size + 2 * adapters.length, model.graph.initializers.size);
  const f = feeds(3);
  const [want, got] = [await eps(base, f), await eps(model, f)];
  assert.deepEqual(Buffer.from(got.buffer, got.byteOffset, got.byteLength), Buffer.from(want.buffer, want.byteOffset, want.byteLength));
  // merged with B = 0: the very same weights
  const factors = new Map(adapters.flatMap((a) => [[a.a, model.graph.initializers.get(a.a)!.data as Float32Array], [a.b, model.graph.initializers.get(a.b)!.data as Float32Array]] as const));
  const merged = mergeLora(base, adapters, factors);
  for (const a of adapters) assert.deepEqual(merged.graph.initializers.get(a.weight)!.data, base.graph.initializers.get(a.weight)!.data);
});

test('merging trained factors (W + B A) computes what the graph with adapters computes', async () => {
  const base = tinyUnet(9);
  const { model, adapters } = addLoraAdapters(base, 3, 2);
  const rng = new Rng(5);
  const factors = new Map<string, Float32Array>();
  for (const a of adapters) {
    const A = model.graph.initializers.get(a.a)!;
    const Bt = model.graph.initializers.get(a.b)!;
    const bValues = rng.normals(Bt.dims.reduce((p, d) => p * d, 1), 0.05);
    model.graph.initializers.set(a.b, { ...Bt, data: bValues });
    factors.set(a.a, A.data as Float32Array);
    factors.set(a.b, bValues);
  }
  const f = feeds(4);
  const withAdapters = await eps(model, f);
  const merged = await eps(mergeLora(base, adapters, factors), f);
  const plain = await eps(base, f);
  let diffMerged = 0;
  let diffBase = 0;
  for (let i = 0; i < plain.length; i++) {
    diffMerged = Math.max(diffMerged, Math.abs(merged[i]! - withAdapters[i]!));
    diffBase = Math.max(diffBase, Math.abs(plain[i]! - withAdapters[i]!));
  }
  assert.ok(diffBase > 1e-3, `non-zero B changes the output (max diff ${diffBase})`);
  assert.ok(diffMerged < 1e-4, `merged weights match the adapters (max diff ${diffMerged})`);
});

test('rank must be a positive integer', () => {
  assert.throws(() => addLoraAdapters(tinyUnet(9), 0, 1), /rank/);
});
