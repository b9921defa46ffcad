import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../../fixtures/temp-dir';
import { openProject, type Project } from '../../../src/main/store/project';
import { ensureDefectType } from '../../../src/main/store/defect-types';
import { listArtifacts } from '../../../src/main/store/artifacts';
import { committedIndices, getSample, jobSamples, typeSamples } from '../../../src/main/store/samples';
import { JobStore } from '../../../src/main/jobs/job-store';
import { LocalJobs, runAugment, type AugmentRequest } from '../../../src/main/augment';
import type { SynthesizeJobParams } from '../../../src/engine/host/methods/synthesize-job';
import type { LearnDefectMethodResult } from '../../../src/engine/host/methods/learn-protocol';
import { runSynthesis } from '../../../src/engine/synthesis/job';
import { loadTiny, makeSynthesisFixture, planFor } from '../../engine/synthesis/fixture';

const tmp = makeTempDir('augment');
after(() => tmp.cleanup());

/** Small learning settings for the tiny model, as project settings (project.settings_json). */
function setLearning(project: Project): void {
  const learning = { defect: { steps: 8, variants: 2, previewEvery: 0 }, mask: { steps: 6, variants: 2 } };
  // an untrained tiny model's mask images need a lower threshold than a trained one's 0.8
  const maskSampling = { steps: 4, threshold: 0.2 };
  project.db.prepare('UPDATE project SET settings_json = ? WHERE id = 1').run(JSON.stringify({ learning, maskSampling }));
}

function setTypeSettings(project: Project, name: string, settings: Record<string, unknown>): void {
  project.db.prepare('UPDATE defect_types SET settings_json = ? WHERE name = ?').run(JSON.stringify(settings), name);
}

const jobKinds = (project: Project): string[] => (project.db.prepare('SELECT kind FROM jobs ORDER BY id').pluck().all() as string[]);

// these tests are about learning, synthesis and export: adaptation (adaptation.test.ts) is off
const request = (model: string, out: string, extra: Partial<AugmentRequest> = {}): AugmentRequest => ({ perType: 2, out, formats: ['mvtec', 'coco'], model, seed: 3, steps: 2, adapt: false, ...extra });

test('bad input is refused before any job runs: counts, unknown types, missing masks, bad type settings, nothing learnt with learning off', async () => {
  const fx = await makeSynthesisFixture(join(tmp.dir, 'bad'));
  const project = openProject(fx.projectDir);
  const jobs = new LocalJobs(project.db, { threads: 1 });
  const out = join(tmp.dir, 'bad', 'out');
  try {
    for (const perType of [0, -3, 1.5]) await assert.rejects(runAugment(project, request(fx.modelDir, out, { perType }), jobs), new RegExp(`pairs per type must be a whole number >= 1 \\(got ${perType}\\)`));
    await assert.rejects(runAugment(project, request(fx.modelDir, out, { types: ['wood/dent'] }), jobs), /unknown defect type "wood\/dent"; known: wood\/hole, wood\/scratch/);
    ensureDefectType(project, 'wood', 'dent');
    await assert.rejects(runAugment(project, request(fx.modelDir, out, { types: ['dent'] }), jobs), /wood\/dent: the defect type has no masks on its training images/);
    setTypeSettings(project, 'hole', { maskSource: 'drawn' });
    await assert.rejects(runAugment(project, request(fx.modelDir, out, { types: ['hole'] }), jobs), /wood\/hole: its mask source is 'drawn' but nobody drew a mask for it yet/);
    setTypeSettings(project, 'hole', { maskSource: 'sketched' });
    await assert.rejects(runAugment(project, request(fx.modelDir, out, { types: ['hole'] }), jobs), /wood\/hole: the setting maskSource must be one of learned, real, perlin, drawn \(got "sketched"\)/);
    setTypeSettings(project, 'hole', { maskSource: 'learned' });
    await assert.rejects(
      runAugment(project, request(fx.modelDir, out, { types: ['hole'], learning: { mode: 'off' } }), jobs),
      /wood\/hole: its mask source is 'learned' but no mask embedding was learnt for model 'tiny-random'/,
    );
    project.db.prepare('UPDATE project SET settings_json = ? WHERE id = 1').run(JSON.stringify({ learning: { defect: { steps: 'many' } } }));
    await assert.rejects(runAugment(project, request(fx.modelDir, out, { types: ['scratch'] }), jobs), /settings learning\.defect\.steps must be a number \(got "many"\)/);
    assert.deepEqual(jobKinds(project), []);
    assert.equal(existsSync(out), false);
  } finally {
    project.close();
  }
});

