import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../../../fixtures/temp-dir';
import { tinyPackageSpec, tinyUnetWithoutAar, writeTinyPackage } from '../../../fixtures/builtin/tiny-package';
import { loadBuiltinModel } from '../../../../src/engine/models/builtin/load';
import { writeBuiltinPackage } from '../../../../src/engine/models/builtin/export';
import { isUserError } from '../../../../src/shared/errors';
import { buildTinyUNet } from '../../../../src/engine/nn';

const tmp = makeTempDir('builtin-err');
const good = join(tmp.dir, 'good');
let n = 0;

before(() => writeTinyPackage(good, 7));
after(() => tmp.cleanup());

/** A copy of the good package, changed by `damage`. */
function damaged(damage: (dir: string) => void): string {
  const dir = join(tmp.dir, `bad ${++n}`);
  cpSync(good, dir, { recursive: true });
  damage(dir);
  return dir;
}

function editManifest(dir: string, edit: (m: Record<string, unknown>) => void): void {
  const file = join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(file, 'utf8'));
  edit(m);
  writeFileSync(file, JSON.stringify(m));
}

async function loadError(dir: string): Promise<Error & { code?: string }> {
  try {
    const m = await loadBuiltinModel(dir);
    await m.release();
  } catch (e) {
    assert.ok(isUserError(e), `expected a UserError, got ${String(e)}`);
    return e as Error & { code: string };
  }
  assert.fail(`loading ${dir} succeeded`);
}

test('a missing file is named', async () => {
  const dir = damaged((d) => rmSync(join(d, 'unet.onnx')));
  const e = await loadError(dir);
  assert.equal(e.code, 'MODEL_FILE_MISSING');
  assert.ok(e.message.includes(join(dir, 'unet.onnx')) && e.message.includes('unet file is missing'), e.message);
});

test('a changed byte is caught by the hash, a truncated file by its size, before any compute', async () => {
  const flipped = damaged((d) => {
    const f = join(d, 'token_table.bin');
    const bytes = readFileSync(f);
    bytes[10] ^= 1;
    writeFileSync(f, bytes);
  });
  const e1 = await loadError(flipped);
  assert.equal(e1.code, 'MODEL_FILE_HASH');
  assert.match(e1.message, /token_table\.bin: the model's token_table file has SHA-256 [0-9a-f]{64}; manifest\.json says/);
  const cut = damaged((d) => {
    const f = join(d, 'vae_decoder.onnx');
    writeFileSync(f, readFileSync(f).subarray(0, 100));
  });
  const e2 = await loadError(cut);
  assert.equal(e2.code, 'MODEL_FILE_SIZE');
  assert.match(e2.message, /vae_decoder\.onnx: .* has 100 bytes; manifest\.json says \d+/);
});

test('bad manifests: not JSON, missing keys, wrong format, newer version, no folder', async () => {
  const notJson = damaged((d) => writeFileSync(join(d, 'manifest.json'), '{ "format": '));
  assert.match((await loadError(notJson)).message, /manifest\.json: not valid JSON/);
  const missing = damaged((d) => editManifest(d, (m) => {
    delete m.latent;
    (m.tokens as Record<string, unknown>).width = 0;
  }));
  const e = await loadError(missing);
  assert.equal(e.code, 'MODEL_MANIFEST_INVALID');
  assert.match(e.message, /'latent' must be an object/);
  assert.match(e.message, /'tokens\.width' must be an integer >= 1/);
  const other = damaged((d) => editManifest(d, (m) => (m.format = 'something-else')));
  assert.match((await loadError(other)).message, /not a DefectForge model manifest/);
  const newer = damaged((d) => editManifest(d, (m) => (m.formatVersion = 99)));
  assert.match((await loadError(newer)).message, /model format version 99 is newer than this DefectForge reads \(1\); update DefectForge/);
  const escape = damaged((d) => editManifest(d, (m) => ((m.files as Record<string, Record<string, unknown>>).unet!.path = '../unet.onnx')));
  assert.match((await loadError(escape)).message, /'files\.unet\.path' must be a relative path inside the model folder/);
  const empty = join(tmp.dir, 'empty folder');
  cpSync(join(good, 'token_table.bin'), join(empty, 'x.bin'), { recursive: true });
  assert.equal((await loadError(empty)).code, 'MODEL_NOT_FOUND');
});

test('a graph that breaks the I/O contract is refused by the exporter, and by the loader', async () => {
  // the UNet without the AAR inputs
  const spec = tinyPackageSpec(7, { graphs: { ...tinyPackageSpec(7).graphs, unet: tinyUnetWithoutAar(9) } });
  await assert.rejects(writeBuiltinPackage(join(tmp.dir, 'no aar'), spec), /unet graph .*inputs are \[sample, timestep, context\]; the package format wants \[sample, timestep, context, aar_weight, aar_columns\]/);
  // a fixed batch
  const fixed = buildTinyUNet({ batch: 1, latentChannels: 4, size: 8, channels: [8], attentionAt: [8], contextTokens: 13, contextDim: 16, groups: 4, seed: 1 });
  await assert.rejects(writeBuiltinPackage(join(tmp.dir, 'fixed'), tinyPackageSpec(7, { graphs: { ...tinyPackageSpec(7).graphs, vae_encoder: { ...fixed.model, graph: { ...fixed.model.graph, inputs: [{ name: 'image', dtype: 'float32', shape: [1, 3, 64, 64] }] } } } })), /fixed batch 1; the batch must be symbolic/);
  assert.ok(!readdirSync(tmp.dir).some((f) => f.startsWith('.')), 'a failed export leaves no temp folder');
  // swap in a graph with the wrong I/O behind the exporter's back (hashes fixed up): the loader names it
  const swapped = damaged(() => undefined);
  cpSync(join(good, 'vae_decoder.onnx'), join(swapped, 'spatial_encoder.onnx'));
  editManifest(swapped, (m) => {
    const files = m.files as Record<string, Record<string, unknown>>;
    files.spatial_encoder = { ...files.vae_decoder, path: 'spatial_encoder.onnx' };
  });
  const e = await loadError(swapped);
  assert.equal(e.code, 'MODEL_CONTRACT');
  assert.match(e.message, /spatial_encoder\.onnx: the spatial_encoder graph has inputs \[latent\]/);
});

test('vocabulary problems and an existing target are refused before anything is written', async () => {
  const vocabulary = { ...tinyPackageSpec(7).vocabulary };
  delete vocabulary['defect:hole:3'];
  await assert.rejects(writeBuiltinPackage(join(tmp.dir, 'v'), tinyPackageSpec(7, { vocabulary })), /defect family 'hole' lacks rows 'defect:hole:3'/);
  await assert.rejects(writeBuiltinPackage(join(tmp.dir, 'v'), tinyPackageSpec(7, { vocabulary: { ...vocabulary, '<null>': 500 } })), /'<null>' points at row 500; the table has 19 rows/);
  await assert.rejects(writeTinyPackage(good, 8), /already exists; pass overwrite/);
  // overwrite replaces it in one step
  const target = join(tmp.dir, 'replace me');
  await writeTinyPackage(target, 7);
  const first = readFileSync(join(target, 'unet.onnx'));
  await writeTinyPackage(target, 8, { overwrite: true });
  assert.notDeepEqual(readFileSync(join(target, 'unet.onnx')), first);
  const m = await loadBuiltinModel(target);
  await m.release();
  assert.deepEqual(readdirSync(tmp.dir).filter((f) => f.startsWith('.')), []);
});
