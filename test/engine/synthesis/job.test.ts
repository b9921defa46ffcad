import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTempDir } from '../../fixtures/temp-dir';
import { openProject, type Project } from '../../../src/main/store/project';
import { committedIndices, getSample, jobSamples } from '../../../src/main/store/samples';
import { runSynthesis } from '../../../src/engine/synthesis/job';
import { regenerateSample } from '../../../src/engine/synthesis/regenerate';
import { decodeImage } from '../../../src/engine/imaging';
import { normalFull } from '../../../src/engine/synthesis/pair-inputs';
import type { BuiltinModel } from '../../../src/engine/models/builtin/load';
import { loadTiny, makeSynthesisFixture, newJob, planFor, type SynthesisFixture } from './fixture';

const tmp = makeTempDir('synthesis-job');
let fx: SynthesisFixture;
let project: Project;
let model: BuiltinModel;
const N = 6;
const APP = '0.0.0-test';

before(async () => {
  fx = await makeSynthesisFixture(tmp.dir);
  project = openProject(fx.projectDir);
  model = await loadTiny(fx.modelDir);
});
after(async () => {
  await model.release();
  project.close();
  tmp.cleanup();
});

test('an uninterrupted run and a run cancelled at k then resumed store the same N pairs, byte for byte, none twice', async () => {
  const plan = await planFor(project, model, ['wood/scratch', 'hole'], N / 2);
  const whole = newJob(project);
  const a = await runSynthesis(project, model, plan, { runJobId: whole, appVersion: APP });
  assert.equal(a.made, N);
  assert.equal(a.total, N);

  const stopped = newJob(project);
  const controller = new AbortController();
  const k = 2;
  await assert.rejects(
    runSynthesis(project, model, plan, { runJobId: stopped, appVersion: APP, signal: controller.signal, onProgress: (done) => done === k && controller.abort() }),
    (e: Error) => e.name === 'AbortError' || e.name === 'CancelledError',
  );
  assert.deepEqual(committedIndices(project, stopped), [0, 1]);
  // a second interruption (a crash after one more pair), then the resume that finishes the run
  const partial = await runSynthesis(project, model, plan, { runJobId: stopped, appVersion: APP, stopAfter: 1 });
  assert.deepEqual([partial.alreadyDone, partial.made], [k, 1]);
  const resumed = await runSynthesis(project, model, plan, { runJobId: stopped, appVersion: APP });
  assert.deepEqual([resumed.alreadyDone, resumed.made], [k + 1, N - k - 1]);
  // nothing left to do: a further resume makes nothing
  assert.equal((await runSynthesis(project, model, plan, { runJobId: stopped, appVersion: APP })).made, 0);

  const left = jobSamples(project, whole);
  const right = jobSamples(project, stopped);
  assert.deepEqual(right.map((s) => s.indexInJob), [0, 1, 2, 3, 4, 5]);
  assert.equal(new Set(right.map((s) => s.indexInJob)).size, N);
  assert.deepEqual(right.map((s) => [s.imageBlob, s.maskBlob]), left.map((s) => [s.imageBlob, s.maskBlob]));
  // types take consecutive index ranges, in catalogue order; the pairs differ from each other
  assert.deepEqual(right.map((s) => s.defectType), ['hole', 'hole', 'hole', 'scratch', 'scratch', 'scratch']);
  assert.equal(new Set(right.map((s) => s.imageBlob)).size, N);
});

