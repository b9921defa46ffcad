import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../../fixtures/temp-dir';
import { writeTinyPackage, tinyVocabulary, TINY } from '../../fixtures/builtin/tiny-package';
import { openProject, type Project } from '../../../src/main/store/project';
import { ensureDefectType } from '../../../src/main/store/defect-types';
import { committedIndices, getSample, jobSamples } from '../../../src/main/store/samples';
import { JobStore, type JobRecord } from '../../../src/main/jobs/job-store';
import { runAugment, type AugmentJobs, type AugmentRequest } from '../../../src/main/augment';
import { synthesizeJob, type SynthesizeJobParams } from '../../../src/engine/host/methods/synthesize-job';
import { runSynthesis } from '../../../src/engine/synthesis/job';
import { Rng } from '../../../src/shared/random';
import { loadTiny, makeSynthesisFixture, planFor } from '../../engine/synthesis/fixture';

const tmp = makeTempDir('augment');
after(() => tmp.cleanup());

/** Jobs run in this process through the engine's handler, recorded in the jobs table like the manager does. */
function inProcessJobs(project: Project): AugmentJobs & { submitted: { kind: string; params: SynthesizeJobParams }[] } {
  const store = new JobStore(project.db);
  const runs = new Map<number, Promise<JobRecord>>();
  const submitted: { kind: string; params: SynthesizeJobParams }[] = [];
  return {
    submitted,
    submit(kind, params) {
      submitted.push({ kind, params: params as SynthesizeJobParams });
      const id = store.insert(kind, params);
      store.markRunning(id);
      const ctx = { signal: new AbortController().signal, jobId: id, progress: () => undefined, log: () => undefined };
      runs.set(
        id,
        synthesizeJob({ ...(params as object), threads: 1 }, ctx).then(
          (r) => (store.markSucceeded(id, r), store.get(id)!),
          (e: Error) => (store.markFailed(id, e.message), store.get(id)!),
        ),
      );
      return id;
    },
    waitFor: (id) => runs.get(id)!,
    cancel: () => false,
    subscribe: () => () => undefined,
  };
}

const request = (model: string, out: string, extra: Partial<AugmentRequest> = {}): AugmentRequest => ({ perType: 2, out, formats: ['mvtec', 'coco'], model, seed: 3, steps: 2, ...extra });

test('bad input is refused before any job runs: counts, unknown types, a type without masks, a type the model cannot paint', async () => {
  const fx = await makeSynthesisFixture(join(tmp.dir, 'bad'));
  const project = openProject(fx.projectDir);
  const jobs = inProcessJobs(project);
  const out = join(tmp.dir, 'bad', 'out');
  try {
    for (const perType of [0, -3, 1.5]) await assert.rejects(runAugment(project, request(fx.modelDir, out, { perType }), jobs), new RegExp(`pairs per type must be a whole number >= 1 \\(got ${perType}\\)`));
    await assert.rejects(runAugment(project, request(fx.modelDir, out, { types: ['wood/dent'] }), jobs), /unknown defect type "wood\/dent"; known: wood\/hole, wood\/scratch/);
    ensureDefectType(project, 'wood', 'dent');
    await assert.rejects(runAugment(project, request(fx.modelDir, out, { types: ['dent'] }), jobs), /wood\/dent: the defect type has no masks on its training images/);
    // a model whose token table knows 'scratch' but not 'hole', and nothing learned for 'hole'
    const vocabulary = Object.fromEntries(Object.entries(tinyVocabulary()).filter(([l]) => !l.startsWith('defect:hole')).map(([l], i) => [l, i]));
    const noHole = join(tmp.dir, 'bad', 'sans trou');
    await writeTinyPackage(noHole, 7, { vocabulary, tokenTable: new Rng(1).normals(Object.keys(vocabulary).length * TINY.width) });
    await assert.rejects(runAugment(project, request(noHole, out, { types: ['hole'] }), jobs), /wood\/hole: no learned defect for model 'tiny-random', and the model knows no defect family 'hole'; learn it first/);
    assert.equal(jobs.submitted.length, 0);
    assert.equal(existsSync(out), false);
  } finally {
    project.close();
  }
});

test('augment makes what is missing, reuses what exists, and resumes a stopped run', async () => {
  const fx = await makeSynthesisFixture(join(tmp.dir, 'ok'));
  const project = openProject(fx.projectDir);
  const jobs = inProcessJobs(project);
  try {
    const first = await runAugment(project, request(fx.modelDir, join(tmp.dir, 'ok', 'export 1')), jobs);
    assert.deepEqual(first.types.map((t) => [t.type, t.existing, t.made, t.exported, t.conditioning]), [
      ['wood/hole', 0, 2, 2, 'model-defect'],
      ['wood/scratch', 0, 2, 2, 'model-defect'],
    ]);
    assert.equal(jobs.submitted.length, 2);
    assert.equal(first.export.synthetic, 4);
    assert.equal(readdirSync(join(tmp.dir, 'ok', 'export 1', 'mvtec', 'wood', 'train', 'scratch')).length, 2);
    // the per-type AAR setting reaches the plan
    assert.equal(jobs.submitted[0]!.params.plan.types[0]!.aar, true);

    // same request again: nothing to make, only the export
    const again = await runAugment(project, request(fx.modelDir, join(tmp.dir, 'ok', 'export 2')), jobs);
    assert.deepEqual(again.types.map((t) => t.made), [0, 0]);
    assert.equal(jobs.submitted.length, 2);

    // a stopped run of 'hole' (cancelled after 1 of its 2 pairs) is resumed, under its own run id
    const model = await loadTiny(fx.modelDir);
    const store = new JobStore(project.db);
    let stoppedId = 0;
    try {
      const plan = await planFor(project, model, ['wood/hole'], 2, 77);
      stoppedId = store.insert('synthesize', { project: fx.projectDir, model: fx.modelDir, plan });
      store.markRunning(stoppedId);
      await runSynthesis(project, model, plan, { runJobId: stoppedId, appVersion: 'test', stopAfter: 1 });
      store.markCancelled(stoppedId, 'cancelled by the user');
    } finally {
      await model.release();
    }
    const third = await runAugment(project, request(fx.modelDir, join(tmp.dir, 'ok', 'export 3'), { perType: 4, types: ['hole'] }), jobs);
    // 2 from the first run + 1 committed by the stopped run; resuming it makes its second pair: 4
    assert.equal(third.types[0]!.existing, 3);
    assert.equal(third.types[0]!.made, 1);
    assert.equal(jobs.submitted[2]!.params.runJobId, stoppedId);
    assert.deepEqual(committedIndices(project, stoppedId), [0, 1]);
    assert.equal(jobSamples(project, stoppedId).every((s) => getSample(project, s.id).lineage!.seed > 0), true);
    assert.equal(third.export.synthetic, 4);
  } finally {
    project.close();
  }
});
