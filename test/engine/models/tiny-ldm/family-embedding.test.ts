// The UNet's family embedding (TINY_LDM_V4, issue 5; unet.ts "Family embedding"):
//   temb = TimestepEmbedding(t) + Linear(context[:, 0, :])
// checked against the v3 UNet (no embedding) with the same weights, whose timestep embedding's
// last bias is shifted by hand by c_0 W + b: the two must compute the same eps. Parameters are
// initialised per name (nn/net.ts), so the two graphs share every other weight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeModel } from '../../../../src/engine/onnx/serialize';
import { createSession, type HostTensor } from '../../../../src/engine/runtime';
import { SMOKE_LDM_V3, SMOKE_LDM_V4, buildUNetGraph, contextLength, latentSize, type TinyLdmConfig } from '../../../../src/engine/models/tiny-ldm';
import type { Model } from '../../../../src/engine/onnx/ir';
import { Rng } from '../../../../src/shared/random';

const f32 = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });
const cfg = SMOKE_LDM_V4;
const W = cfg.tokenWidth;
const L = contextLength(cfg);
const g = latentSize(cfg);
const rng = new Rng(31);
const context = rng.normals(L * W);
const inputs = {
  sample: f32([1, cfg.vae.latentChannels, g, g], rng.normals(cfg.vae.latentChannels * g * g)),
  timestep: f32([1], Float32Array.of(420)),
  context: f32([1, L, W], context),
  mask: f32([1, 1, cfg.imageSize, cfg.imageSize], rng.uniforms(cfg.imageSize * cfg.imageSize, 0, 1).map((v) => (v > 0.8 ? 1 : 0))),
};

/** The UNet graph of `config` with some initializers replaced. */
function unet(config: TinyLdmConfig, replace: Record<string, Float32Array>): Model {
  const { model } = buildUNetGraph(config, 1, { aar: false });
  const initializers = new Map(model.graph.initializers);
  for (const [name, data] of Object.entries(replace)) {
    const init = initializers.get(name);
    assert.ok(init, `${config === cfg ? 'v4' : 'v3'} UNet has no initializer '${name}'`);
    initializers.set(name, { ...init, data });
  }
  return { ...model, graph: { ...model.graph, initializers } };
}

async function eps(model: Model, contextTensor = inputs.context): Promise<Float32Array> {
  const session = await createSession(encodeModel(model));
  try {
    return (await session.run({ ...inputs, context: contextTensor }))['eps']!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function initializer(model: Model, name: string): Float32Array {
  return Float32Array.from(model.graph.initializers.get(name)!.data as Float32Array);
}

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('family embedding: eps equals the v3 UNet whose timestep-embedding bias is shifted by c_0 W + b', async () => {
  const v4 = unet(cfg, {});
  const weight = initializer(v4, 'unet.family_embedding.weight');
  const bias = initializer(v4, 'unet.family_embedding.bias');
  const out = bias.length;
  assert.equal(weight.length, W * out);
  // the shift by hand: slot 0 of the context times W ([W, out], row-major), plus b
  const shift = Float64Array.from(bias);
  for (let i = 0; i < W; i++) for (let o = 0; o < out; o++) shift[o]! += context[i]! * weight[i * out + o]!;
  const v3Bias = initializer(unet(SMOKE_LDM_V3, {}), 'unet.time_embedding.linear_2.bias');
  const shifted = Float32Array.from(v3Bias, (v, o) => v + shift[o]!);
  const want = await eps(unet(SMOKE_LDM_V3, { 'unet.time_embedding.linear_2.bias': shifted }));
  const got = await eps(v4);
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(maxAbsDiff(got, want) < 1e-4 * scale, `max |v4 - shifted v3| ${maxAbsDiff(got, want)} (eps scale ${scale})`);
  // and the shift matters: the unshifted v3 differs
  assert.ok(maxAbsDiff(await eps(unet(SMOKE_LDM_V3, {})), got) > 1e-3 * scale);
});

test('family embedding: with zero weights the v4 UNet is the v3 UNet, and it reads the family slot only', async () => {
  const tembWidth = 4 * cfg.unet.channels[0]!;
  const zero = { 'unet.family_embedding.weight': new Float32Array(W * tembWidth), 'unet.family_embedding.bias': new Float32Array(tembWidth) };
  const v3 = await eps(unet(SMOKE_LDM_V3, {}));
  assert.ok(maxAbsDiff(await eps(unet(cfg, zero)), v3) < 1e-6);
  // with the cross-attention's key and value weights zeroed, the context reaches eps through the
  // family embedding only: changing slot 0 changes eps, changing every other slot does not
  const base = unet(cfg, {});
  const blind: Record<string, Float32Array> = {};
  for (const [name, init] of base.graph.initializers) if (/\.attn\..*(to_k|to_v)/.test(name)) blind[name] = new Float32Array((init.data as Float32Array).length);
  assert.ok(Object.keys(blind).length >= 2 * cfg.unet.attentionAt.length, `key/value weights found: ${Object.keys(blind)}`);
  const model = unet(cfg, blind);
  const reference = await eps(model);
  const otherSlots = Float32Array.from(context);
  for (let i = W; i < L * W; i++) otherSlots[i] = -otherSlots[i]! + 0.5;
  assert.ok(maxAbsDiff(await eps(model, f32([1, L, W], otherSlots)), reference) < 1e-6);
  const familySlot = Float32Array.from(context);
  for (let i = 0; i < W; i++) familySlot[i] = -familySlot[i]! + 0.5;
  assert.ok(maxAbsDiff(await eps(model, f32([1, L, W], familySlot)), reference) > 1e-3);
});
