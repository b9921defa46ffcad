import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession, type HostTensor } from '../../../src/engine/runtime';
import { Rng } from '../../../src/shared/random';
import { buildTinyUNet, type TinyUNetConfig } from '../../../src/engine/nn';

const config: TinyUNetConfig = {
  batch: 2, latentChannels: 4, size: 16, channels: [8, 16], attentionAt: [8, 4],
  contextTokens: 4, contextDim: 12, heads: 2, groups: 4, seed: 1, reweightInputs: true,
};

function feeds(seed: number, reweightOnes: boolean): Record<string, HostTensor> {
  const rng = new Rng(seed);
  const f = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });
  const out: Record<string, HostTensor> = {
    sample: f([2, 4, 16, 16], rng.normals(2 * 4 * 256)),
    timestep: f([2], Float32Array.from([10, 700])),
    context: f([2, 4, 12], rng.normals(2 * 4 * 12)),
  };
  for (const res of [8, 4]) {
    const n = 2 * res * res * 4;
    out[`reweight_${res}`] = f([2, 1, res * res, 4], reweightOnes ? new Float32Array(n).fill(1) : rng.uniforms(n, 0, 2));
  }
  return out;
}

async function run(cfg: TinyUNetConfig, inputs: Record<string, HostTensor>): Promise<Float32Array> {
  const unet = buildTinyUNet(cfg);
  const session = await createSession(encodeModel(unet.model));
  const out = await session.run(inputs);
  await session.release();
  assert.deepEqual(out.out!.dims, unet.outputShape);
  return out.out!.data as Float32Array;
}

test('tiny UNet builds, runs, and every piece of it is reachable from the output', async () => {
  const unet = buildTinyUNet(config);
  assert.deepEqual(unet.outputShape, [2, 4, 16, 16]);
  assert.deepEqual(Object.keys(unet.inputs.reweight).map(Number).sort(), [4, 8]);
  // cross-attention at 8 (down1 and up1) and at 4 (mid)
  assert.ok(unet.params.includes('down1.attn.attn.to_k.weight'));
  assert.ok(unet.params.includes('mid.attn.attn.to_k.weight'));
  assert.ok(!unet.params.includes('down0.attn.attn.to_k.weight'));
  const ops = new Set(unet.model.graph.nodes.map((n) => n.opType));
  for (const op of ['Conv', 'InstanceNormalization', 'Sigmoid', 'Softmax', 'Resize', 'Concat', 'Sin', 'Cos', 'MatMul']) assert.ok(ops.has(op), op);
  const out = await run(config, feeds(3, false));
  assert.ok(out.every(Number.isFinite));
});

test('the output depends on sample, timestep, context and re-weighting; ones re-weighting is a no-op', async () => {
  const base = await run(config, feeds(3, true));
  const noReweight = await run({ ...config, reweightInputs: false }, feeds(3, true));
  assert.deepEqual(base, noReweight);
  const changed = (mutate: (f: Record<string, HostTensor>) => void): Promise<Float32Array> => {
    const f = feeds(3, true);
    mutate(f);
    return run(config, f);
  };
  const differs = (a: Float32Array, b: Float32Array): boolean => a.some((v, i) => Math.abs(v - b[i]!) > 1e-5);
  assert.ok(differs(base, await changed((f) => ((f.timestep!.data as Float32Array)[0] = 500))));
  assert.ok(differs(base, await changed((f) => ((f.context!.data as Float32Array)[0]! += 1))));
  assert.ok(differs(base, await changed((f) => ((f.reweight_8!.data as Float32Array)[0] = 0))));
});

test('both group-norm and upsampling implementations give the same UNet output', async () => {
  const a = await run(config, feeds(4, false));
  const b = await run({ ...config, groupNormImpl: 'moments', upsampleImpl: 'expand' }, feeds(4, false));
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
  assert.ok(maxDiff < 1e-4, `max diff ${maxDiff}`);
});

test('bad UNet configurations fail with a clear message', () => {
  assert.throws(() => buildTinyUNet({ ...config, size: 12, channels: [8, 16, 16] }), /size 12 is not divisible by 2\^3/);
  assert.throws(() => buildTinyUNet({ ...config, groups: 3 }), /do not split into 3 groups/);
});
