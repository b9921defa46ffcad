import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { makeLearnFixture, type LearnFixture } from './fixture';
import { learnDefect, type LearnProgress } from '../../../src/engine/anomaly/learn-defect';
import { decodeEmbedding } from '../../../src/engine/anomaly/embedding-file';
import { findDefectType } from '../../../src/engine/anomaly/training-set';
import { listArtifacts, latestArtifact } from '../../../src/main/store/artifacts';
import { JobStore } from '../../../src/main/jobs/job-store';
import { decodeImage } from '../../../src/engine/imaging';
import { isUserError } from '../../../src/shared/errors';
import type { Project } from '../../../src/main/store/project';
import { defaultModelDir } from '../../../src/main/default-model';

let fx: LearnFixture;
before(async () => {
  fx = await makeLearnFixture('learn');
});
after(() => fx.cleanup());

const settings = { steps: 6, checkpointEvery: 2, variants: 2, previewEvery: 0, seed: 11 };

function embeddingOf(project: Project, artifactId: number) {
  const row = listArtifacts(project, 'anomaly-embedding').find((a) => a.id === artifactId)!;
  return decodeEmbedding(project.blobs.read(row.blobHash), `artifact ${row.id}`);
}

test('a stopped and resumed training ends bit-identical to an uninterrupted one (same seed)', async () => {
  const whole = await fx.newProject('entier');
  const progress: LearnProgress[] = [];
  const a = await learnDefect({ project: whole, type: 'widget/crack', modelDir: fx.modelDir, settings: { ...settings, previewEvery: 3 }, onProgress: (p) => progress.push(p) });
  assert.equal(a.steps, 6);
  assert.equal(a.version, 1);
  assert.equal(a.trainingPairs, 2);
  // progress: the loss and an ETA every step, previews at steps 3 and 6 stored as PNG blobs
  const steps = progress.filter((p) => p.loss !== undefined);
  assert.deepEqual(steps.map((p) => p.step), [1, 2, 3, 4, 5, 6]);
  assert.ok(steps.every((p) => Number.isFinite(p.loss) && p.etaSeconds! >= 0));
  const previews = steps.filter((p) => p.preview).map((p) => p.step);
  assert.deepEqual(previews, [3, 6]);
  const png = await decodeImage(whole.blobs.read(steps[2]!.preview!), 'preview');
  assert.equal(png.width, 64);

  const split = await fx.newProject('interrompu');
  const jobs = new JobStore(split.db);
  const first = jobs.insert('learn-defect', {});
  jobs.markRunning(first);
  const controller = new AbortController();
  await assert.rejects(
    learnDefect({
      project: split,
      type: 'widget/crack',
      modelDir: fx.modelDir,
      settings,
      jobId: first,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.step === 3 && p.loss !== undefined) controller.abort();
      },
    }),
    /cancelled/,
  );
  jobs.markCancelled(first, 'test stop');
  const ckptHash = split.db.prepare('SELECT checkpoint_blob FROM jobs WHERE id = ?').pluck().get(first) as string;
  assert.match(ckptHash, /^[0-9a-f]{64}$/);
  assert.equal(listArtifacts(split, 'anomaly-embedding').length, 0, 'a stopped run saves no artifact');

  const second = jobs.insert('learn-defect', {});
  jobs.markRunning(second);
  const c = await learnDefect({ project: split, type: 'widget/crack', modelDir: fx.modelDir, settings, jobId: second, resume: true });
  assert.equal(c.resumedFromStep, 3);
  assert.equal(c.steps, 6);
  const ea = embeddingOf(whole, a.artifactId);
  const ec = embeddingOf(split, c.artifactId);
  assert.deepEqual(ec.anomaly.dims, [8, 16]);
  assert.deepEqual(Buffer.from(ec.anomaly.data.buffer), Buffer.from(ea.anomaly.data.buffer));
  assert.deepEqual(Object.keys(ec.spatialEncoder!).sort(), Object.keys(ea.spatialEncoder!).sort());
  for (const [name, t] of Object.entries(ea.spatialEncoder!)) assert.deepEqual(Buffer.from(ec.spatialEncoder![name]!.data.buffer), Buffer.from(t.data.buffer), name);
  assert.deepEqual(ec.config['lossCurve'], ea.config['lossCurve']);
  // the starting probe is kept in the checkpoint, so the resumed run reports the same pair
  assert.deepEqual(c.probeLoss, a.probeLoss);
  assert.ok(a.probeLoss.start > 0 && a.probeLoss.end > 0);
  assert.equal(ec.modelHash, a.modelHash);
  whole.close();
  split.close();
});

