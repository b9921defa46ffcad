// composeTraining's workDir option: the training model written to disk (weights in a side file,
// already-external weights linked, not copied) trains bit-identically to the in-memory session,
// and its folder is gone after release() and after a failed compose.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { composeTraining, type Trainer } from '../../../src/engine/autodiff/composer';
import { Adam } from '../../../src/engine/autodiff/optim';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import { loadModel, saveModel } from '../../../src/engine/onnx/io';
import type { Model } from '../../../src/engine/onnx/ir';
import type { HostTensor } from '../../../src/engine/runtime';
import { isUserError } from '../../../src/shared/errors';
import { Rng } from '../../../src/shared/random';

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'composer work dir ü '));
after(() => fs.rm(root, { recursive: true, force: true }));

const N = 5;
const IN = 8;
const HIDDEN = 48;
const OUT = 3;

/**
 * loss = mean((tanh(x F1) F2 W + b - target)^2): F1 [8, 48] and F2 [48, 48] are frozen and large
 * (1.5 KiB, 9 KiB), W [48, 3] and b [3] are trained and small.
 */
function forward(): Model {
  const rng = new Rng(7);
  const b = new GraphBuilder('workdir regression');
  const x = b.input('x', 'float32', [N, IN]);
  const target = b.input('target', 'float32', [N, OUT]);
  const f1 = b.param('F1', [IN, HIDDEN], rng.normals(IN * HIDDEN, 0.4));
  const f2 = b.param('F2', [HIDDEN, HIDDEN], rng.normals(HIDDEN * HIDDEN, 0.2));
  const w = b.param('W', [HIDDEN, OUT], rng.normals(HIDDEN * OUT, 0.3));
  const bias = b.param('b', [OUT], rng.normals(OUT, 0.1));
  const h = b.op('MatMul', [b.op('Tanh', [b.op('MatMul', [x, f1])]), f2]);
  const diff = b.op('Sub', [b.op('Add', [b.op('MatMul', [h, w]), bias]), target]);
  b.output(b.op('ReduceMean', [b.op('Mul', [diff, diff])], { keepdims: 0 }), 'loss', { dtype: 'float32', shape: [] });
  return b.toModel();
}

function batch(step: number): Record<string, HostTensor> {
  const rng = new Rng(500 + step);
  return { x: { dtype: 'float32', dims: [N, IN], data: rng.normals(N * IN) }, target: { dtype: 'float32', dims: [N, OUT], data: rng.normals(N * OUT) } };
}

async function train(trainer: Trainer, steps: number): Promise<number[]> {
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push((await trainer.step(batch(s % 2))).loss);
  return losses;
}

const options = () => ({ loss: 'loss', train: ['W', 'b'], optimizer: new Adam({ lr: 0.01 }) });

test('workDir: external weights are linked, the run is bit-identical to the in-memory session, the folder is removed', async () => {
  const memory = await composeTraining(forward(), options());
  const memoryLosses = await train(memory, 6);

  // the forward model saved with every tensor of 1 KiB and more in a side file, loaded with references
  const modelDir = path.join(root, 'modèle source');
  await fs.mkdir(modelDir);
  await saveModel(forward(), path.join(modelDir, 'forward.onnx'), { externalData: { file: 'weights.bin', thresholdBytes: 1024 } });
  const referenced = await loadModel(path.join(modelDir, 'forward.onnx'));
  assert.ok(referenced.graph.initializers.get('F2')!.external, 'F2 is an external reference');
  assert.ok(referenced.graph.initializers.get('W')!.data, 'W (trained) is in memory');

  const workDir = path.join(root, 'work dir é');
  const disk = await composeTraining(referenced, { ...options(), workDir, externalDataFolder: modelDir });
  const folder = disk.trainingFolder!;
  assert.equal(path.dirname(folder), workDir);
  const files = (await fs.readdir(folder)).sort();
  assert.deepEqual(files, ['training.onnx', 'training.onnx_data', 'weights.bin']);
  // linked, not copied: the same inode as the source file
  const [src, linked] = await Promise.all([fs.stat(path.join(modelDir, 'weights.bin')), fs.stat(path.join(folder, 'weights.bin'))]);
  assert.equal(linked.ino, src.ino);
  // the trainer keeps the saved form: the frozen weights are references, not arrays
  for (const name of ['F1', 'F2']) {
    const t = disk.trainingModel.graph.initializers.get(name)!;
    assert.ok(t.external && !t.data, `${name} held as a reference`);
  }
  const diskLosses = await train(disk, 6);

  assert.deepEqual(diskLosses, memoryLosses);
  for (const name of ['W', 'b']) assert.deepEqual(disk.params.get(name), memory.params.get(name), `${name} bit-identical`);
  assert.ok(diskLosses[4]! < diskLosses[0]!, 'the loss on the same batch goes down');

  await memory.release();
  await disk.release();
  await assert.rejects(fs.stat(folder), /ENOENT/);
  assert.deepEqual(await fs.readdir(workDir), []);
  // the user's model folder is untouched
  assert.deepEqual((await fs.readdir(modelDir)).sort(), ['forward.onnx', 'weights.bin']);
});

test('workDir with in-memory weights only: one side file; the in-memory path refuses external references', async () => {
  const workDir = path.join(root, 'inline weights');
  const trainer = await composeTraining(forward(), { ...options(), workDir });
  assert.deepEqual((await fs.readdir(trainer.trainingFolder!)).sort(), ['training.onnx', 'training.onnx_data']);
  const memory = await composeTraining(forward(), options());
  assert.deepEqual(await train(trainer, 3), await train(memory, 3));
  await trainer.release();
  await memory.release();
  assert.deepEqual(await fs.readdir(workDir), []);

  const dir = path.join(root, 'refs');
  await fs.mkdir(dir);
  await saveModel(forward(), path.join(dir, 'm.onnx'), { externalData: { file: 'm.onnx_data', thresholdBytes: 1024 } });
  const referenced = await loadModel(path.join(dir, 'm.onnx'));
  await assert.rejects(composeTraining(referenced, options()), (e: unknown) => isUserError(e) && e.code === 'TRAIN_EXTERNAL' && /workDir/.test(e.message));
});

test('workDir: a compose that fails leaves no folder behind', async () => {
  const dir = path.join(root, 'failing');
  await fs.mkdir(dir);
  await saveModel(forward(), path.join(dir, 'm.onnx'), { externalData: { file: 'm.onnx_data', thresholdBytes: 1024 } });
  const referenced = await loadModel(path.join(dir, 'm.onnx'));
  const workDir = path.join(root, 'failing work');
  // no externalDataFolder: the references cannot be resolved
  await assert.rejects(composeTraining(referenced, { ...options(), workDir }), (e: unknown) => isUserError(e) && e.code === 'TRAIN_EXTERNAL' && /externalDataFolder/.test(e.message));
  assert.deepEqual(await fs.readdir(workDir), []);
  // the external file is missing from the folder named: the link fails, nothing is left
  await assert.rejects(composeTraining(referenced, { ...options(), workDir, externalDataFolder: path.join(root, 'nowhere') }));
  assert.deepEqual(await fs.readdir(workDir), []);
});
