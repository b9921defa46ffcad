// The SD 1.x learning graph on tiny random SD folders (test/fixtures/sd1): e_a and E trained
// through the frozen CLIP text encoder and UNet by the masked loss.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkInMemoryGraphSize, openDefectBackend, type DefectBackend } from '../../../src/engine/anomaly/defect-backend';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import { composeTraining, type Trainer } from '../../../src/engine/autodiff/composer';
import { Adam } from '../../../src/engine/autodiff/optim';
import { alphasCumprod } from '../../../src/engine/diffusion/schedule';
import { hashFolder } from '../../../src/engine/models/sd1/folder';
import { loadModel, saveModel } from '../../../src/engine/onnx/io';
import type { HostTensor } from '../../../src/engine/runtime';
import type { Sd1Model } from '../../../src/engine/models/sd1';
import { isUserError } from '../../../src/shared/errors';
import { Rng } from '../../../src/shared/random';
import { BASE_VARIANT, IMAGE_SIZE, LATENT_SIZE, writeTinySd1Folder, type Sd1Variant } from '../../fixtures/sd1';
import { TEXT_WIDTH } from '../../fixtures/sd1/models';

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sd1 learning ü '));
after(() => fs.rm(root, { recursive: true, force: true }));
let counter = 0;
async function folder(variant: Partial<Sd1Variant> = {}): Promise<string> {
  const dir = path.join(root, `modèle ${++counter}`);
  await writeTinySd1Folder(dir, { ...BASE_VARIANT, ...variant });
  return dir;
}
const imageSize = { width: IMAGE_SIZE, height: IMAGE_SIZE };
const B = 2;
const C = 4;
const S = LATENT_SIZE;
const f32 = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

/** A square defect in pixels [x0, x1) x [y0, y1) of the 64x64 image. */
function squareMask(x0: number, x1: number, y0: number, y1: number): Uint8Array {
  const m = new Uint8Array(IMAGE_SIZE * IMAGE_SIZE);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * IMAGE_SIZE + x] = 255;
  return m;
}

interface Setup {
  backend: DefectBackend;
  trainer: Trainer;
  encoderNames: Map<string, string>;
  feeds: Record<string, HostTensor>;
  ts: number[];
  pixelMask: Uint8Array;
}

/** A trainer on the backend's graph and one fixed batch (t = 700 and 300 unless the UNet shares one t). */
async function setup(dir: string, lossMask?: Float32Array, trainingWorkDir?: string): Promise<Setup> {
  const backend = await openDefectBackend(dir, { imageSize, ...(trainingWorkDir ? { trainingWorkDir } : {}) });
  const graph = await backend.trainingGraph(B);
  const trainer = await composeTraining(graph.model, {
    ...backend.trainingStorage(),
    loss: 'loss',
    train: ['e_a', ...graph.encoderWeights.keys()],
    optimizer: new Adam({ lr: 0.02, weightDecay: 0 }),
    initial: { e_a: backend.initialAnomaly(3) },
    keepOutputs: ['eps_hat'],
  });
  const rng = new Rng(21);
  const ts = backend.sharedTimestep ? [700, 700] : [700, 300];
  const abar = alphasCumprod(backend.model.facts.schedule);
  const pixelMask = squareMask(16, 40, 24, 48);
  const enc = backend.encoderInput(pixelMask);
  const latentMask = new Float32Array(S * S);
  for (let y = 3; y < 6; y++) for (let x = 2; x < 5; x++) latentMask[y * S + x] = 1;
  const lm = lossMask ?? latentMask;
  const feeds: Record<string, HostTensor> = {
    z0: f32([B, C, S, S], rng.normals(B * C * S * S)),
    noise: f32([B, C, S, S], rng.normals(B * C * S * S)),
    sqrt_abar: f32([B, 1, 1, 1], Float32Array.from(ts, (t) => Math.sqrt(abar[t]!))),
    sqrt_one_minus_abar: f32([B, 1, 1, 1], Float32Array.from(ts, (t) => Math.sqrt(1 - abar[t]!))),
    timestep: f32([B], Float32Array.from(ts)),
    mask: f32([B, 1, 64, 64], Float32Array.from({ length: 2 * enc.length }, (_, i) => enc[i % enc.length]!)),
    loss_mask: f32([B, 1, S, S], Float32Array.from({ length: B * S * S }, (_, i) => lm[i % (S * S)]!)),
  };
  return { backend, trainer, encoderNames: graph.encoderWeights, feeds, ts, pixelMask };
}

