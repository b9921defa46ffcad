// The saved-embedding format (src/engine/anomaly/embedding-file.ts) and the lineage record
// (src/engine/diffusion/lineage.ts), both used by synthesis with built-in models.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { makeTempDir } from '../../../fixtures/temp-dir';
import { readEmbedding, writeEmbedding, type AnomalyEmbedding } from '../../../../src/engine/anomaly/embedding-file';
import { writeCheckpoint } from '../../../../src/engine/autodiff/checkpoint';
import { buildLineage, describeFile, writeLineage } from '../../../../src/engine/diffusion/lineage';
import type { BlendedResult } from '../../../../src/engine/diffusion/blended';
import { DEFAULT_AAR } from '../../../../src/engine/diffusion/aar';
import { DEFAULT_PASTE_BACK } from '../../../../src/engine/diffusion/paste-back';
import { Rng } from '../../../../src/shared/random';

const tmp = makeTempDir('embedding');
mkdirSync(tmp.dir, { recursive: true });
after(() => tmp.cleanup());
const hash = 'ab'.repeat(32);

function embedding(withEncoder: boolean): AnomalyEmbedding {
  const rng = new Rng(1);
  return {
    defectType: 'rayure fine',
    anomaly: { dims: [8, 16], data: rng.normals(128) },
    ...(withEncoder ? { spatialEncoder: { 'to_tokens.weight': { dims: [8, 64], data: rng.normals(512) }, 'down0.bias': { dims: [8], data: rng.normals(8) } } } : {}),
    config: { steps: 300, lr: 0.02 },
    modelHash: hash,
  };
}

test('an embedding round-trips bit-exactly, with and without spatial encoder weights', async () => {
  for (const withEncoder of [true, false]) {
    const file = join(tmp.dir, `défaut ${withEncoder}.dfemb`);
    const e = embedding(withEncoder);
    await writeEmbedding(file, e);
    assert.deepEqual(await readEmbedding(file), e);
  }
});

test('damaged, foreign and missing embedding files are clear errors naming the file', async () => {
  const file = join(tmp.dir, 'damaged.dfemb');
  await writeEmbedding(file, embedding(true));
  const bytes = readFileSync(file);
  bytes[bytes.length - 3] ^= 0x40;
  writeFileSync(file, bytes);
  await assert.rejects(readEmbedding(file), (e: Error) => e.message.startsWith(file) && /checksum mismatch/.test(e.message));
  const ckpt = join(tmp.dir, 'a checkpoint.ckpt');
  await writeCheckpoint(ckpt, { params: { w: { dims: [2], data: new Float32Array(2) } }, optimizer: { kind: 'adam', step: 3, slots: {}, hyper: {} }, meta: {} });
  await assert.rejects(readEmbedding(ckpt), /a checkpoint\.ckpt: not an anomaly embedding/);
  await assert.rejects(readEmbedding(join(tmp.dir, 'none.dfemb')), /none\.dfemb: embedding file not found/);
  await assert.rejects(writeEmbedding(join(tmp.dir, 'x'), { ...embedding(false), anomaly: { dims: [8, 15], data: new Float32Array(128) } }), /e_a must be \[k, width\]/);
});

test('lineage records inputs by hash, every setting, the model and the runtime; written atomically as JSON', async () => {
  const normal = join(tmp.dir, 'normal é.png');
  writeFileSync(normal, 'pretend png');
  const ref = await describeFile(normal);
  assert.equal(ref.sha256, createHash('sha256').update('pretend png').digest('hex'));
  assert.equal(ref.bytes, 11);
  const settings: BlendedResult['settings'] = {
    seed: 5, sampler: { sampler: 'ddim', steps: 25, eta: 1 }, strength: 1, guidanceScale: 3, guidanceRescale: 0, aar: DEFAULT_AAR, pasteBack: DEFAULT_PASTE_BACK, modelHash: hash, startStep: 0,
  };
  const result = { image: { width: 1, height: 1, channels: 3 as const, data: new Uint8Array(3) }, mask: new Uint8Array(1), settings };
  const record = buildLineage({
    inputs: { normal: ref, mask: ref },
    outputs: { image: ref, mask: ref },
    conditioning: { family: 'wood', defect: 'scratch', injectedVectors: 0, spatialTokens: 'model-encoder' },
    model: { name: 'tiny', kind: 'builtin', contentHash: hash },
    result,
    runtime: { executionProvider: 'cpu', onnxruntime: '1.30.0' },
    appVersion: '0.1.0',
    createdAt: new Date('2026-01-02T03:04:05Z'),
  });
  const file = join(tmp.dir, 'lineage.json');
  await writeLineage(file, record);
  const back = JSON.parse(readFileSync(file, 'utf8'));
  assert.deepEqual(back, JSON.parse(JSON.stringify(record)));
  assert.equal(back.generation.seed, 5);
  assert.equal(back.generation.sampler.steps, 25);
  assert.equal(back.createdAt, '2026-01-02T03:04:05.000Z');
  assert.equal(back.app.node, process.versions.node);
  const parts = { inputs: { normal: ref, mask: ref }, outputs: { image: ref, mask: ref }, conditioning: record.conditioning, runtime: record.runtime, appVersion: '0.1.0', result };
  assert.throws(() => buildLineage({ ...parts, model: { name: 't', kind: 'builtin', contentHash: 'cd'.repeat(32) } }), /generated with model ab/);
});