test('a stored pair: the normal image size (80x72, not the model 64x64), binary mask, background equal to the normal far from the mask, full lineage', async () => {
  const plan = await planFor(project, model, ['wood/scratch'], 1, 99);
  const job = newJob(project);
  await runSynthesis(project, model, plan, { runJobId: job, appVersion: APP });
  const [sample] = jobSamples(project, job);
  const full = getSample(project, sample!.id);
  const image = await decodeImage(project.blobs.read(full.imageBlob), 'image');
  const mask = await decodeImage(project.blobs.read(full.maskBlob), 'mask');
  assert.deepEqual([image.width, image.height, image.channels], [80, 72, 3]);
  assert.deepEqual([mask.width, mask.height, mask.channels], [80, 72, 1]);
  assert.ok(mask.data.every((v) => v === 0 || v === 255));
  assert.ok(mask.data.some((v) => v === 255));
  const l = full.lineage!;
  // far (> 6 px) from the mask the image is the stored normal image, byte for byte
  const normalBlob = (project.db.prepare('SELECT blob_hash FROM images WHERE id = ?').get(l.normalImageId) as { blob_hash: string }).blob_hash;
  const normal = await normalFull({ read: (h) => project.blobs.read(h), path: (h) => h }, normalBlob);
  let far = 0;
  for (let y = 0; y < 72; y++) {
    for (let x = 0; x < 80; x++) {
      let near = false;
      for (let dy = -6; dy <= 6 && !near; dy++) for (let dx = -6; dx <= 6 && !near; dx++) near = mask.data[Math.min(71, Math.max(0, y + dy)) * 80 + Math.min(79, Math.max(0, x + dx))] === 255;
      if (near) continue;
      far++;
      for (let c = 0; c < 3; c++) assert.equal(image.data[(y * 80 + x) * 3 + c], normal.data[(y * 80 + x) * 3 + c]);
    }
  }
  assert.ok(far > 1000);
  assert.equal(l.modelHash, model.facts.contentHash);
  assert.equal(l.maskOrigin, 'real');
  // the mask source's origin: the request seed, the real mask it moved, how
  const origin = l.maskSource as { kind: string; seed: number; maskId: number; scale: number; foregroundMode: string };
  assert.equal(origin.kind, 'real');
  assert.equal(origin.foregroundMode, 'none');
  assert.ok(origin.scale >= 0.75 && origin.scale <= 1.25, `scale ${origin.scale}`);
  assert.equal((l.sampler as { recipe: { mask: { seed: number } } }).recipe.mask.seed, origin.seed);
  assert.equal(l.executionProvider, 'cpu');
  assert.equal(l.appVersion, APP);
  const sampler = l.sampler as { recipe: { seed: number; normal: { imageId: number } }; resizedFrom: { width: number }; window: { width: number; height: number }; generation: { aar: { enabled: boolean } }; conditioning: unknown };
  assert.equal(sampler.recipe.seed, l.seed);
  assert.equal(sampler.recipe.normal.imageId, l.normalImageId);
  assert.equal(sampler.resizedFrom.width, 80);
  // the model generated on a square window of the image (or the whole image, squeezed)
  assert.equal(sampler.window.width === sampler.window.height || (sampler.window.width === 80 && sampler.window.height === 72), true);
  assert.equal(sampler.generation.aar.enabled, true);
  assert.deepEqual(sampler.conditioning, { family: 'wood', defect: 'scratch', injectedVectors: 0, spatialTokens: 'model-encoder' });
});

test('regenerate rebuilds a sample bit-identically from its lineage; a changed recipe is reported as different', async () => {
  const plan = await planFor(project, model, ['wood/hole'], 1, 5);
  const job = newJob(project);
  await runSynthesis(project, model, plan, { runJobId: job, appVersion: APP });
  const [sample] = jobSamples(project, job);
  const report = await regenerateSample(project, sample!.id, { appVersion: APP, load: { intraOpNumThreads: 1 } });
  assert.equal(report.identical, true);
  assert.equal(report.image.regenerated, sample!.imageBlob);
  assert.equal(report.mask.regenerated, sample!.maskBlob);
  assert.equal(report.model.path, fx.modelDir);

  // the same sample with another noise seed in its recipe: same mask, different image
  const row = project.db.prepare('SELECT sampler_json FROM lineage WHERE sample_id = ?').get(sample!.id) as { sampler_json: string };
  const changed = JSON.parse(row.sampler_json);
  changed.recipe.seed = (changed.recipe.seed + 1) >>> 0;
  project.db.prepare('UPDATE lineage SET sampler_json = ? WHERE sample_id = ?').run(JSON.stringify(changed), sample!.id);
  const other = await regenerateSample(project, sample!.id, { appVersion: APP, load: { intraOpNumThreads: 1 } });
  assert.equal(other.identical, false);
  assert.equal(other.mask.identical, true);
  assert.equal(other.image.identical, false);
});

test('bad plans are refused before anything is generated, naming the type', async () => {
  const plan = await planFor(project, model, ['wood/scratch'], 1);
  const job = newJob(project);
  await assert.rejects(runSynthesis(project, model, { ...plan, types: [{ ...plan.types[0]!, count: 0 }] }, { runJobId: job, appVersion: APP }), /wood\/scratch: the number of pairs must be a whole number >= 1 \(got 0\)/);
  await assert.rejects(
    runSynthesis(project, model, { ...plan, types: [{ ...plan.types[0]!, maskSource: { kind: 'painted' as 'real', foreground: 'none' } }] }, { runJobId: job, appVersion: APP }),
    /wood\/scratch: the mask source must be one of learned, real, perlin, drawn \(got "painted"\)/,
  );
  await assert.rejects(
    runSynthesis(project, model, { ...plan, types: [{ ...plan.types[0]!, maskSource: { kind: 'learned', foreground: 'none' } }] }, { runJobId: job, appVersion: APP }),
    /wood\/scratch: learned masks need the mask-embedding artifact/,
  );
  assert.deepEqual(committedIndices(project, job), []);
});
