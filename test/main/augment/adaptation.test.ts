import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../../fixtures/temp-dir';
import { openProject, type Project } from '../../../src/main/store/project';
import { JobStore } from '../../../src/main/jobs/job-store';
import { countTypeSamples, typeSamples } from '../../../src/main/store/samples';
import { LocalJobs, planAdaptation, runAugment, type AugmentRequest } from '../../../src/main/augment';
import { listAdaptedModels } from '../../../src/engine/adapt/adapted-artifact';
import type { AdaptMethodResult } from '../../../src/engine/host/methods/adapt';
import { packageContentHash } from '../../../src/engine/models/builtin/files';
import { readBuiltinManifest } from '../../../src/engine/models/builtin/load';
import { isUserError } from '../../../src/shared/errors';
import { makeSynthesisFixture } from '../../engine/synthesis/fixture';

const tmp = makeTempDir('augment-adapt');
after(() => tmp.cleanup());

/** Few steps for the tiny model (project settings, as the workstation stores them). */
function setSmallBudgets(project: Project, adaptation: Record<string, unknown> = { steps: 4, evalEvery: 2, variants: 1, batch: 2 }): void {
  const learning = { defect: { steps: 3, variants: 1, previewEvery: 0 }, mask: { steps: 3, variants: 1 } };
  project.db.prepare('UPDATE project SET settings_json = ? WHERE id = 1').run(JSON.stringify({ learning, adaptation }));
}

const jobs = (project: Project): { kind: string; model: string }[] =>
  new JobStore(project.db).list().sort((a, b) => a.id - b.id).map((j) => ({ kind: j.kind, model: (j.params as { model: string }).model }));

const request = (model: string, out: string, extra: Partial<AugmentRequest> = {}): AugmentRequest => ({ perType: 1, out, formats: ['mvtec'], types: ['scratch'], model, seed: 3, steps: 2, ...extra });

const typeId = (project: Project, name: string): number => project.db.prepare('SELECT id FROM defect_types WHERE name = ?').pluck().get(name) as number;