test('from a project with no artifacts: learning, then synthesis with the learnt embedding, then export; a second augment reuses everything', async () => {
  const fx = await makeSynthesisFixture(join(tmp.dir, 'ok'));
  const project = openProject(fx.projectDir);
  const jobs = new LocalJobs(project.db, { threads: 1 });
  setLearning(project);
  setTypeSettings(project, 'hole', { maskSource: 'learned' });
  setTypeSettings(project, 'scratch', { maskSource: 'perlin', aar: false });
  try {
    const first = await runAugment(project, request(fx.modelDir, join(tmp.dir, 'ok', 'export 1')), jobs);
    assert.deepEqual(
      first.types.map((t) => [t.type, t.maskSource, t.conditioning, t.existing, t.made, t.exported]),
      [
        ['wood/hole', 'learned', 'learned-embedding', 0, 2, 2],
        ['wood/scratch', 'perlin', 'learned-embedding', 0, 2, 2],
      ],
    );
    // per type, in order: its masks (learned source only), its defect, then synthesis
    assert.deepEqual(jobKinds(project), ['learn-mask', 'learn-defect', 'synthesize', 'learn-defect', 'synthesize']);
    const store = new JobStore(project.db);
    assert.ok(store.list().every((j) => j.state === 'succeeded'));
    assert.equal(first.types[0]!.learned.mask!.steps, 6);
    assert.equal(first.types[0]!.learned.defect!.steps, 8);
    assert.equal(first.types[1]!.learned.mask, undefined);
    assert.equal(listArtifacts(project, 'anomaly-embedding').length, 2);
    assert.equal(listArtifacts(project, 'mask-embedding').length, 1);

    // the pairs: made with the type's learnt embedding and its mask source, recorded in the lineage
    const [hole, scratch] = first.types.map((t) => t.learned.defect!.artifactId);
    const maskArtifact = first.types[0]!.learned.mask!.artifactId;
    for (const s of typeSamples(project, project.db.prepare("SELECT id FROM defect_types WHERE name = 'hole'").pluck().get() as number, null)) {
      const l = getSample(project, s.id).lineage!;
      assert.equal(l.maskOrigin, 'learned');
      assert.equal(l.maskSource['artifactId'], maskArtifact);
      assert.deepEqual(l.artifactIds, [hole, maskArtifact]);
      assert.equal((l.sampler['conditioning'] as { spatialTokens: string }).spatialTokens, 'embedding-encoder');
      // generated with the normal image's detail restored (the default), as the recipe records
      assert.equal((l.sampler['generation'] as { pasteBack: { restoreDetail?: boolean } }).pasteBack.restoreDetail, true);
      assert.equal((l.sampler['recipe'] as { restoreDetail?: boolean }).restoreDetail, true);
    }
    for (const s of typeSamples(project, project.db.prepare("SELECT id FROM defect_types WHERE name = 'scratch'").pluck().get() as number, null)) {
      const l = getSample(project, s.id).lineage!;
      assert.equal(l.maskOrigin, 'perlin');
      assert.deepEqual(l.artifactIds, [scratch]);
      assert.equal((l.sampler['generation'] as { aar: { enabled: boolean } }).aar.enabled, false);
    }
    assert.equal(first.export.synthetic, 4);
    assert.equal(readdirSync(join(tmp.dir, 'ok', 'export 1', 'mvtec', 'wood', 'train', 'scratch')).length, 2);

    // same request again: nothing to learn or make, only the export
    const again = await runAugment(project, request(fx.modelDir, join(tmp.dir, 'ok', 'export 2')), jobs);
    assert.deepEqual(again.types.map((t) => [t.made, t.jobs.length, t.conditioning]), [
      [0, 0, 'learned-embedding'],
      [0, 0, 'learned-embedding'],
    ]);
    assert.equal(jobKinds(project).length, 5);
    assert.equal(again.export.synthetic, 4);

    // more pairs: only synthesis runs, with the same artifacts (and here without the detail restored)
    const more = await runAugment(project, request(fx.modelDir, join(tmp.dir, 'ok', 'export 3'), { perType: 3, types: ['scratch'], restoreDetail: false }), jobs);
    assert.deepEqual([more.types[0]!.made, more.types[0]!.learned], [1, {}]);
    const scratchSamples = typeSamples(project, project.db.prepare("SELECT id FROM defect_types WHERE name = 'scratch'").pluck().get() as number, null);
    const newest = getSample(project, Math.max(...scratchSamples.map((x) => x.id))).lineage!;
    assert.equal((newest.sampler['generation'] as { pasteBack: { restoreDetail?: boolean } }).pasteBack.restoreDetail, false);
    assert.equal('restoreDetail' in (newest.sampler['recipe'] as object), false);
    assert.deepEqual(jobKinds(project).slice(5), ['synthesize']);
    assert.equal(listArtifacts(project, 'anomaly-embedding').length, 2);
  } finally {
    project.close();
  }
});

