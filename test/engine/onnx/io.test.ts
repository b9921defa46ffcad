import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import type { Model } from '../../../src/engine/onnx/ir';
import { loadModel, readExternalTensor, resolveExternalLocation, saveModel } from '../../../src/engine/onnx/io';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession } from '../../../src/engine/runtime';
import { isUserError } from '../../../src/shared/errors';

const W = Float32Array.from({ length: 64 * 32 }, (_, i) => Math.sin(i) * 0.5);
const B = Float32Array.from({ length: 32 }, (_, i) => i / 32 - 0.5);

/** y = x W + b, with W [64, 32] and b [32]. */
function linearModel(): Model {
  const g = new GraphBuilder('linear');
  const x = g.input('x', 'float32', [1, 64]);
  const w = g.param('W', [64, 32], W);
  const b = g.param('b', [32], B);
  g.output(g.op('Add', [g.op('MatMul', [x, w]), b]), 'y', { shape: [1, 32] });
  return g.toModel();
}

/** The reference: relu(x W + b) * 2 computed in plain JS (float64, then compared loosely). */
function expected(x: Float32Array): number[] {
  return Array.from({ length: 32 }, (_, j) => {
    let s = B[j]!;
    for (let i = 0; i < 64; i++) s += x[i]! * W[i * 32 + j]!;
    return Math.max(s, 0) * 2;
  });
}

async function tempFolder(): Promise<string> {
  // spaces and non-ASCII characters on purpose (Windows and macOS users have them)
  return mkdtemp(join(tmpdir(), 'défaut modèle 模型 '));
}

