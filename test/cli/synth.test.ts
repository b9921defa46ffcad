import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { makeTempDir } from '../fixtures/temp-dir';
import { lines, runBin } from './run-bin';
import { writeTinyPackage, tinySpatialEncoder, TINY } from '../fixtures/builtin/tiny-package';
import { encodePng, readImage } from '../../src/engine/imaging';
import { loadBuiltinModel } from '../../src/engine/models/builtin/load';
import { writeEmbedding } from '../../src/engine/anomaly/embedding-file';
import { runCli } from '../../src/cli/main';
import { writeTinySd1Folder } from '../fixtures/sd1';
import { Rng } from '../../src/shared/random';

const tmp = makeTempDir('synth');
const modelDir = join(tmp.dir, 'modèle tiny');
const normalPath = join(tmp.dir, 'normal ok.png');
const maskPath = join(tmp.dir, 'masque 1.png');
const smallPath = join(tmp.dir, 'small.png');
const smallMaskPath = join(tmp.dir, 'small mask.png');
let modelHash = '';
const normal = new Uint8Array(64 * 64 * 3);
const mask = new Uint8Array(64 * 64);

before(async () => {
  mkdirSync(tmp.dir, { recursive: true });
  await writeTinyPackage(modelDir, 7);
  const model = await loadBuiltinModel(modelDir);
  modelHash = model.facts.contentHash;
  await model.release();
  const rng = new Rng(2);
  for (let i = 0; i < normal.length; i++) normal[i] = 80 + rng.int(80);
  for (let y = 20; y < 40; y++) for (let x = 10; x < 30; x++) mask[y * 64 + x] = 255;
  writeFileSync(normalPath, await encodePng({ width: 64, height: 64, channels: 3, data: normal }));
  writeFileSync(maskPath, await encodePng({ width: 64, height: 64, channels: 1, data: mask }));
  writeFileSync(smallPath, await encodePng({ width: 32, height: 32, channels: 3, data: normal.subarray(0, 32 * 32 * 3) }));
  writeFileSync(smallMaskPath, await encodePng({ width: 32, height: 32, channels: 1, data: mask.subarray(16 * 64, 16 * 64 + 32 * 32) }));
});
after(() => tmp.cleanup());

const base = (out: string): string[] => ['synth', '--model', modelDir, '--image', normalPath, '--mask', maskPath, '--out', out, '--steps', '4', '--seed', '3'];
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

test('synth writes the image, the exact mask and the lineage; the same seed gives the same bytes', async () => {
  const out = join(tmp.dir, 'sortie', 'défaut 1.png');
  const r = await runBin([...base(out), '--family', 'wood', '--defect', 'scratch'], tmp.dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /image {4}.*défaut 1\.png/);
  assert.match(r.stderr, /denoising step \d\/4/);
  const maskOut = join(tmp.dir, 'sortie', 'défaut 1.mask.png');
  const lineageOut = join(tmp.dir, 'sortie', 'défaut 1.lineage.json');
  const image = await readImage(out);
  assert.equal(image.width, 64);
  // the exact mask is the input mask, binarised
  assert.deepEqual((await readImage(maskOut)).data, mask);
  // far from the mask the background is the input's pixels
  for (let y = 50; y < 64; y++) for (let x = 40; x < 64; x++) for (let c = 0; c < 3; c++) assert.equal(image.data[(y * 64 + x) * 3 + c], normal[(y * 64 + x) * 3 + c]);
  const lineage = JSON.parse(readFileSync(lineageOut, 'utf8'));
  assert.equal(lineage.format, 'defectforge-lineage');
  assert.equal(lineage.generation.seed, 3);
  assert.deepEqual(lineage.generation.sampler, { sampler: 'ddim', steps: 4, eta: 1 });
  assert.equal(lineage.generation.guidanceScale, 3);
  assert.equal(lineage.generation.aar.enabled, true);
  assert.equal(lineage.model.contentHash, modelHash);
  assert.equal(lineage.inputs.normal.sha256, sha(normalPath));
  assert.equal(lineage.inputs.mask.sha256, sha(maskPath));
  assert.equal(lineage.outputs.image.sha256, sha(out));
  assert.deepEqual(lineage.conditioning, { family: 'wood', defect: 'scratch', injectedVectors: 0, spatialTokens: 'model-encoder' });
  assert.equal(lineage.runtime.executionProvider, 'cpu');
  assert.match(lineage.runtime.onnxruntime, /^\d+\.\d+/);

  const again = join(tmp.dir, 'again.png');
  const r2 = await runBin([...base(again), '--family', 'wood', '--defect', 'scratch', '--json'], tmp.dir);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(JSON.parse(r2.stdout).seed, 3);
  assert.equal(sha(again), sha(out));

  // the detail is restored by default; --detail off keeps the decoder's output, recorded either way
  assert.equal(lineage.generation.pasteBack.restoreDetail, true);
  const plain = join(tmp.dir, 'plain.png');
  const r3 = await runBin([...base(plain), '--family', 'wood', '--defect', 'scratch', '--detail', 'off'], tmp.dir);
  assert.equal(r3.code, 0, r3.stderr);
  assert.equal(JSON.parse(readFileSync(join(tmp.dir, 'plain.lineage.json'), 'utf8')).generation.pasteBack.restoreDetail, false);
  assert.notEqual(sha(plain), sha(out));
});