async function teardown(s: Setup): Promise<void> {
  await s.trainer.release();
  await s.backend.release();
}

test('the training graph computes what sampling computes: eps_hat = UNet(z_t, t, TextEncoder(prompt with [e_a | E(mask)]))', async () => {
  const s = await setup(await folder());
  try {
    const model = s.backend.model as Sd1Model;
    const { outputs } = await s.trainer.gradients(s.feeds);
    const epsHat = outputs['eps_hat']!.data as Float32Array;
    const weights = Object.fromEntries([...s.encoderNames].map(([trainingName, name]) => [name, { dims: [...model.spatialEncoder(1).graph.initializers.get(name)!.dims], data: s.trainer.params.get(trainingName)! }]));
    const spatial = await model.spatialTokens({ ...imageSize, data: s.pixelMask }, weights);
    const injected = new Float32Array(12 * TEXT_WIDTH);
    injected.set(s.trainer.params.get('e_a')!, 0);
    injected.set(spatial, 8 * TEXT_WIDTH);
    const { context } = await model.context({ injected });
    const per = C * S * S;
    const z0 = s.feeds['z0']!.data as Float32Array;
    const noise = s.feeds['noise']!.data as Float32Array;
    const sa = s.feeds['sqrt_abar']!.data as Float32Array;
    const sb = s.feeds['sqrt_one_minus_abar']!.data as Float32Array;
    for (let k = 0; k < B; k++) {
      const zt = Float32Array.from({ length: per }, (_, i) => sa[k]! * z0[k * per + i]! + sb[k]! * noise[k * per + i]!);
      const direct = await model.predictNoise({ latents: zt, batch: 1, timesteps: [s.ts[k]!], context });
      let worst = 0;
      for (let i = 0; i < per; i++) worst = Math.max(worst, Math.abs(direct[i]! - epsHat[k * per + i]!));
      assert.ok(worst < 1e-4, `item ${k}: training graph and sampling path differ by ${worst}`);
    }
  } finally {
    await teardown(s);
  }
});

test('with a training work folder the UNet weights stay in their file (linked, not copied) and training is bit-identical; the folder is removed', async () => {
  for (const variant of [{}, { unetWeights: 'weights.pb' as const }]) {
    const dir = await folder(variant);
    const weightsFile = variant.unetWeights ?? 'model.onnx_data';
    const memory = await setup(dir);
    const workDir = path.join(root, `entraînement ${counter}`);
    const disk = await setup(dir, undefined, workDir);
    try {
      const storage = disk.backend.trainingStorage();
      assert.equal(storage.workDir, workDir);
      assert.equal(storage.externalDataFolder, path.join(dir, 'unet'));
      const trainingFolder = disk.trainer.trainingFolder!;
      const files = (await fs.readdir(trainingFolder)).sort();
      assert.deepEqual(files, [weightsFile, 'training.onnx', 'training.onnx_data'].sort());
      const [src, linked] = await Promise.all([fs.stat(path.join(dir, 'unet', weightsFile)), fs.stat(path.join(trainingFolder, weightsFile))]);
      assert.equal(linked.ino, src.ino, 'the UNet weight file is a hard link');
      // the UNet's large weights are references: neither the learning graph nor the trainer holds them
      const unetWeights = [...disk.trainer.trainingModel.graph.initializers.values()].filter((t) => t.name.startsWith('unet/') && t.external);
      assert.ok(unetWeights.length > 0 && unetWeights.every((t) => t.data === undefined));
      const losses = { memory: [] as number[], disk: [] as number[] };
      for (let step = 0; step < 3; step++) {
        losses.memory.push((await memory.trainer.step(memory.feeds)).loss);
        losses.disk.push((await disk.trainer.step(disk.feeds)).loss);
      }
      assert.deepEqual(losses.disk, losses.memory);
      for (const name of disk.trainer.trainNames) assert.deepEqual(disk.trainer.params.get(name), memory.trainer.params.get(name), name);
      await teardown(disk);
      await assert.rejects(fs.stat(trainingFolder), /ENOENT/);
      assert.deepEqual(await fs.readdir(workDir), []);
    } finally {
      await teardown(memory);
    }
  }
});

