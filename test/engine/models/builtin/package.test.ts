import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { makeTempDir } from '../../../fixtures/temp-dir';
import { TINY, tinyPackageSpec, writeTinyPackage } from '../../../fixtures/builtin/tiny-package';
import { loadBuiltinModel, type BuiltinModel } from '../../../../src/engine/models/builtin/load';
import { writeBuiltinPackage } from '../../../../src/engine/models/builtin/export';
import { parseManifest } from '../../../../src/engine/models/builtin/manifest';
import { loadModel, detectModelFolder } from '../../../../src/engine/models/load';
import { generateBlended, type BlendedRequest } from '../../../../src/engine/diffusion/blended';
import { Rng } from '../../../../src/shared/random';
import { createSession } from '../../../../src/engine/runtime';
import { writeTinySd1Folder } from '../../../fixtures/sd1';
import { fromHalfBits, toHalfBits } from '../../../../src/engine/models/sd1/float16';

const tmp = makeTempDir('builtin-pkg');
const inline = join(tmp.dir, 'tiny model (inline)');
const external = join(tmp.dir, 'modèle externe');
let model: BuiltinModel;

before(async () => {
  await writeTinyPackage(inline, 7);
  await writeBuiltinPackage(external, tinyPackageSpec(7, { weights: 'external' }));
  model = await loadBuiltinModel(inline);
});
after(async () => {
  await model.release();
  tmp.cleanup();
});

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

test('the exporter writes every file with its SHA-256 and a manifest that parses back', () => {
  const json = JSON.parse(readFileSync(join(inline, 'manifest.json'), 'utf8'));
  // the schedule is stored with diffusers' keys
  assert.equal(json.schedule.beta_schedule, 'scaled_linear');
  const m = parseManifest(json, 'manifest.json');
  assert.deepEqual(m.imageSize, { width: TINY.image, height: TINY.image });
  for (const f of Object.values(m.files)) {
    assert.equal(sha(join(inline, f.path)), f.sha256, f.path);
    assert.equal(readFileSync(join(inline, f.path)).length, f.bytes);
  }
  // the token table holds exactly the spec's values
  const table = new Float32Array(new Uint8Array(readFileSync(join(inline, 'token_table.bin'))).buffer);
  assert.deepEqual(table, tinyPackageSpec(7).tokenTable);
  // nothing else is left behind: no temp folders beside it
  assert.deepEqual(readdirSync(tmp.dir).filter((n) => n.startsWith('.')), []);
});

test('facts come from the manifest; the content hash depends on the files only', async () => {
  const f = model.facts;
  assert.equal(f.kind, 'builtin');
  assert.equal(f.contextLength, 1 + TINY.defectTokens + TINY.spatialTokens);
  assert.deepEqual(f.latentSize, { width: TINY.latent, height: TINY.latent });
  assert.equal(f.latentScale, 0.5);
  assert.equal(f.hasUnconditional, true);
  assert.match(f.contentHash, /^[0-9a-f]{64}$/);
  const again = join(tmp.dir, 'same seed');
  await writeTinyPackage(again, 7);
  const other = join(tmp.dir, 'other seed');
  await writeTinyPackage(other, 8);
  const [a, b] = [await loadBuiltinModel(again), await loadBuiltinModel(other)];
  assert.equal(a.facts.contentHash, f.contentHash);
  assert.notEqual(b.facts.contentHash, f.contentHash);
  await a.release();
  await b.release();
});

test('a declared guidance rescale reads back into the facts, changes the hash and is what generation uses by default', async () => {
  const dir = join(tmp.dir, 'rescaled');
  await writeBuiltinPackage(dir, tinyPackageSpec(7, { guidanceRescale: 0.7 }));
  const rescaled = await loadBuiltinModel(dir);
  try {
    assert.equal(rescaled.facts.guidanceRescale, 0.7);
    assert.equal(model.facts.guidanceRescale, undefined);
    assert.notEqual(rescaled.facts.contentHash, model.facts.contentHash, 'same files, other generation default: other hash');
    const req = { ...request(21, true), guidanceScale: 3 };
    const byDefault = await generateBlended(rescaled, req);
    assert.equal(byDefault.settings.guidanceRescale, 0.7);
    assert.deepEqual(byDefault.image.data, (await generateBlended(model, { ...req, guidanceRescale: 0.7 })).image.data, 'the default is the explicit 0.7');
    const plain = await generateBlended(rescaled, { ...req, guidanceRescale: 0 });
    assert.deepEqual(plain.image.data, (await generateBlended(model, req)).image.data, 'a request overrides it');
    assert.notDeepEqual(plain.image.data, byDefault.image.data, 'the rescale reaches the output');
  } finally {
    await rescaled.release();
  }
  const json = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  assert.throws(() => parseManifest({ ...json, guidanceRescale: 1.5 }, 'manifest.json'), /'guidanceRescale' must be a number in \[0, 1\]/);
});

