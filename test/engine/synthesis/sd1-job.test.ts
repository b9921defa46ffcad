// The synthesis job and regenerate on an SD 1.x folder (tiny random fixture, symbolic image size
// run at 64x64): a learned defect, real and Perlin masks, the image size in the lineage, pairs made
// again bit-identically; learned masks are refused naming the sources that work.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { makeLearnFixture, type LearnFixture } from '../anomaly/fixture';
import { learnDefect, TRAINING_WORK_DIR } from '../../../src/engine/anomaly/learn-defect';
import { runSynthesis } from '../../../src/engine/synthesis/job';
import { openSynthesisModel } from '../../../src/engine/synthesis/open-model';
import { regenerateSample } from '../../../src/engine/synthesis/regenerate';
import type { SynthesisPlan, TypeMaskSource } from '../../../src/engine/synthesis/recipe';
import type { LoadedModel } from '../../../src/engine/models/load';
import { conditioningFor, readModelInfo, resolveTypes, typeMaterial } from '../../../src/main/augment';
import type { Project } from '../../../src/main/store/project';
import { getSample, jobSamples } from '../../../src/main/store/samples';
import { JobStore } from '../../../src/main/jobs/job-store';
import { isUserError } from '../../../src/shared/errors';
import { writeTinySd1Folder } from '../../fixtures/sd1';

const imageSize = { width: 64, height: 64 };
const APP = '0.0.0-test';
let fx: LearnFixture;
let sdDir: string;
let project: Project;
let model: LoadedModel;

before(async () => {
  fx = await makeLearnFixture('sd1 job ü');
  sdDir = join(fx.root, 'sd modèle');
  await writeTinySd1Folder(sdDir);
  project = await fx.newProject('projet sd');
  await learnDefect({ project, type: 'widget/crack', modelDir: sdDir, imageSize, settings: { steps: 2, variants: 1, batch: 2, previewEvery: 0, checkpointEvery: 0, seed: 3 } });
  model = await openSynthesisModel(sdDir, { imageSize, threads: 1 });
});
after(async () => {
  await model?.release();
  project?.close();
  fx?.cleanup();
});

async function plan(maskSource: TypeMaskSource, count: number, seed = 5): Promise<SynthesisPlan> {
  const info = await readModelInfo(sdDir);
  assert.equal(info.contentHash, model.facts.contentHash, 'augment reads the hash the adapter computes');
  const [type] = resolveTypes(project, ['widget/crack']);
  const conditioning = conditioningFor(project, type!, info);
  assert.equal(conditioning?.kind, 'embedding', 'the learned embedding of the SD folder is found');
  return {
    seed,
    imageSize,
    sampler: { sampler: 'ddim', steps: 3, eta: 1 },
    guidance: 2,
    aar: { clamp: [1, 1.5], dilationRadius: 0 },
    types: [{ defectTypeId: type!.id, label: type!.label, count, aar: true, normals: typeMaterial(project, type!).normals, maskSource, conditioning: conditioning! }],
  };
}

const newJob = (): number => new JobStore(project.db).insert('synthesize', {});

test('learning on an SD folder leaves no training files behind in the project cache', async () => {
  assert.deepEqual(await fs.readdir(join(project.dir, TRAINING_WORK_DIR)), []);
});

test('an SD 1.x run with real and Perlin masks: pairs at the chosen size, the size in the lineage, regenerate bit-identical', async () => {
  for (const kind of ['real', 'perlin'] as const) {
    const job = newJob();
    const result = await runSynthesis(project, model, await plan({ kind, foreground: 'none' }, 2), { runJobId: job, appVersion: APP });
    assert.equal(result.made, 2);
    const samples = jobSamples(project, job);
    assert.equal(samples.length, 2);
    assert.notEqual(samples[0]!.imageBlob, samples[1]!.imageBlob);
    const sample = getSample(project, samples[1]!.id);
    const lineage = sample.lineage!;
    assert.equal(lineage.modelHash, model.facts.contentHash);
    assert.equal(lineage.maskOrigin, kind);
    assert.deepEqual(lineage.sampler['model'], { name: model.facts.name, kind: 'sd1', path: model.dir, imageSize });
    assert.deepEqual((lineage.sampler['conditioning'] as { injectedVectors: number }).injectedVectors, 12);
    const report = await regenerateSample(project, sample.id, { appVersion: APP });
    assert.equal(report.identical, true, `${kind}: regenerated ${report.image.regenerated} vs stored ${report.image.stored}`);
    assert.ok(report.maskOrigin.identical);
  }
});

test('learned masks on an SD folder are refused naming the sources that work; a plan for another size is refused', async () => {
  await assert.rejects(
    runSynthesis(project, model, await plan({ kind: 'learned', foreground: 'none', artifactId: 1 }, 1), { runJobId: newJob(), appVersion: APP }),
    (e: unknown) => isUserError(e) && e.code === 'MASKS_UNSUPPORTED' && /SD 1\.x folder/.test(e.message) && /real, perlin or drawn/.test(e.message),
  );
  const other = { ...(await plan({ kind: 'real', foreground: 'none' }, 1)), imageSize: { width: 128, height: 128 } };
  await assert.rejects(runSynthesis(project, model, other, { runJobId: newJob(), appVersion: APP }), (e: unknown) => isUserError(e) && e.code === 'IMAGE_SIZE' && /128x128/.test(e.message));
  // a package runs at its own size only
  await assert.rejects(openSynthesisModel(fx.modelDir, { imageSize: { width: 256, height: 256 } }), (e: unknown) => isUserError(e) && e.code === 'IMAGE_SIZE' && e.message.includes(fx.modelDir));
});