test('gradient w.r.t. e_a matches central finite differences; only e_a and E are trained, the model folder is untouched', async () => {
  const dir = await folder();
  const hashBefore = await hashFolder(dir);
  const s = await setup(dir);
  try {
    // trained: e_a and E's weights; no gradient output for any text-encoder or UNet weight
    assert.deepEqual([...s.trainer.trainNames].sort(), ['e_a', ...s.encoderNames.keys()].sort());
    const gradOutputs = s.trainer.trainingModel.graph.outputs.map((o) => o.name).filter((n) => n.endsWith('_grad'));
    assert.ok(gradOutputs.every((n) => n === 'e_a_grad' || n.startsWith('E/')), `unexpected gradients: ${gradOutputs.join(', ')}`);
    assert.ok([...s.trainer.trainingModel.graph.initializers.keys()].some((n) => n.startsWith('unet/')) && [...s.trainer.trainingModel.graph.initializers.keys()].some((n) => n.startsWith('text/')), 'both networks are in the graph, frozen');

    const { grads, loss } = await s.trainer.gradients(s.feeds);
    assert.ok(loss > 0);
    const g = grads.get('e_a')!;
    const ea = s.trainer.params.get('e_a')! as Float32Array;
    let gmax = 0;
    for (const v of g) gmax = Math.max(gmax, Math.abs(v));
    assert.ok(gmax > 0, 'e_a gets a gradient through the text encoder');
    // the largest entries of each of the 8 anomaly tokens, plus a few fixed ones
    const picks = new Set<number>([0, 5 * TEXT_WIDTH + 7, 8 * TEXT_WIDTH - 1]);
    for (let r = 0; r < 8; r++) {
      let best = r * TEXT_WIDTH;
      for (let j = 0; j < TEXT_WIDTH; j++) if (Math.abs(g[r * TEXT_WIDTH + j]!) > Math.abs(g[best]!)) best = r * TEXT_WIDTH + j;
      picks.add(best);
    }
    const h = 1e-2;
    for (const i of picks) {
      const saved = ea[i]!;
      ea[i] = saved + h;
      const up = (await s.trainer.gradients(s.feeds)).loss;
      ea[i] = saved - h;
      const down = (await s.trainer.gradients(s.feeds)).loss;
      ea[i] = saved;
      const fd = (up - down) / (2 * h);
      assert.ok(Math.abs(fd - g[i]!) <= 0.02 * gmax + 0.05 * Math.abs(g[i]!), `e_a[${i}]: analytic ${g[i]} vs finite difference ${fd} (max |grad| ${gmax})`);
    }
    // E gets a gradient too (through the spatial tokens' rows)
    const encoderGrad = [...s.encoderNames.keys()].some((n) => grads.get(n)!.some((v) => v !== 0));
    assert.ok(encoderGrad, 'E gets a gradient');
  } finally {
    await teardown(s);
  }
  assert.equal(await hashFolder(dir), hashBefore, 'the SD folder is unchanged');
});