test('adaptation is on by default: it runs first, learning and synthesis use the adapted package; the next run reuses it; off, the base model is used', async () => {
  const root = join(tmp.dir, 'défaut');
  const fx = await makeSynthesisFixture(root);
  const project = openProject(fx.projectDir);
  const local = new LocalJobs(project.db, { threads: 1 });
  setSmallBudgets(project);
  const baseHash = packageContentHash(await readBuiltinManifest(fx.modelDir));
  try {
    const stages: string[] = [];
    const progressKinds = new Set<string>();
    const first = await runAugment(project, request(fx.modelDir, join(root, 'export 1')), local, { onStage: (m) => stages.push(m), onProgress: (_t, _p, kind) => progressKinds.add(kind) });
    assert.equal(first.adaptation.status, 'ran');
    const adapted = first.adaptation.adapted!;
    assert.equal(first.adaptation.steps, 4);
    assert.deepEqual(first.adaptation.baseModel, { dir: fx.modelDir, contentHash: baseHash });
    assert.equal(adapted.dir, join(fx.projectDir, 'models', 'tiny-random-adapted-1'));
    assert.notEqual(adapted.contentHash, baseHash);
    assert.equal(packageContentHash(await readBuiltinManifest(adapted.dir)), adapted.contentHash);
    assert.ok(adapted.psnrBefore !== null && adapted.psnrAfter !== null);
    // the pairs are the adapted model's, and every stage after adaptation ran on it
    assert.deepEqual(first.model, { dir: adapted.dir, name: 'tiny-random-adapted-1', contentHash: adapted.contentHash });
    assert.deepEqual(jobs(project), [
      { kind: 'adapt', model: fx.modelDir },
      { kind: 'learn-defect', model: adapted.dir },
      { kind: 'synthesize', model: adapted.dir },
    ]);
    assert.equal(first.adaptation.jobId, 1);
    assert.equal((new JobStore(project.db).get(1)!.result as AdaptMethodResult).steps, 4);
    assert.equal(countTypeSamples(project, typeId(project, 'scratch'), adapted.contentHash), 1);
    assert.equal(countTypeSamples(project, typeId(project, 'scratch'), baseHash), 0);
    // the stage is reported, with its progress, before learning
    assert.match(stages[0]!, /^model: adapting modèle tiny to the project's normal images \(at most 4 steps\)$/);
    assert.match(stages[1]!, /^model: adapted in 4 steps; VAE PSNR on held-out normals -?\d+\.\d\d -> -?\d+\.\d\d dB$/);
    assert.match(stages[2]!, /wood\/scratch: learning the defect/);
    assert.ok(progressKinds.has('adapt'), [...progressKinds].join(', '));

    // again: the adapted package is reused, nothing runs but the export
    const again = await runAugment(project, request(fx.modelDir, join(root, 'export 2')), local);
    assert.equal(again.adaptation.status, 'reused');
    assert.deepEqual(again.adaptation.adapted, adapted);
    assert.equal(again.adaptation.jobId, undefined);
    assert.deepEqual([again.types[0]!.made, again.export.synthetic], [0, 1]);
    assert.equal(jobs(project).length, 3);
    assert.equal(listAdaptedModels(project).length, 1);

    // switched off: the base model, which has nothing learnt yet
    const off = await runAugment(project, request(fx.modelDir, join(root, 'export 3'), { adapt: false }), local);
    assert.deepEqual(off.adaptation, { status: 'off', reason: 'switched off', baseModel: { dir: fx.modelDir, contentHash: null } });
    assert.equal(off.model.contentHash, baseHash);
    assert.deepEqual(jobs(project).slice(3), [
      { kind: 'learn-defect', model: fx.modelDir },
      { kind: 'synthesize', model: fx.modelDir },
    ]);
    assert.equal(typeSamples(project, typeId(project, 'scratch'), baseHash, 5).length, 1);
  } finally {
    project.close();
  }
});

test('a stopped adaptation continues from its checkpoint when augment runs again', async () => {
  const root = join(tmp.dir, 'arrêt');
  const fx = await makeSynthesisFixture(root);
  const project = openProject(fx.projectDir);
  const local = new LocalJobs(project.db, { threads: 1 });
  setSmallBudgets(project, { steps: 6, evalEvery: 3, variants: 1, batch: 2 });
  try {
    const stop = new AbortController();
    await assert.rejects(
      runAugment(project, request(fx.modelDir, join(root, 'export')), local, { signal: stop.signal, onProgress: (_t, p, kind) => kind === 'adapt' && p.loss !== undefined && p.step >= 2 && stop.abort() }),
      (e: unknown) => isUserError(e) && e.code === 'CANCELLED' && /model: adapt cancelled \(job 1\); run the same command again/.test(e.message),
    );
    assert.equal(listAdaptedModels(project).length, 0);
    assert.equal(existsSync(join(root, 'export')), false);

    const done = await runAugment(project, request(fx.modelDir, join(root, 'export')), local);
    assert.equal(done.adaptation.status, 'ran');
    const resumed = new JobStore(project.db).get(done.adaptation.jobId!)!.result as AdaptMethodResult;
    assert.ok(resumed.resumedFromStep >= 2, `resumed at step ${resumed.resumedFromStep}`);
    assert.equal(resumed.steps, 6);
    assert.deepEqual(jobs(project).map((j) => j.kind), ['adapt', 'adapt', 'learn-defect', 'synthesize']);
  } finally {
    project.close();
  }
});

test('the plan: SD 1.x folders are off by default and refused when asked for; an adapted package is left alone; a damaged or missing package is not reused', async () => {
  const root = join(tmp.dir, 'plan');
  const fx = await makeSynthesisFixture(root);
  const project = openProject(fx.projectDir);
  const local = new LocalJobs(project.db, { threads: 1 });
  setSmallBudgets(project);
  try {
    // an SD 1.x export is recognised by its model_index.json
    const sd = join(root, 'sd 1.5 onnx');
    mkdirSync(sd);
    writeFileSync(join(sd, 'model_index.json'), '{}');
    assert.deepEqual(await planAdaptation(project, sd, 'auto'), { action: 'off', baseDir: sd, reason: 'Stable Diffusion 1.x folder (off by default)' });
    await assert.rejects(planAdaptation(project, sd, true), (e: unknown) => isUserError(e) && e.code === 'ADAPT_UNSUPPORTED' && e.message.startsWith(`${sd}: adapting Stable Diffusion 1.x folders is not supported`));
    // augment with an incomplete one stops before any job, naming the missing files
    const jobsBefore = project.db.prepare('SELECT count(*) FROM jobs').pluck().get();
    await assert.rejects(runAugment(project, request(sd, join(root, 'x')), local), (e: unknown) => isUserError(e) && e.code === 'sd-missing-file' && e.message.startsWith(`${sd}: missing `) && e.message.includes('unet'));
    assert.equal(project.db.prepare('SELECT count(*) FROM jobs').pluck().get(), jobsBefore);
    await assert.rejects(planAdaptation(project, fx.modelDir, 'yes' as unknown as boolean), /adapt must be true, false or "auto" \(got "yes"\)/);

    const plan = await planAdaptation(project, fx.modelDir, 'auto', { steps: 2 });
    assert.equal(plan.action, 'run');
    assert.deepEqual(plan.action === 'run' && plan.settings, { steps: 2, evalEvery: 2, variants: 1, batch: 2 }, 'the request over the project settings');

    const report = await runAugment(project, request(fx.modelDir, join(root, 'export')), local);
    const adapted = report.adaptation.adapted!;
    // the adapted package as the model: 'auto' does not adapt it again, true does (from it)
    assert.deepEqual(await planAdaptation(project, adapted.dir, 'auto'), { action: 'off', baseDir: adapted.dir, reason: 'the model is an adapted package already' });
    assert.equal((await planAdaptation(project, adapted.dir, true)).action, 'run');
    assert.equal((await planAdaptation(project, fx.modelDir, 'auto')).action, 'reuse');
    // a file of the package damaged after it was recorded: not reused
    const unetFile = join(adapted.dir, (await readBuiltinManifest(adapted.dir)).files.unet.path);
    const bytes = readFileSync(unetFile);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    writeFileSync(unetFile, bytes);
    assert.equal((await planAdaptation(project, fx.modelDir, 'auto')).action, 'run');
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    writeFileSync(unetFile, bytes);
    assert.equal((await planAdaptation(project, fx.modelDir, 'auto')).action, 'reuse');
    // the package moved away: not reused
    renameSync(adapted.dir, `${adapted.dir} moved`);
    assert.equal((await planAdaptation(project, fx.modelDir, 'auto')).action, 'run');
  } finally {
    project.close();
  }
});

test('bad adaptation settings, and learned masks with learning off, are refused before any job', async () => {
  const root = join(tmp.dir, 'refus');
  const fx = await makeSynthesisFixture(root);
  const project = openProject(fx.projectDir);
  const local = new LocalJobs(project.db, { threads: 1 });
  try {
    setSmallBudgets(project, { steps: 'many' });
    await assert.rejects(runAugment(project, request(fx.modelDir, join(root, 'x')), local), /settings adaptation\.steps must be a number \(got "many"\)/);
    setSmallBudgets(project, { mode: 'half' });
    await assert.rejects(runAugment(project, request(fx.modelDir, join(root, 'x')), local), /settings adaptation\.mode must be "full" or "lora" \(got "half"\)/);
    setSmallBudgets(project);
    project.db.prepare('UPDATE defect_types SET settings_json = ? WHERE name = ?').run(JSON.stringify({ maskSource: 'learned' }), 'hole');
    await assert.rejects(
      runAugment(project, request(fx.modelDir, join(root, 'x'), { types: ['hole'], learning: { mode: 'off' } }), local),
      (e: unknown) => isUserError(e) && e.code === 'NO_MASK_EMBEDDING' && /wood\/hole: its mask source is 'learned', but learning is off and adaptation makes a new model/.test(e.message),
    );
    assert.deepEqual(jobs(project), []);
  } finally {
    project.close();
  }
});
