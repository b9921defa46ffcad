import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSd1Folder } from '../../../../src/engine/models/sd1';
import { loadModel, saveModel } from '../../../../src/engine/onnx/io';
import { createSession } from '../../../../src/engine/runtime';
import { Rng } from '../../../../src/shared/random';
import { BASE_VARIANT, IMAGE_SIZE, writeTinySd1Folder, type Sd1Variant } from '../../../fixtures/sd1';
import { TEXT_WIDTH } from '../../../fixtures/sd1/models';

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sd1 adapter ü '));
after(() => fs.rm(root, { recursive: true, force: true }));
let counter = 0;
async function folder(variant: Partial<Sd1Variant> = {}): Promise<string> {
  const dir = path.join(root, `modèle ${++counter}`);
  await writeTinySd1Folder(dir, { ...BASE_VARIANT, ...variant });
  return dir;
}
const options = { imageSize: { width: IMAGE_SIZE, height: IMAGE_SIZE } };

async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(`${path.relative(dir, path.join(e.parentPath, e.name))}:${(await fs.stat(path.join(e.parentPath, e.name))).mtimeMs}`);
  }
  return out.sort();
}

test('bad folders fail before any compute, naming what is wrong', async () => {
  await assert.rejects(loadSd1Folder(path.join(root, 'nowhere')), (e: Error & { code?: string }) => e.code === 'sd-not-folder');
  const empty = path.join(root, 'empty folder');
  await fs.mkdir(empty);
  await assert.rejects(loadSd1Folder(empty), /no model_index\.json/);

  const noUnet = await folder();
  await fs.rm(path.join(noUnet, 'unet', 'model.onnx'));
  await assert.rejects(loadSd1Folder(noUnet, options), (e: Error & { code?: string }) => e.code === 'sd-missing-file' && e.message.includes(path.join('unet', 'model.onnx')));

  const noWeights = await folder({ unetWeights: 'weights.pb' });
  await fs.rm(path.join(noWeights, 'unet', 'weights.pb'));
  await assert.rejects(loadSd1Folder(noWeights, options), (e: Error & { code?: string }) => e.code === 'onnx-external-missing' && e.message.includes('weights.pb'));

  // an SDXL-style extra UNet input is not understood: its name and shape are in the message
  const extra = await folder();
  const unetPath = path.join(extra, 'unet', 'model.onnx');
  const unet = await loadModel(unetPath);
  unet.graph.inputs.push({ name: 'text_embeds', dtype: 'float32', shape: ['batch_size', 1280] });
  await saveModel(unet, unetPath);
  await assert.rejects(loadSd1Folder(extra, options), /'text_embeds' \(float32 \[batch_size, 1280\]\) is not understood/);
});

test('context: learned vectors replace the placeholder, the rest is the text encoder on the prompt', async () => {
  const dir = await folder();
  const before = await listing(dir);
  const model = await loadSd1Folder(dir, options);
  try {
    assert.equal(model.facts.kind, 'sd1');
    assert.equal(model.facts.tokenWidth, TEXT_WIDTH);
    assert.equal(model.facts.contextLength, 77);
    assert.deepEqual(model.facts.latentSize, { width: 8, height: 8 });
    assert.equal(model.facts.latentScale, 0.18215);
    assert.equal(model.facts.schedule.betaSchedule, 'scaled_linear');
    assert.deepEqual(model.facts.attentionGrids.map((g) => g.width), [8, 4, 2, 4, 8]);

    const injected = new Rng(3).normals(12 * TEXT_WIDTH);
    const cond = await model.context({ injected });
    // "<start> a photo of a <12 slots> <end>": the slots are positions 5..16
    assert.deepEqual(Array.from(cond.anomalyColumns.slice(0, 19)), [0, 0, 0, 0, 0, ...new Array(12).fill(1), 0, 0]);
    assert.equal(cond.context.length, 77 * TEXT_WIDTH);

    // the same context from the exported text encoder, when the slots hold an ordinary word's
    // embedding: inject 'defect' 12 times, compare with the prompt spelled out in words
    const defect = model.tokenEmbedding('defect');
    const asWords = await model.context({ prompt: 'a photo of a defect defect defect defect defect defect defect defect defect defect defect defect' });
    const viaSlots = await model.context({ injected: Float32Array.from({ length: 12 * TEXT_WIDTH }, (_, i) => defect[i % TEXT_WIDTH]!) });
    // input_ids differ in the slots ('*' vs 'defect'), which only the pooled output reads
    assert.deepEqual(viaSlots.context, asWords.context);
    assert.deepEqual(Array.from(asWords.anomalyColumns), new Array(77).fill(0));

    const uncond = await model.context(null);
    const empty = await model.context({ prompt: '' });
    assert.deepEqual(uncond.context, empty.context);
    assert.notDeepEqual(uncond.context, cond.context);
    await assert.rejects(model.context({ prompt: 'no placeholder', injected }), /placeholder '\*' exactly once/);
    await assert.rejects(model.context({ injected: new Float32Array(TEXT_WIDTH + 1) }), /whole 32-wide token vectors/);
  } finally {
    await model.release();
  }
  assert.deepEqual(await listing(dir), before, 'the model folder is only read');
});

test('encode takes the posterior mean of latent_parameters and applies the configured latent scale', async () => {
  const dir = await folder({ vaeOutput: 'latent_parameters', scalingFactor: 0.5 });
  const model = await loadSd1Folder(dir, options);
  const images = new Rng(5).uniforms(2 * 3 * IMAGE_SIZE * IMAGE_SIZE, -1, 1);
  try {
    assert.equal(model.facts.latentScale, 0.5);
    const z = await model.encode(images, 2);
    const raw = await createSession(path.join(dir, 'vae_encoder', 'model.onnx'));
    const params = (await raw.run({ sample: { dtype: 'float32', dims: [2, 3, IMAGE_SIZE, IMAGE_SIZE], data: images } })).latent_parameters!.data as Float32Array;
    await raw.release();
    const plane = 4 * 64;
    const expected = new Float32Array(2 * plane);
    for (let b = 0; b < 2; b++) for (let k = 0; k < plane; k++) expected[b * plane + k] = 0.5 * params[b * 2 * plane + k]!;
    assert.deepEqual(z, expected);
    const decoded = await model.decode(z, 2);
    assert.equal(decoded.length, 2 * 3 * IMAGE_SIZE * IMAGE_SIZE);
  } finally {
    await model.release();
  }
});

test('predictNoise: a scalar-timestep UNet refuses mixed timesteps in one batch; AAR ones equal no AAR', async () => {
  const model = await loadSd1Folder(await folder({ timestepRank: 0, timestepType: 'float' }), options);
  try {
    const rng = new Rng(8);
    const request = { latents: rng.normals(2 * 256), batch: 2, timesteps: [400, 400], context: rng.normals(2 * 77 * TEXT_WIDTH) };
    const plain = await model.predictNoise(request);
    const ones = await model.predictNoise({ ...request, attentionWeights: new Float32Array(128).fill(1), attentionColumns: new Float32Array(154).fill(1) });
    assert.deepEqual(ones, plain);
    const weighted = await model.predictNoise({ ...request, attentionWeights: new Float32Array(128).fill(1.5), attentionColumns: new Float32Array(154).fill(1) });
    assert.notDeepEqual(weighted, plain);
    await assert.rejects(model.predictNoise({ ...request, timesteps: [400, 300] }), /one scalar timestep/);
  } finally {
    await model.release();
  }
});