test('masked loss: an empty mask gives loss 0 and zero gradients; otherwise the loss is the mean of m * (eps - eps_hat)^2', async () => {
  const dir = await folder();
  const empty = await setup(dir, new Float32Array(S * S));
  try {
    const r = await empty.trainer.gradients(empty.feeds);
    assert.equal(r.loss, 0);
    for (const [name, g] of r.grads) assert.ok(g.every((v) => v === 0), `${name}: gradient is not zero with an empty mask`);
  } finally {
    await teardown(empty);
  }
  const s = await setup(dir);
  try {
    const r = await s.trainer.gradients(s.feeds);
    // an independent host computation from the kept prediction: only masked cells enter
    const eps = r.outputs['eps_hat']!.data as Float32Array;
    const noise = s.feeds['noise']!.data as Float32Array;
    const m = s.feeds['loss_mask']!.data as Float32Array;
    let sum = 0;
    for (let k = 0; k < B; k++) for (let c = 0; c < C; c++) for (let p = 0; p < S * S; p++) {
      const i = (k * C + c) * S * S + p;
      sum += m[k * S * S + p]! * (noise[i]! - eps[i]!) ** 2;
    }
    const expected = sum / (B * C * S * S);
    assert.ok(Math.abs(r.loss - expected) <= 1e-5 * expected, `loss ${r.loss} vs host ${expected}`);
    // with defect cells in the mask, e_a does get a gradient
    assert.ok(r.grads.get('e_a')!.some((v) => v !== 0));
  } finally {
    await teardown(s);
  }
});

test('toy task: when a teacher e_a* makes the target exactly reachable, training e_a and E drives the loss down', async () => {
  const s = await setup(await folder());
  try {
    // the target eps* = eps_hat(z_t, t, e_a*) for a teacher e_a* = e_a + a table-scale perturbation;
    // z0 and noise are chosen so that z_t stays the same and the target is eps*: the loss is 0 at e_a*
    const ea = s.trainer.params.get('e_a')! as Float32Array;
    const start = ea.slice();
    const teacher = new Rng(5).normals(ea.length, 0.5);
    for (let i = 0; i < ea.length; i++) ea[i] = start[i]! + teacher[i]!;
    const sa = s.feeds['sqrt_abar']!.data as Float32Array;
    const sb = s.feeds['sqrt_one_minus_abar']!.data as Float32Array;
    const per = C * S * S;
    const zt = new Float32Array(B * per);
    const z0 = s.feeds['z0']!.data as Float32Array;
    const noise = s.feeds['noise']!.data as Float32Array;
    for (let i = 0; i < zt.length; i++) zt[i] = sa[Math.floor(i / per)]! * z0[i]! + sb[Math.floor(i / per)]! * noise[i]!;
    const target = (await s.trainer.gradients(s.feeds)).outputs['eps_hat']!.data as Float32Array;
    const z0Star = Float32Array.from(zt, (v, i) => (v - sb[Math.floor(i / per)]! * target[i]!) / sa[Math.floor(i / per)]!);
    const feeds = { ...s.feeds, z0: f32([B, C, S, S], z0Star), noise: f32([B, C, S, S], Float32Array.from(target)) };
    const atTeacher = (await s.trainer.gradients(feeds)).loss;
    assert.ok(atTeacher < 1e-8, `loss at the teacher ${atTeacher}`);
    ea.set(start);
    const losses: number[] = [];
    for (let i = 0; i < 40; i++) losses.push((await s.trainer.step(feeds)).loss);
    const first = losses[0]!;
    const last = losses[losses.length - 1]!;
    assert.ok(first > 100 * atTeacher, `starting loss ${first}`);
    assert.ok(last < 0.3 * first, `loss ${first} -> ${last}: ${losses.map((l) => l.toExponential(2)).join(' ')}`);
  } finally {
    await teardown(s);
  }
});