test('weights in model.onnx_data: load, derive, save beside it without copying, run from the path', async () => {
  const dir = await tempFolder();
  try {
    const original = join(dir, 'unet model.onnx');
    await saveModel(linearModel(), original, { externalData: { file: 'model.onnx_data', thresholdBytes: 100 } });
    const dataPath = join(dir, 'model.onnx_data');
    const dataBefore = await readFile(dataPath);
    assert.ok((await stat(original)).size < 1000, 'weights must not be inside the .onnx');
    assert.ok(dataBefore.length >= W.byteLength + B.byteLength);

    const loaded = await loadModel(original);
    const w = loaded.graph.initializers.get('W')!;
    assert.equal(w.data, undefined);
    assert.equal(w.external!.location, 'model.onnx_data');
    assert.deepEqual(Array.from((await readExternalTensor(dir, w)) as Float32Array), Array.from(W));

    // derived graph: relu(y) * 2, saved next to the original
    const g = new GraphBuilder('derived', { graph: loaded.graph, opsetImports: loaded.opsetImports });
    const y = loaded.graph.outputs[0]!.name;
    loaded.graph.outputs = [];
    g.output(g.op('Mul', [g.op('Relu', [y]), g.scalar(2)]), 'z', { shape: [1, 32] });
    const derivedPath = join(dir, 'derived ü.onnx');
    await saveModel({ ...loaded, graph: g.graph }, derivedPath);

    assert.deepEqual(await readFile(dataPath), dataBefore, 'the weights file is untouched');
    assert.ok((await stat(derivedPath)).size < 1000, 'the derived model references the weights, not a copy');
    assert.deepEqual((await readdir(dir)).sort(), ['derived ü.onnx', 'model.onnx_data', 'unet model.onnx'], 'no temp files are left');

    const session = await createSession(derivedPath);
    const x = Float32Array.from({ length: 64 }, (_, i) => Math.cos(i));
    const out = await session.run({ x: { dtype: 'float32', dims: [1, 64], data: x } });
    const got = Array.from(out.z!.data as Float32Array);
    const want = expected(x);
    for (let j = 0; j < 32; j++) assert.ok(Math.abs(got[j]! - want[j]!) < 1e-4, `z[${j}] = ${got[j]}, expected ${want[j]}`);
    await session.release();

    const inMemory = await loadModel(derivedPath, { loadExternal: true });
    const wData = inMemory.graph.initializers.get('W')!;
    assert.equal(wData.external, undefined);
    assert.deepEqual(Array.from(wData.data as Float32Array), Array.from(W));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a derived model saved in a parent folder references the weights by a relative sub-path', async () => {
  const dir = await tempFolder();
  try {
    const sub = join(dir, 'weights dir');
    await mkdir(sub);
    await saveModel(linearModel(), join(sub, 'm.onnx'), { externalData: { file: 'w.bin', thresholdBytes: 0 } });
    const loaded = await loadModel(join(sub, 'm.onnx'));
    await saveModel(loaded, join(dir, 'up.onnx'), { sourceFolder: sub });
    const up = await loadModel(join(dir, 'up.onnx'));
    assert.equal(up.graph.initializers.get('W')!.external!.location, 'weights dir/w.bin');
    const session = await createSession(join(dir, 'up.onnx'));
    const x = new Float32Array(64).fill(0.25);
    const out = await session.run({ x: { dtype: 'float32', dims: [1, 64], data: x } });
    const want = Array.from({ length: 32 }, (_, j) => {
      let s = B[j]!;
      for (let i = 0; i < 64; i++) s += 0.25 * W[i * 32 + j]!;
      return s;
    });
    const got = Array.from(out.y!.data as Float32Array);
    for (let j = 0; j < 32; j++) assert.ok(Math.abs(got[j]! - want[j]!) < 1e-4);
    await session.release();

    // a sibling folder would need '../weights dir/w.bin': refused, naming the model file
    await mkdir(join(dir, 'other'));
    await assert.rejects(saveModel(up, join(dir, 'other', 'down.onnx'), { sourceFolder: dir }), (e: unknown) => isUserError(e) && /down\.onnx/.test((e as Error).message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('external locations that leave the model folder are refused with the file name', async () => {
  const dir = await tempFolder();
  try {
    for (const location of ['../secret.bin', '/etc/passwd', 'C:\\Windows\\x.bin', 'sub\\..\\..\\x.bin', '\\\\server\\share\\x']) {
      const model = linearModel();
      const w = model.graph.initializers.get('W')!;
      model.graph.initializers.set('W', { name: 'W', dtype: 'float32', dims: w.dims, external: { location, offset: 0, length: W.byteLength } });
      const file = join(dir, 'évil.onnx');
      await writeFile(file, encodeModel(model));
      await assert.rejects(loadModel(file), (e: unknown) => {
        assert.ok(isUserError(e), String(e));
        assert.match((e as Error).message, /évil\.onnx: tensor 'W'/);
        assert.ok((e as Error).message.includes(location));
        return true;
      });
    }
    assert.equal(resolveExternalLocation(dir, 'a/b c.bin', 'x'), join(dir, 'a', 'b c.bin'));
    assert.equal(resolveExternalLocation(dir, 'a\\b.bin', 'x'), join(dir, 'a', 'b.bin'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('missing or short external files and broken models give errors naming the file', async () => {
  const dir = await tempFolder();
  try {
    const file = join(dir, 'm.onnx');
    await saveModel(linearModel(), file, { externalData: { file: 'w.bin', thresholdBytes: 0 } });
    await writeFile(join(dir, 'w.bin'), new Uint8Array(16));
    await assert.rejects(loadModel(file), (e: unknown) => isUserError(e) && /m\.onnx: tensor '.*'.*beyond the end/.test((e as Error).message));
    await rm(join(dir, 'w.bin'));
    await assert.rejects(loadModel(file), (e: unknown) => isUserError(e) && /m\.onnx: tensor '.*'.*does not exist/.test((e as Error).message));
    await writeFile(join(dir, 'junk.onnx'), Uint8Array.from([0xff, 0xff, 0xff]));
    await assert.rejects(loadModel(join(dir, 'junk.onnx')), (e: unknown) => isUserError(e) && /junk\.onnx/.test((e as Error).message));
    await assert.rejects(loadModel(join(dir, 'absent.onnx')), (e: unknown) => isUserError(e) && /absent\.onnx/.test((e as Error).message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('saving never overwrites a weights file the model still references', async () => {
  const dir = await tempFolder();
  try {
    const file = join(dir, 'm.onnx');
    await saveModel(linearModel(), file, { externalData: { file: 'w.bin', thresholdBytes: 0 } });
    const before = await readFile(join(dir, 'w.bin'));
    const loaded = await loadModel(file);
    await assert.rejects(saveModel(loaded, join(dir, 'n.onnx'), { externalData: { file: 'w.bin', thresholdBytes: 0 } }), (e: unknown) => isUserError(e));
    assert.deepEqual(await readFile(join(dir, 'w.bin')), before);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