test('artifacts are versioned per defect type; the spatial encoder carries over between types', async () => {
  const project = await fx.newProject('versions');
  const crack = findDefectType(project, 'widget/crack');
  const one = await learnDefect({ project, type: 'crack', modelDir: fx.modelDir, settings: { ...settings, steps: 2 } });
  const two = await learnDefect({ project, type: 'widget/crack', modelDir: fx.modelDir, settings: { ...settings, steps: 2 } });
  const other = await learnDefect({ project, type: 'widget/scratch', modelDir: fx.modelDir, settings: { ...settings, steps: 2 } });
  assert.deepEqual([one.version, two.version, other.version], [1, 2, 1]);
  assert.equal(latestArtifact(project, 'anomaly-embedding', crack.id)!.id, two.artifactId);
  const row = latestArtifact(project, 'anomaly-embedding', crack.id)!;
  assert.equal(row.config['encoderInit'], `artifact ${one.artifactId}`);
  assert.equal(row.jobId, null);
  assert.ok(Array.isArray(row.metrics['lossCurve']) && (row.metrics['lossCurve'] as number[]).length === 2);
  const model = project.db.prepare('SELECT content_hash FROM models WHERE id = ?').pluck().get(row.modelId) as string;
  assert.equal(model, one.modelHash);
  project.close();
});

test('the spatial encoder learns at its own rate: encoderLr 0 keeps it, the default moves it', async () => {
  const frozenShort = await fx.newProject('frozen-2');
  const frozenLong = await fx.newProject('frozen-4');
  const moving = await fx.newProject('moving-4');
  const short = await learnDefect({ project: frozenShort, type: 'widget/crack', modelDir: fx.modelDir, settings: { ...settings, steps: 2, encoderLr: 0 } });
  const long = await learnDefect({ project: frozenLong, type: 'widget/crack', modelDir: fx.modelDir, settings: { ...settings, steps: 4, encoderLr: 0 } });
  const moved = await learnDefect({ project: moving, type: 'widget/crack', modelDir: fx.modelDir, settings: { ...settings, steps: 4 } });
  const [es, el, em] = [embeddingOf(frozenShort, short.artifactId), embeddingOf(frozenLong, long.artifactId), embeddingOf(moving, moved.artifactId)];
  assert.notDeepEqual(Buffer.from(es.anomaly.data.buffer), Buffer.from(el.anomaly.data.buffer), 'e_a keeps learning');
  const differs = (a: typeof es, b: typeof es) => Object.entries(a.spatialEncoder!).some(([name, t]) => !Buffer.from(t.data.buffer).equals(Buffer.from(b.spatialEncoder![name]!.data.buffer)));
  assert.equal(differs(es, el), false, 'encoderLr 0: the spatial encoder never moves');
  assert.equal(differs(el, em), true, 'the default encoderLr moves it');
  for (const p of [frozenShort, frozenLong, moving]) p.close();
});

test('a run that makes the fit of its training pairs worse is reported (the embedded model, spatial encoder at lr 0.5)', async () => {
  // the divergence measured in session 5: on the embedded model the spatial encoder at a far too
  // high rate drives the probe loss up within 30 steps; the default rate does not
  const modelDir = defaultModelDir();
  const run = async (name: string, extra: { encoderLr?: number }) => {
    const project = await fx.newProject(name);
    const warnings: string[] = [];
    const result = await learnDefect({ project, type: 'widget/crack', modelDir, settings: { ...settings, steps: 30, checkpointEvery: 0, ...extra }, log: (level, m) => level === 'warn' && warnings.push(m) });
    const row = latestArtifact(project, 'anomaly-embedding', findDefectType(project, 'widget/crack').id)!;
    project.close();
    return { result, warnings, metrics: row.metrics };
  };
  const wild = await run('wild', { encoderLr: 0.5 });
  assert.ok(wild.result.probeLoss.end > 1.25 * wild.result.probeLoss.start, `probe ${wild.result.probeLoss.start} -> ${wild.result.probeLoss.end}`);
  assert.equal(wild.warnings.length, 1);
  assert.match(wild.warnings[0]!, /widget\/crack: learning made the fit of the training pairs worse .*diverged/);
  assert.deepEqual(wild.metrics['probeLoss'], wild.result.probeLoss);
  const sane = await run('sane', {});
  assert.ok(sane.result.probeLoss.end <= 1.25 * sane.result.probeLoss.start, `default run probe ${sane.result.probeLoss.start} -> ${sane.result.probeLoss.end}`);
  assert.deepEqual(sane.warnings, []);
});