test('a trained embedding (e_a + spatial encoder) conditions the generation; one for another model is refused', async () => {
  const rng = new Rng(4);
  const trained = tinySpatialEncoder(99);
  const spatialEncoder = Object.fromEntries([...trained.graph.initializers].filter(([, t]) => t.dtype === 'float32').map(([n, t]) => [n, { dims: t.dims, data: t.data as Float32Array }]));
  const good = join(tmp.dir, 'rayure.dfemb');
  await writeEmbedding(good, { defectType: 'rayure', anomaly: { dims: [TINY.defectTokens, TINY.width], data: rng.normals(TINY.defectTokens * TINY.width) }, spatialEncoder, config: {}, modelHash });
  const other = join(tmp.dir, 'other.dfemb');
  await writeEmbedding(other, { defectType: 'x', anomaly: { dims: [TINY.defectTokens, TINY.width], data: new Float32Array(TINY.defectTokens * TINY.width) }, config: {}, modelHash: 'ab'.repeat(32) });
  const out = join(tmp.dir, 'emb.png');
  const r = await runBin([...base(out), '--embedding', good, '--aar', 'off'], tmp.dir);
  assert.equal(r.code, 0, r.stderr);
  const lineage = JSON.parse(readFileSync(join(tmp.dir, 'emb.lineage.json'), 'utf8'));
  assert.equal(lineage.inputs.embedding.defectType, 'rayure');
  assert.equal(lineage.inputs.embedding.sha256, sha(good));
  assert.deepEqual(lineage.conditioning, { injectedVectors: 12, spatialTokens: 'embedding-encoder' });
  assert.equal(lineage.generation.aar.enabled, false);
  const bad = await runBin([...base(join(tmp.dir, 'x.png')), '--embedding', other], tmp.dir);
  assert.equal(bad.code, 1);
  assert.equal(lines(bad.stderr).length, 1, bad.stderr);
  assert.match(bad.stderr, /other\.dfemb: trained against model abababababab, not 'tiny-random'/);
});

test('user errors exit 1 with one line: wrong image size, unknown family, an SD folder at another size or without an embedding, missing option', async () => {
  const small = await runBin(['synth', '--model', modelDir, '--image', smallPath, '--mask', smallMaskPath, '--out', join(tmp.dir, 'y.png')], tmp.dir);
  assert.equal(small.code, 1);
  assert.deepEqual(lines(small.stderr), [`defectforge synth: ${smallPath}: the image is 32x32; model 'tiny-random' works at 64x64 (resize or crop it first)`]);
  const mismatch = await runBin(['synth', '--model', modelDir, '--image', smallPath, '--mask', maskPath, '--out', join(tmp.dir, 'y.png')], tmp.dir);
  assert.deepEqual(lines(mismatch.stderr), [`defectforge synth: ${maskPath}: the mask is 64x64, the image 32x32`]);
  const family = await runBin([...base(join(tmp.dir, 'z.png')), '--family', 'granite'], tmp.dir);
  assert.equal(family.code, 1);
  assert.match(family.stderr, /no family 'granite'; known: metal, wood/);
  assert.equal(lines(family.stderr).filter((l) => !l.startsWith('denoising')).length, 1);
  const sd = join(tmp.dir, 'sd export');
  await writeTinySd1Folder(sd);
  // an SD export with a symbolic size runs at 512x512 unless --size says otherwise
  const sdRun = await runBin(['synth', '--model', sd, '--image', normalPath, '--mask', maskPath, '--out', join(tmp.dir, 'z.png')], tmp.dir);
  assert.equal(sdRun.code, 1);
  assert.deepEqual(lines(sdRun.stderr), [`defectforge synth: ${normalPath}: the image is 64x64; model 'sd export' works at 512x512 (resize or crop it first)`]);
  // at the image's size it needs a defect learnt against it
  const sdSized = await runBin(['synth', '--model', sd, '--size', '64x64', '--image', normalPath, '--mask', maskPath, '--out', join(tmp.dir, 'z.png')], tmp.dir);
  assert.equal(sdSized.code, 1);
  assert.equal(lines(sdSized.stderr).length, 1, sdSized.stderr);
  assert.match(sdSized.stderr, /an SD 1\.x folder knows no defect families; give --embedding/);
  const missing = await runBin(['synth', '--image', normalPath], tmp.dir);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--model is required/);
  assert.ok(!existsSync(join(tmp.dir, 'z.png')));
});

test('cancelling (Ctrl-C) stops at a step boundary and writes nothing', async () => {
  const controller = new AbortController();
  const out = join(tmp.dir, 'cancelled.png');
  let stderr = '';
  const code = await runCli(['synth', '--model', modelDir, '--image', normalPath, '--mask', maskPath, '--out', out, '--steps', '1000', '--seed', '1'], {
    stdout: () => undefined,
    stderr: (t) => {
      stderr += t;
      if (t.startsWith('denoising step')) controller.abort();
    },
    cwd: tmp.dir,
    stderrIsTTY: false,
    signal: controller.signal,
  });
  assert.equal(code, 1, stderr);
  assert.match(stderr, /cancelled; nothing was written/);
  assert.ok(!existsSync(out));
  assert.ok(!existsSync(join(tmp.dir, 'cancelled.lineage.json')));
});
