import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCheckpoint, encodeCheckpoint, readCheckpoint, writeCheckpoint, type Checkpoint } from '../../../src/engine/autodiff/checkpoint';
import { Rng } from '../../../src/shared/random';

function sample(): Checkpoint {
  const rng = new Rng(9);
  const w = rng.normals(6);
  w[1] = -0; // signed zero, a subnormal and NaN must survive bit for bit
  w[2] = 1e-42;
  w[3] = NaN;
  return {
    params: { 'layer 1.weight': { dims: [2, 3], data: w }, 'ε.bias': { dims: [3], data: rng.normals(3) } },
    optimizer: {
      kind: 'adamw',
      step: 17,
      hyper: { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 },
      slots: {
        m: { 'layer 1.weight': rng.normals(6), 'ε.bias': rng.normals(3) },
        v: { 'layer 1.weight': rng.uniforms(6), 'ε.bias': rng.uniforms(3) },
      },
    },
    meta: { run: 'toy', losses: [1.5, 0.75] },
  };
}

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'df ckpt ünï '));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a checkpoint written to a path with spaces and non-ASCII characters loads back bit-exactly', () =>
  withDir(async (dir) => {
    const path = join(dir, 'run ärger 01.ckpt');
    const original = sample();
    await writeCheckpoint(path, original);
    const loaded = await readCheckpoint(path);
    assert.deepEqual(Object.keys(loaded.params), Object.keys(original.params));
    for (const [name, p] of Object.entries(original.params)) {
      assert.deepEqual(loaded.params[name]!.dims, p.dims);
      assert.deepEqual(bits(loaded.params[name]!.data), bits(p.data));
    }
    for (const slot of ['m', 'v']) for (const [name, buf] of Object.entries(original.optimizer.slots[slot]!)) {
      assert.deepEqual(bits(loaded.optimizer.slots[slot]![name]!), bits(buf), `${slot} ${name}`);
    }
    assert.equal(loaded.optimizer.kind, 'adamw');
    assert.equal(loaded.optimizer.step, 17);
    assert.deepEqual(loaded.optimizer.hyper, original.optimizer.hyper);
    assert.deepEqual(loaded.meta, original.meta);
    // only the checkpoint remains: the temporary file was renamed, not left behind
    assert.deepEqual(await readdir(dir), ['run ärger 01.ckpt']);
  }));

test('overwriting a checkpoint replaces it whole', () =>
  withDir(async (dir) => {
    const path = join(dir, 'a.ckpt');
    await writeCheckpoint(path, sample());
    const next = sample();
    next.optimizer.step = 18;
    await writeCheckpoint(path, next);
    assert.equal((await readCheckpoint(path)).optimizer.step, 18);
    assert.deepEqual(await readdir(dir), ['a.ckpt']);
  }));

test('damaged, truncated, foreign and missing files fail with the file named', () =>
  withDir(async (dir) => {
    const bytes = encodeCheckpoint(sample());
    const flipped = bytes.slice();
    flipped[flipped.length - 5]! ^= 0x10;
    assert.throws(() => decodeCheckpoint(flipped, 'x.ckpt'), (e: Error & { code?: string }) => e.code === 'CHECKPOINT_INVALID' && /x\.ckpt: data checksum mismatch/.test(e.message));
    assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4), 'x.ckpt'), /x\.ckpt: data section holds .* \(truncated or damaged\)/);
    assert.throws(() => decodeCheckpoint(bytes.subarray(0, 40), 'x.ckpt'), /header runs past the end/);
    const foreign = join(dir, 'model.onnx');
    await writeFile(foreign, 'not a checkpoint at all');
    await assert.rejects(readCheckpoint(foreign), new RegExp(`${foreign.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a DefectForge checkpoint`));
    await assert.rejects(readCheckpoint(join(dir, 'none.ckpt')), (e: Error & { code?: string }) => e.code === 'CHECKPOINT_NOT_FOUND');
    // a newer format version is refused, not misread
    const json = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + new DataView(bytes.buffer).getUint32(8, true))));
    json.version = 99;
    const header = new TextEncoder().encode(JSON.stringify(json));
    const newer = new Uint8Array(12 + header.length);
    newer.set(bytes.subarray(0, 8));
    new DataView(newer.buffer).setUint32(8, header.length, true);
    newer.set(header, 12);
    assert.throws(() => decodeCheckpoint(newer, 'n.ckpt'), /n\.ckpt: written by a newer DefectForge \(format 99/);
  }));

test('the file layout starts with the magic and an 8-byte aligned data section', () => {
  const bytes = encodeCheckpoint(sample());
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), 'DFCKPT01');
  const headerLength = new DataView(bytes.buffer).getUint32(8, true);
  const dataStart = Math.ceil((12 + headerLength) / 8) * 8;
  // 6 + 3 parameter values and 2 x (6 + 3) moment values, float32
  assert.equal(bytes.length - dataStart, (9 + 18) * 4);
});