async function pngOf(width: number, height: number, fill: (x: number, y: number) => number): Promise<Buffer> {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = fill(x, y);
  return sharp(data, { raw: { width, height, channels: 1 } }).png().toBuffer();
}

test('bad input: no masks, an empty mask, a mask larger than its image -> UserErrors; nothing is written', async () => {
  const project = await fx.newProject('mauvais');
  const counts = (): unknown => project.db.prepare('SELECT (SELECT count(*) FROM artifacts), (SELECT count(*) FROM models), (SELECT count(*) FROM jobs)').raw().get();
  const before = counts();
  const run = (type: string) => learnDefect({ project, type, modelDir: fx.modelDir, settings: { ...settings, steps: 1 } });
  const scratch = findDefectType(project, 'widget/scratch');
  const crack = findDefectType(project, 'widget/crack');
  const trainMask = (typeId: number) =>
    project.db.prepare("SELECT m.id, m.blob_hash AS hash, i.source_path AS source FROM masks m JOIN images i ON i.id = m.image_id WHERE i.defect_type_id = ? AND i.defect_split = 'train' ORDER BY m.id LIMIT 1").get(typeId) as { id: number; hash: string; source: string };

  // a type whose training images have no mask at all
  const saved = trainMask(scratch.id);
  project.db.prepare('DELETE FROM masks WHERE image_id IN (SELECT id FROM images WHERE defect_type_id = ?)').run(scratch.id);
  await assert.rejects(run('widget/scratch'), (e) => isUserError(e) && e.code === 'NO_MASKS' && /widget\/scratch/.test(e.message));

  // an empty mask: the message names the image's file
  const mask = trainMask(crack.id);
  const emptyHash = project.blobs.put(await pngOf(80, 72, () => 0), 'image/png');
  project.db.prepare('UPDATE masks SET blob_hash = ? WHERE id = ?').run(emptyHash, mask.id);
  await assert.rejects(run('widget/crack'), (e) => isUserError(e) && e.code === 'MASK_EMPTY' && e.message.includes(mask.source));

  // a mask larger than its image
  const largeHash = project.blobs.put(await pngOf(100, 90, (x, y) => (x > 20 && x < 40 && y > 20 && y < 40 ? 255 : 0)), 'image/png');
  project.db.prepare('UPDATE masks SET blob_hash = ? WHERE id = ?').run(largeHash, mask.id);
  await assert.rejects(run('widget/crack'), (e) => isUserError(e) && e.code === 'MASK_SIZE' && /100x90/.test(e.message) && /80x72/.test(e.message));

  // an unknown type lists the known ones
  await assert.rejects(run('widget/dent'), (e) => isUserError(e) && e.code === 'DEFECT_TYPE_NOT_FOUND' && /widget\/crack/.test(e.message));
  assert.deepEqual(counts(), before, 'no artifact, model or job rows were written');
  assert.ok(saved);

  // the project is still usable: restoring the mask makes training work
  project.db.prepare('UPDATE masks SET blob_hash = ? WHERE id = ?').run(mask.hash, mask.id);
  const ok = await run('widget/crack');
  assert.equal(ok.version, 1);
  project.close();
});