test('external weights are listed and hashed, and compute exactly what inline weights do', async () => {
  const m = JSON.parse(readFileSync(join(external, 'manifest.json'), 'utf8'));
  assert.ok(m.externalData.length >= 1);
  for (const f of m.externalData) assert.equal(sha(join(external, f.path)), f.sha256);
  assert.ok(readFileSync(join(external, 'unet.onnx')).length < readFileSync(join(inline, 'unet.onnx')).length / 2);
  const ext = await loadBuiltinModel(external);
  const rng = new Rng(3);
  const image = rng.uniforms(3 * 64 * 64, -1, 1);
  assert.deepEqual(await ext.encode(image, 1), await model.encode(image, 1));
  await ext.release();
});

test('float16 storage shrinks the files and computes exactly what float32 does with half-rounded weights', async () => {
  const half = join(tmp.dir, 'half');
  await writeBuiltinPackage(half, tinyPackageSpec(7, { precision: 'float16' }));
  assert.ok(readFileSync(join(half, 'unet.onnx')).length < 0.7 * readFileSync(join(inline, 'unet.onnx')).length);
  // reference: the same graphs with every large weight rounded to binary16 in plain arithmetic
  const spec = tinyPackageSpec(7);
  for (const graph of Object.values(spec.graphs)) {
    for (const t of graph.graph.initializers.values()) {
      if (t.dtype === 'float32' && t.data instanceof Float32Array && t.data.length >= 64) t.data = Float32Array.from(t.data, (v) => fromHalfBits(toHalfBits(v)));
    }
  }
  const rounded = join(tmp.dir, 'rounded');
  await writeBuiltinPackage(rounded, spec);
  const [h, r] = [await loadBuiltinModel(half), await loadBuiltinModel(rounded)];
  const rng = new Rng(6);
  const image = rng.uniforms(3 * 64 * 64, -1, 1);
  assert.deepEqual(await h.encode(image, 1), await r.encode(image, 1));
  const L = h.facts.contextLength * h.facts.tokenWidth;
  const req = { latents: rng.normals(4 * 8 * 8), batch: 1, timesteps: [400], context: rng.normals(L) };
  assert.deepEqual(await h.predictNoise(req), await r.predictNoise(req));
  assert.notDeepEqual(await h.predictNoise(req), await model.predictNoise(req));
  await h.release();
  await r.release();
});

test('encode applies the latent scale and decode undoes it, against the raw VAE graphs', async () => {
  const rng = new Rng(4);
  const images = rng.uniforms(2 * 3 * 64 * 64, -1, 1);
  const z = await model.encode(images, 2);
  const zDims = [2, TINY.latentChannels, TINY.latent, TINY.latent];
  const encoder = await createSession(join(inline, 'vae_encoder.onnx'));
  const raw = (await encoder.run({ image: { dtype: 'float32', dims: [2, 3, 64, 64], data: images } })).latent!.data as Float32Array;
  assert.deepEqual(z, Float32Array.from(raw, (v) => v * 0.5));
  const decoded = await model.decode(z, 2);
  const decoder = await createSession(join(inline, 'vae_decoder.onnx'));
  const direct = (await decoder.run({ latent: { dtype: 'float32', dims: zDims, data: raw } })).image!.data as Float32Array;
  for (let k = 0; k < direct.length; k++) assert.ok(Math.abs(direct[k]! - decoded[k]!) <= 1e-6, `pixel value ${k}`);
  await encoder.release();
  await decoder.release();
  // an item's result does not depend on what else is in the batch
  const first = await model.encode(images.subarray(0, 3 * 64 * 64), 1);
  for (let k = 0; k < first.length; k++) assert.ok(Math.abs(first[k]! - z[k]!) <= 1e-5 * (1 + Math.abs(first[k]!)), `latent ${k}`);
});

