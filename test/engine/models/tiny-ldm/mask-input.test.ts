// The UNet's mask input (TINY_LDM_V3, issue 5: thin defects): the space-to-depth layout against an
// independent loop, the training graph's rule that a sample with dropped spatial tokens sees no
// mask, and a --plan v3 --smoke package end to end: the manifest declares the input, the loader
// feeds it, blended generation gives it to the conditional half only, and defect learning, mask
// learning and product adaptation all run on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GraphBuilder } from '../../../../src/engine/onnx/builder';
import { encodeModel } from '../../../../src/engine/onnx/serialize';
import { createSession, type HostTensor } from '../../../../src/engine/runtime';
import { Net } from '../../../../src/engine/nn';
import { SMOKE_LDM_V3, maskToLatentChannels } from '../../../../src/engine/models/tiny-ldm';
import { buildUNetTrainingGraph } from '../../../../src/engine/models/tiny-ldm/train/graphs';
import { SMOKE_PLAN_V3, runPretraining } from '../../../../src/engine/models/tiny-ldm/train';
import { loadBuiltinModel, readBuiltinManifest } from '../../../../src/engine/models/builtin/load';
import { generateBlended } from '../../../../src/engine/diffusion/blended';
import type { DiffusionModel, NoiseRequest } from '../../../../src/engine/models/types';
import { learnDefect } from '../../../../src/engine/anomaly/learn-defect';
import { learnMask } from '../../../../src/engine/anomaly/learn-mask';
import { adaptModel } from '../../../../src/engine/adapt/adapt-model';
import { makeLearnFixture } from '../../anomaly/fixture';
import { Rng } from '../../../../src/shared/random';

const f32 = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

test('the mask enters the UNet space-to-depth: channel dy*f + dx at (y, x) holds pixel (y*f + dy, x*f + dx)', async () => {
  const [B, S, G] = [2, 16, 4];
  const f = S / G;
  const b = new GraphBuilder('s2d');
  const net = new Net(b, 1);
  const out = maskToLatentChannels(net, { name: b.input('mask', 'float32', [B, 1, S, S]), shape: [B, 1, S, S] }, G);
  assert.deepEqual(out.shape, [B, f * f, G, G]);
  b.output(out.name, 'out', { dtype: 'float32', shape: out.shape });
  const session = await createSession(encodeModel(b.toModel()));
  const mask = Float32Array.from({ length: B * S * S }, (_, i) => i);
  const got = (await session.run({ mask: f32([B, 1, S, S], mask) }))['out']!.data as Float32Array;
  await session.release();
  for (let n = 0; n < B; n++)
    for (let dy = 0; dy < f; dy++)
      for (let dx = 0; dx < f; dx++)
        for (let y = 0; y < G; y++)
          for (let x = 0; x < G; x++) {
            const at = ((n * f * f + dy * f + dx) * G + y) * G + x;
            assert.equal(got[at], mask[n * S * S + (y * f + dy) * S + (x * f + dx)], `n ${n} dy ${dy} dx ${dx} y ${y} x ${x}`);
          }
});

test('training graph with the mask input: the loss depends on the mask only where the spatial tokens are kept', async () => {
  const cfg = SMOKE_LDM_V3;
  const graph = buildUNetTrainingGraph(cfg, 1);
  const session = await createSession(encodeModel(graph.model));
  const g = cfg.imageSize / 8;
  const C = cfg.vae.latentChannels;
  const S = cfg.imageSize;
  const V = graph.vocabulary.labels.length;
  const rng = new Rng(4);
  const fixed = {
    sample: f32([1, C, g, g], rng.normals(C * g * g)),
    timestep: f32([1], Float32Array.of(300)),
    eps_target: f32([1, C, g, g], rng.normals(C * g * g)),
    loss_weight: f32([1, 1, g, g], new Float32Array(g * g).fill(1)),
    label_onehot: f32([1, 9, V], new Float32Array(9 * V).fill(0)),
  };
  const loss = async (keep: number, mask: Float32Array): Promise<number> => {
    const out = await session.run({ ...fixed, spatial_keep: f32([1, 1, 1], Float32Array.of(keep)), mask: f32([1, 1, S, S], mask) });
    return (out['loss']!.data as Float32Array)[0]!;
  };
  const none = new Float32Array(S * S).fill(-1);
  const line = none.map((_, i) => (i % S === 21 ? 1 : -1)); // a one-pixel vertical line
  const shifted = none.map((_, i) => (i % S === 22 ? 1 : -1)); // the same line one pixel over: same latent cells
  assert.notEqual(await loss(1, line), await loss(1, none));
  assert.notEqual(await loss(1, line), await loss(1, shifted), 'a one-pixel shift inside the same latent cells still reaches eps');
  assert.equal(await loss(0, line), await loss(0, none), 'dropped spatial tokens: no mask either');
  await session.release();
});