test('an SD 1.x folder: learning runs through text encoder + UNet, a stopped run resumes to the same parameters, the folder is untouched', async () => {
  const { writeTinySd1Folder } = await import('../../fixtures/sd1');
  const { hashFolder } = await import('../../../src/engine/models/sd1/folder');
  const { join } = await import('node:path');
  const sdDir = join(fx.root, 'sd tiny é');
  await writeTinySd1Folder(sdDir);
  const hashBefore = await hashFolder(sdDir);
  const imageSize = { width: 64, height: 64 };

  const whole = await fx.newProject('sd entier');
  const progress: LearnProgress[] = [];
  const a = await learnDefect({ project: whole, type: 'widget/crack', modelDir: sdDir, imageSize, settings: { ...settings, previewEvery: 3 }, onProgress: (p) => progress.push(p) });
  assert.equal(a.steps, 6);
  assert.equal(a.modelHash, hashBefore);
  const steps = progress.filter((p) => p.loss !== undefined);
  assert.ok(steps.every((p) => Number.isFinite(p.loss) && p.loss! > 0));
  assert.deepEqual(steps.filter((p) => p.preview).map((p) => p.step), [3, 6]);
  assert.equal((await decodeImage(whole.blobs.read(steps[2]!.preview!), 'preview')).width, 64);
  const ea = embeddingOf(whole, a.artifactId);
  assert.deepEqual(ea.anomaly.dims, [8, 32]);
  assert.equal(ea.config['prompt'], 'a photo of a *');
  assert.ok(Object.keys(ea.spatialEncoder!).length > 0);

  const split = await fx.newProject('sd interrompu');
  const jobs = new JobStore(split.db);
  const first = jobs.insert('learn-defect', {});
  jobs.markRunning(first);
  const controller = new AbortController();
  await assert.rejects(
    learnDefect({ project: split, type: 'widget/crack', modelDir: sdDir, imageSize, settings, jobId: first, signal: controller.signal, onProgress: (p) => {
      if (p.step === 3 && p.loss !== undefined) controller.abort();
    } }),
    /cancelled/,
  );
  jobs.markCancelled(first, 'test stop');
  const second = jobs.insert('learn-defect', {});
  jobs.markRunning(second);
  const c = await learnDefect({ project: split, type: 'widget/crack', modelDir: sdDir, imageSize, settings, jobId: second, resume: true });
  assert.equal(c.resumedFromStep, 3);
  const ec = embeddingOf(split, c.artifactId);
  assert.deepEqual(Buffer.from(ec.anomaly.data.buffer), Buffer.from(ea.anomaly.data.buffer));
  for (const [name, t] of Object.entries(ea.spatialEncoder!)) assert.deepEqual(Buffer.from(ec.spatialEncoder![name]!.data.buffer), Buffer.from(t.data.buffer), name);
  assert.deepEqual(ec.config['lossCurve'], ea.config['lossCurve']);
  assert.equal(await hashFolder(sdDir), hashBefore, 'the SD folder is unchanged');

  // built-in family labels have no meaning on an SD folder
  await assert.rejects(
    learnDefect({ project: split, type: 'widget/crack', modelDir: sdDir, imageSize, settings: { ...settings, steps: 1, family: 'wood' } }),
    (e) => isUserError(e) && e.code === 'BAD_PARAMS' && e.message.includes(sdDir),
  );
  whole.close();
  split.close();
});

test('mask learning on an SD 1.x folder is refused with a clear "not yet"', async () => {
  const { writeTinySd1Folder } = await import('../../fixtures/sd1');
  const { learnMask } = await import('../../../src/engine/anomaly/learn-mask');
  const { join } = await import('node:path');
  const sdDir = join(fx.root, 'sd masques');
  await writeTinySd1Folder(sdDir);
  const project = await fx.newProject('sd masques');
  await assert.rejects(
    learnMask({ project, type: 'widget/crack', modelDir: sdDir, settings: { steps: 1 } }),
    (e) => isUserError(e) && e.code === 'MODEL_UNSUPPORTED' && /not supported yet/.test(e.message) && e.message.includes(sdDir),
  );
  project.close();
});

test('a saved embedding runs in the model loader: its encoder weights give the tokens of the training-time encoder', async () => {
  const { loadBuiltinModel } = await import('../../../src/engine/models/builtin/load');
  const { createEncoderRunner } = await import('../../../src/engine/anomaly/encoder-session');
  const { materialiseFloatWeights } = await import('../../../src/engine/anomaly/encoder-weights');
  const { loadModel } = await import('../../../src/engine/onnx/io');
  const { join } = await import('node:path');
  const project = await fx.newProject('chargement');
  const r = await learnDefect({ project, type: 'widget/crack', modelDir: fx.modelDir, settings: { ...settings, steps: 3 } });
  const saved = embeddingOf(project, r.artifactId);
  const model = await loadBuiltinModel(fx.modelDir);
  const mask = new Uint8Array(64 * 64);
  for (let y = 10; y < 30; y++) for (let x = 30; x < 50; x++) mask[y * 64 + x] = 255;
  const viaLoader = await model.spatialTokens({ width: 64, height: 64, data: mask }, saved.spatialEncoder!);
  const encoder = materialiseFloatWeights(await loadModel(join(fx.modelDir, 'spatial_encoder.onnx'), { loadExternal: true }));
  const names = Object.keys(saved.spatialEncoder!);
  const runner = await createEncoderRunner(encoder, names, { width: 64, height: 64 });
  const viaRunner = await runner.tokens(mask, new Map(names.map((n) => [n, saved.spatialEncoder![n]!.data])));
  // the same computation; weights as initializers (folded by ORT) or as inputs round differently
  assert.equal(viaLoader.length, viaRunner.length);
  for (let i = 0; i < viaLoader.length; i++) assert.ok(Math.abs(viaLoader[i]! - viaRunner[i]!) <= 1e-5 * (1 + Math.abs(viaRunner[i]!)), `token value ${i}`);
  // and the trained encoder differs from the package's own
  assert.notDeepEqual(await model.spatialTokens({ width: 64, height: 64, data: mask }), viaLoader);
  await runner.release();
  await model.release();
  project.close();
});