test('predictNoise: a batch equals its items run one by one, and maxBatch splitting changes nothing', async () => {
  const rng = new Rng(5);
  const per = TINY.latentChannels * TINY.latent * TINY.latent;
  const L = model.facts.contextLength;
  const D = model.facts.tokenWidth;
  const batch = 3;
  const latents = rng.normals(batch * per);
  const context = rng.normals(batch * L * D);
  const timesteps = [999, 500, 1];
  const all = await model.predictNoise({ latents, batch, timesteps, context });
  for (let b = 0; b < batch; b++) {
    const one = await model.predictNoise({ latents: latents.subarray(b * per, (b + 1) * per), batch: 1, timesteps: [timesteps[b]!], context: context.subarray(b * L * D, (b + 1) * L * D) });
    for (let k = 0; k < per; k++) assert.ok(Math.abs(one[k]! - all[b * per + k]!) <= 1e-5 * (1 + Math.abs(one[k]!)), `item ${b} value ${k}`);
  }
  const split = await loadBuiltinModel(inline, { maxBatch: 2 });
  const chunked = await split.predictNoise({ latents, batch, timesteps, context });
  for (let k = 0; k < chunked.length; k++) assert.ok(Math.abs(chunked[k]! - all[k]!) <= 1e-5 * (1 + Math.abs(all[k]!)));
  await split.release();
  await assert.rejects(model.predictNoise({ latents, batch: 2, timesteps: [1, 2], context }), /latents has .* values; batch 2 needs/);
});

function request(seed: number, aar: boolean): BlendedRequest {
  const rng = new Rng(11);
  const normal = { width: 64, height: 64, channels: 3 as const, data: Uint8Array.from({ length: 64 * 64 * 3 }, () => 90 + rng.int(60)) };
  const mask = new Uint8Array(64 * 64);
  for (let y = 16; y < 36; y++) for (let x = 24; x < 44; x++) mask[y * 64 + x] = 255;
  return {
    normal,
    mask,
    conditioning: { prompt: 'wood', defect: 'scratch', mask: { width: 64, height: 64, data: mask } },
    seed,
    sampler: { sampler: 'ddim', steps: 6, eta: 1 },
    guidanceScale: 2,
    aar: { enabled: aar, clamp: [1, 1.5], dilationRadius: 0 },
  };
}

test('generateBlended runs end to end: deterministic, background exact, defect painted inside the mask', async () => {
  const req = request(21, true);
  const a = await generateBlended(model, req);
  const b = await generateBlended(model, request(21, true));
  assert.deepEqual(a.image.data, b.image.data);
  assert.equal(a.settings.modelHash, model.facts.contentHash);
  const c = await generateBlended(model, request(22, true));
  assert.notDeepEqual(c.image.data, a.image.data);
  let changedInside = 0;
  for (let p = 0; p < 64 * 64; p++) {
    const y = Math.floor(p / 64), x = p % 64;
    const far = y < 8 || y >= 44 || x < 16 || x >= 52; // well outside the mask's feathered seam
    for (let ch = 0; ch < 3; ch++) {
      if (far) assert.equal(a.image.data[p * 3 + ch], req.normal.data[p * 3 + ch], `background pixel ${x},${y}`);
      else if (req.mask[p] && a.image.data[p * 3 + ch] !== req.normal.data[p * 3 + ch]) changedInside++;
    }
  }
  assert.ok(changedInside > 400 * 3 * 0.5, `only ${changedInside} channel values changed inside the mask`);
  // AAR on vs off: the re-weighting reaches the UNet (different output from step 2 on)
  const off = await generateBlended(model, request(21, false));
  assert.notDeepEqual(off.image.data, a.image.data);
});

test('loadModel dispatches on the folder kind and names what it looked for', async () => {
  assert.equal(await detectModelFolder(inline), 'builtin');
  const m = await loadModel(inline);
  assert.equal(m.facts.contentHash, model.facts.contentHash);
  await m.release();
  const sd = join(tmp.dir, 'sd 1.x export');
  await writeTinySd1Folder(sd);
  assert.equal(await detectModelFolder(sd), 'sd1');
  const sdModel = await loadModel(sd, { intraOpNumThreads: 1 });
  assert.equal(sdModel.facts.kind, 'sd1');
  await sdModel.release();
  await assert.rejects(loadModel(tmp.dir), (e: Error) => /not a model folder .*manifest\.json.*model_index\.json/.test(e.message) && e.message.includes(tmp.dir));
  await assert.rejects(loadModel(join(tmp.dir, 'nope')), /no such model folder/);
});
