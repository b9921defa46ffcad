import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { lines, runBin } from './run-bin';
import { makeLearnFixture, type LearnFixture } from '../engine/anomaly/fixture';
import { openProject } from '../../src/main/store/project';

let fx: LearnFixture;
let projectDir: string;
before(async () => {
  fx = await makeLearnFixture('cli-train');
  const project = await fx.newProject('projet CLI');
  projectDir = project.dir;
  project.close();
});
after(() => fx.cleanup());

test('train runs a learn-defect job through the engine and stores the next artifact version', async () => {
  const args = ['train', projectDir, '--type', 'widget/crack', '--steps', '3', '--model', fx.modelDir, '--preview-every', '0', '--variants', '2'];
  const r = await runBin([...args, '--json'], fx.root);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.defectType, 'widget/crack');
  assert.equal(result.version, 1);
  assert.equal(result.steps, 3);
  assert.ok(result.stepsPerSecond > 0);
  assert.match(r.stderr, /step 3\/3 {2}loss \d/);
  const text = await runBin(args, fx.root);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /widget\/crack: anomaly embedding version 2 \(artifact \d+\)/);
  const project = openProject(projectDir);
  const jobs = project.db.prepare("SELECT kind, state FROM jobs ORDER BY id").all();
  assert.deepEqual(jobs, [
    { kind: 'learn-defect', state: 'succeeded' },
    { kind: 'learn-defect', state: 'succeeded' },
  ]);
  assert.equal(project.db.prepare("SELECT count(*) FROM artifacts WHERE kind = 'anomaly-embedding'").pluck().get(), 2);
  project.close();
});

test('train: a missing or unknown defect type is one clear line and exit 1', async () => {
  const missing = await runBin(['train', projectDir, '--model', fx.modelDir], fx.root);
  assert.equal(missing.code, 1);
  assert.deepEqual(lines(missing.stderr).length, 1);
  assert.match(missing.stderr, /--type is required/);
  const unknown = await runBin(['train', projectDir, '--type', 'widget/dent', '--model', fx.modelDir], fx.root);
  assert.equal(unknown.code, 1);
  assert.equal(lines(unknown.stderr).length, 1);
  assert.match(unknown.stderr, /no defect type 'widget\/dent'; known: widget\/crack, widget\/scratch/);
  const badSteps = await runBin(['train', projectDir, '--type', 'widget/crack', '--steps', 'many', '--model', fx.modelDir], fx.root);
  assert.equal(badSteps.code, 1);
  assert.match(badSteps.stderr, /--steps must be a whole number/);
  const notProject = await runBin(['train', join(fx.root, 'nowhere'), '--type', 'widget/crack'], fx.root);
  assert.equal(notProject.code, 1);
});