test('fp16 exports with a float scalar timestep train in float32', async () => {
  const dir = await folder({ precision: 'fp16', timestepType: 'float', timestepRank: 0, vaeOutput: 'latent_parameters', unetWeights: 'weights.pb', idsType: 'int64' });
  const s = await setup(dir);
  try {
    assert.equal(s.backend.sharedTimestep, true);
    assert.ok(![...s.trainer.trainingModel.graph.initializers.values()].some((t) => t.dtype === 'float16'), 'no float16 left in the training graph');
    const model = s.backend.model as Sd1Model;
    const r = await s.trainer.gradients(s.feeds);
    assert.ok(Number.isFinite(r.loss) && r.loss > 0);
    assert.ok(r.grads.get('e_a')!.some((v) => v !== 0));
    // the float32 graph computes what the fp16 sampling path approximates
    const weights = Object.fromEntries([...s.encoderNames].map(([trainingName, name]) => [name, { dims: [...model.spatialEncoder(1).graph.initializers.get(name)!.dims], data: s.trainer.params.get(trainingName)! }]));
    const injected = new Float32Array(12 * TEXT_WIDTH);
    injected.set(s.trainer.params.get('e_a')!, 0);
    injected.set(await model.spatialTokens({ ...imageSize, data: s.pixelMask }, weights), 8 * TEXT_WIDTH);
    const { context } = await model.context({ injected });
    const per = C * S * S;
    const z0 = s.feeds['z0']!.data as Float32Array;
    const noise = s.feeds['noise']!.data as Float32Array;
    const sa = (s.feeds['sqrt_abar']!.data as Float32Array)[0]!;
    const sb = (s.feeds['sqrt_one_minus_abar']!.data as Float32Array)[0]!;
    const zt = Float32Array.from({ length: per }, (_, i) => sa * z0[i]! + sb * noise[i]!);
    const direct = await model.predictNoise({ latents: zt, batch: 1, timesteps: [700], context });
    const epsHat = r.outputs['eps_hat']!.data as Float32Array;
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < per; i++) {
      worst = Math.max(worst, Math.abs(direct[i]! - epsHat[i]!));
      scale = Math.max(scale, Math.abs(epsHat[i]!));
    }
    assert.ok(worst < 0.02 * scale, `fp16 sampling and float32 training differ by ${worst} (scale ${scale})`);
  } finally {
    await teardown(s);
  }
});

test('a folder learning cannot compose (text encoder and UNet in different opsets) is refused naming both files', async () => {
  const dir = await folder();
  const textPath = path.join(dir, 'text_encoder', 'model.onnx');
  const text = await loadModel(textPath);
  text.opsetImports = text.opsetImports.map((o) => (o.domain === '' ? { ...o, version: 18 } : o));
  await saveModel(text, textPath);
  await assert.rejects(openDefectBackend(dir, { imageSize }), (e) => isUserError(e) && e.code === 'sd-learning-opset' && e.message.includes(textPath) && e.message.includes(path.join(dir, 'unet', 'model.onnx')));
});

test('a full-size UNet (over the 2 GiB in-memory graph limit) is refused naming its file; a small one passes', () => {
  const b = new GraphBuilder('huge');
  const x = b.input('x', 'float32', [1]);
  b.output(b.op('Identity', [x]), 'y');
  const model = b.toModel();
  const unetFile = path.join('C:', 'modèles', 'sd 15', 'unet', 'model.onnx');
  checkInMemoryGraphSize(model, unetFile);
  // 860M float32 parameters, as SD 1.5's UNet (dims only: no data is allocated)
  model.graph.initializers.set('w', { name: 'w', dtype: 'float32', dims: [860, 1_000_000] });
  assert.throws(() => checkInMemoryGraphSize(model, unetFile), (e) => isUserError(e) && e.code === 'sd-learning-too-large' && e.message.includes(unetFile) && /3\.20 GiB/.test(e.message));
});
