import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeTempDir } from '../../../fixtures/temp-dir';
import { TINY, tinyPackageSpec, tinySpatialEncoder, writeTinyPackage } from '../../../fixtures/builtin/tiny-package';
import { loadBuiltinModel, type BuiltinModel } from '../../../../src/engine/models/builtin/load';
import { Rng } from '../../../../src/shared/random';

const tmp = makeTempDir('builtin-ctx');
let model: BuiltinModel;
const table = tinyPackageSpec(7).tokenTable;
const vocab = tinyPackageSpec(7).vocabulary;
const W = TINY.width;
const row = (label: string): Float32Array => table.subarray(vocab[label]! * W, (vocab[label]! + 1) * W);
const slot = (ctx: Float32Array, i: number): Float32Array => ctx.subarray(i * W, (i + 1) * W);

const mask = { width: 64, height: 64, data: new Uint8Array(64 * 64) };
for (let y = 10; y < 30; y++) for (let x = 5; x < 50; x++) mask.data[y * 64 + x] = 255;

before(async () => {
  await writeTinyPackage(join(tmp.dir, 'pkg'), 7);
  model = await loadBuiltinModel(join(tmp.dir, 'pkg'));
});
after(async () => {
  await model.release();
  tmp.cleanup();
});

test('the unconditional context is <null> in every slot and selects no column', async () => {
  const { context, anomalyColumns } = await model.context(null);
  assert.equal(context.length, TINY.contextLength * W);
  for (let i = 0; i < TINY.contextLength; i++) assert.deepEqual(slot(context, i), row('<null>'));
  assert.deepEqual(anomalyColumns, new Float32Array(TINY.contextLength));
});

test('family + defect family + mask: family row, the 8 defect rows, the spatial encoder on the mask', async () => {
  const { context, anomalyColumns } = await model.context({ prompt: 'wood', defect: 'scratch', mask });
  assert.deepEqual(slot(context, 0), row('family:wood'));
  for (let i = 0; i < TINY.defectTokens; i++) assert.deepEqual(slot(context, 1 + i), row(`defect:scratch:${i}`));
  const spatial = await model.spatialTokens(mask);
  assert.deepEqual(context.subarray((1 + TINY.defectTokens) * W), spatial);
  // the spatial tokens depend on the mask
  const other = { ...mask, data: Uint8Array.from(mask.data, (v) => 255 - v) };
  assert.notDeepEqual(await model.spatialTokens(other), spatial);
  const expectedCols = new Float32Array(TINY.contextLength);
  expectedCols.fill(1, 1, 1 + TINY.defectTokens);
  assert.deepEqual(anomalyColumns, expectedCols);
  // 'family:wood' spelled out is the same family
  assert.deepEqual((await model.context({ prompt: 'family:wood' })).context.subarray(0, W), row('family:wood'));
});

test('injected vectors fill the anomaly slots (8) or anomaly then spatial slots (12)', async () => {
  const rng = new Rng(9);
  const ea = rng.normals(TINY.defectTokens * W);
  const eaes = rng.normals((TINY.defectTokens + TINY.spatialTokens) * W);
  const eight = await model.context({ prompt: 'metal', injected: ea, mask });
  assert.deepEqual(eight.context.subarray(W, (1 + TINY.defectTokens) * W), ea);
  assert.deepEqual(eight.context.subarray((1 + TINY.defectTokens) * W), await model.spatialTokens(mask));
  const twelve = await model.context({ prompt: 'metal', injected: eaes, mask });
  assert.deepEqual(twelve.context.subarray(W), eaes);
  // without a prompt, defect or mask the slots are <null>
  const bare = await model.context({ injected: ea });
  assert.deepEqual(slot(bare.context, 0), row('<null>'));
  for (let i = 1 + TINY.defectTokens; i < TINY.contextLength; i++) assert.deepEqual(slot(bare.context, i), row('<null>'));
});

test('a trained spatial encoder (weights by name) replaces the package encoder', async () => {
  const trained = tinySpatialEncoder(1234); // same graph, other random weights
  const weights = Object.fromEntries([...trained.graph.initializers].filter(([, t]) => t.dtype === 'float32').map(([n, t]) => [n, { dims: t.dims, data: t.data as Float32Array }]));
  const own = await model.spatialTokens(mask);
  const theirs = await model.spatialTokens(mask, weights);
  assert.notDeepEqual(theirs, own);
  assert.deepEqual(await model.spatialTokens(mask, weights), theirs);
  await assert.rejects(model.spatialTokens(mask, { 'no.such.weight': { dims: [1], data: new Float32Array(1) } }), /'no\.such\.weight' is not a parameter of .*spatial_encoder\.onnx/);
  // a float16-stored package takes the same float32 weights by their original names
  await writeTinyPackage(join(tmp.dir, 'half'), 7, { precision: 'float16' });
  const half = await loadBuiltinModel(join(tmp.dir, 'half'));
  assert.deepEqual(await half.spatialTokens(mask, weights), theirs);
  await half.release();
  const [name, first] = Object.entries(weights)[0]!;
  await assert.rejects(model.spatialTokens(mask, { [name]: { dims: [first.data.length + 1], data: new Float32Array(first.data.length + 1) } }), /has dims/);
});

test('unknown labels and wrong sizes are clear errors listing what is known', async () => {
  await assert.rejects(model.context({ prompt: 'granite' }), (e: Error & { code?: string }) => e.code === 'UNKNOWN_FAMILY' && /no family 'granite'; known: metal, wood/.test(e.message));
  await assert.rejects(model.context({ defect: 'dent' }), /no defect family 'dent'; known: hole, scratch/);
  await assert.rejects(model.context({ injected: new Float32Array(5 * W) }), /got 5; the model takes 8 anomaly vectors, or 12/);
  await assert.rejects(model.context({ injected: new Float32Array(W + 1) }), /not rows of the model's token width 16/);
  await assert.rejects(model.context({ mask: { width: 32, height: 32, data: new Uint8Array(1024) } }), /mask is 32x32; model 'tiny-random' works at 64x64/);
});