test('a --plan v3 --smoke package: declared mask input, fed by the loader, in both CFG halves with a labels-dropped unconditional; learning and adaptation run on it', { timeout: 300_000 }, async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tiny ldm v3 '));
  const fx = await makeLearnFixture('v3-learn');
  try {
    const outDir = path.join(root, 'package');
    const summary = await runPretraining({ plan: SMOKE_PLAN_V3, dir: path.join(root, 'train'), outDir });
    assert.equal(summary.complete, true);
    assert.equal((await readBuiltinManifest(outDir)).unetMask, true);

    const model = await loadBuiltinModel(outDir);
    try {
      assert.equal(model.facts.unetMask, true);
      const { width: W, height: H } = model.facts.imageSize;
      const C = model.facts.latentChannels;
      const { width: w, height: h } = model.facts.latentSize;
      const rng = new Rng(9);
      const cond = await model.context(null);
      const request = { latents: rng.normals(C * w * h), batch: 1, timesteps: [400], context: cond.context };
      const mask = new Float32Array(W * H);
      for (let y = 10; y < 40; y++) mask[y * W + 30] = 1;
      const plain = await model.predictNoise(request);
      const zeros = await model.predictNoise({ ...request, masks: new Float32Array(W * H) });
      const masked = await model.predictNoise({ ...request, masks: mask });
      assert.deepEqual(plain, zeros, 'no masks = all-zero masks');
      assert.notDeepEqual(masked, plain, 'the mask reaches eps');

      // blended generation with CFG: both halves get the item's mask; the unconditional context is
      // the labels-dropped one (null family and anomaly rows, the mask's spatial tokens)
      const seen: NoiseRequest[] = [];
      const spy: DiffusionModel = Object.assign(Object.create(model) as DiffusionModel, {
        predictNoise: (r: NoiseRequest) => (seen.push(r), model.predictNoise(r)),
      });
      const pixels = new Uint8Array(W * H);
      for (let y = 20; y < 30; y++) for (let x = 20; x < 44; x++) pixels[y * W + x] = 255;
      const normal = { width: W, height: H, channels: 3 as const, data: new Uint8Array(W * H * 3).fill(120) };
      await generateBlended(spy, { normal, mask: pixels, conditioning: { prompt: model.tokens.families()[0]!, defect: model.tokens.defects()[0]!, mask: { width: W, height: H, data: pixels } }, seed: 3, sampler: { sampler: 'ddim', steps: 2 }, guidanceScale: 3 });
      assert.equal(seen.length, 2);
      const expectedUncond = await model.context({ mask: { width: W, height: H, data: pixels } });
      const expectedCond = await model.context({ prompt: model.tokens.families()[0]!, defect: model.tokens.defects()[0]!, mask: { width: W, height: H, data: pixels } });
      const L = expectedCond.context.length;
      assert.notDeepEqual(expectedUncond.context, (await model.context(null)).context, 'the labels-dropped context keeps the spatial tokens');
      for (const r of seen) {
        assert.equal(r.batch, 2);
        assert.ok(r.masks && r.masks.length === 2 * W * H);
        const binary = Array.from(pixels, (v) => (v > 0 ? 1 : 0));
        assert.deepEqual(Array.from(r.masks.subarray(0, W * H)), binary, 'unconditional half: the mask');
        assert.deepEqual(Array.from(r.masks.subarray(W * H)), binary, 'conditional half: the mask');
        assert.deepEqual(r.context.subarray(0, L), expectedUncond.context, 'unconditional half: labels null, spatial tokens kept');
        assert.deepEqual(r.context.subarray(L), expectedCond.context, 'conditional half: the conditioning');
      }
    } finally {
      await model.release();
    }

    // the training graphs bind the UNet's mask input: from the pairs' masks, or none
    const project = await fx.newProject('v3');
    try {
      const learned = await learnDefect({ project, type: 'widget/crack', modelDir: outDir, settings: { steps: 3, variants: 1, previewEvery: 2, checkpointEvery: 0 } });
      assert.equal(learned.steps, 3);
      const maskRun = await learnMask({ project, type: 'widget/crack', modelDir: outDir, settings: { steps: 2, variants: 1 } });
      assert.equal(maskRun.steps, 2);
      const adapted = await adaptModel({ project, modelDir: outDir, settings: { mode: 'full', steps: 2, evalEvery: 2, patience: 100, lr: 1e-3, variants: 1, heldOutFraction: 0.5, checkpointEvery: 0, seed: 1 } });
      assert.equal((await readBuiltinManifest(adapted.modelDir)).unetMask, true, 'an adapted package keeps the mask input');
    } finally {
      project.close();
    }
  } finally {
    fx.cleanup();
    rmSync(root, { recursive: true, force: true });
  }
});