test('a stopped augment resumes each stage: learning from its checkpoint, synthesis from its committed pairs', async () => {
  const fx = await makeSynthesisFixture(join(tmp.dir, 'stop'));
  const project = openProject(fx.projectDir);
  const jobs = new LocalJobs(project.db, { threads: 1 });
  setLearning(project);
  const req = request(fx.modelDir, join(tmp.dir, 'stop', 'export'), { types: ['scratch'], perType: 3 });
  try {
    // 1. stopped during defect learning, after step 3
    const duringLearning = new AbortController();
    await assert.rejects(
      runAugment(project, req, jobs, { signal: duringLearning.signal, onProgress: (_t, p, stage) => stage === 'learn-defect' && p.loss !== undefined && p.step >= 3 && duringLearning.abort() }),
      /wood\/scratch: learn-defect cancelled \(job 1\); run the same command again/,
    );
    assert.equal(listArtifacts(project, 'anomaly-embedding').length, 0);

    // 2. run again: learning continues from its checkpoint; stopped after the first pair
    const duringSynthesis = new AbortController();
    await assert.rejects(
      runAugment(project, req, jobs, { signal: duringSynthesis.signal, onProgress: (_t, p, stage) => stage === 'synthesize' && p.step >= 1 && duringSynthesis.abort() }),
      /synthesize cancelled/,
    );
    const learnt = new JobStore(project.db).get(2)!;
    assert.equal(learnt.kind, 'learn-defect');
    const result = learnt.result as LearnDefectMethodResult;
    assert.ok(result.resumedFromStep >= 3, `resumed from step ${result.resumedFromStep}`);
    assert.equal(result.steps, 8);
    assert.deepEqual(committedIndices(project, 3), [0]);

    // 3. run again: no learning, the stopped synthesis run is resumed under its own run id
    const done = await runAugment(project, req, jobs);
    assert.deepEqual(jobKinds(project), ['learn-defect', 'learn-defect', 'synthesize', 'synthesize']);
    assert.equal((new JobStore(project.db).get(4)!.params as SynthesizeJobParams).runJobId, 3);
    assert.deepEqual(committedIndices(project, 3), [0, 1, 2]);
    assert.deepEqual([done.types[0]!.existing, done.types[0]!.made, done.export.synthetic], [1, 2, 3]);
    assert.equal(listArtifacts(project, 'anomaly-embedding').length, 1);
  } finally {
    project.close();
  }
});

test('a stopped synthesis run from another session is resumed before anything new; learning off uses the model\'s own defect rows', async () => {
  const fx = await makeSynthesisFixture(join(tmp.dir, 'resume'));
  const project = openProject(fx.projectDir);
  const jobs = new LocalJobs(project.db, { threads: 1 });
  try {
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
    const report = await runAugment(project, request(fx.modelDir, join(tmp.dir, 'resume', 'export'), { perType: 3, types: ['hole'], learning: { mode: 'off' } }), jobs);
    assert.deepEqual([report.types[0]!.existing, report.types[0]!.made, report.types[0]!.conditioning], [1, 2, 'model-defect']);
    assert.deepEqual(jobKinds(project), ['synthesize', 'synthesize', 'synthesize']);
    assert.equal((store.get(stoppedId + 1)!.params as SynthesizeJobParams).runJobId, stoppedId);
    assert.deepEqual(committedIndices(project, stoppedId), [0, 1]);
    assert.equal(jobSamples(project, stoppedId).every((s) => getSample(project, s.id).lineage!.seed > 0), true);
  } finally {
    project.close();
  }
});
