import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lines, runBin } from './run-bin';
import { makeAdaptFixture, type AdaptFixture } from '../engine/adapt/fixture';
import { openProject } from '../../src/main/store/project';

let fx: AdaptFixture;
let projectDir: string;
let emptyDir: string;
before(async () => {
  fx = await makeAdaptFixture('cli-adapt');
  const project = await fx.newProject('projet CLI');
  projectDir = project.dir;
  project.close();
  const empty = fx.emptyProject('sans images');
  emptyDir = empty.dir;
  empty.close();
});
after(() => fx.cleanup());

test('adapt runs an adapt job through the engine and writes the adapted package', async () => {
  const args = ['adapt', projectDir, '--model', fx.modelDir, '--mode', 'lora', '--rank', '2', '--steps', '4', '--eval-every', '2'];
  const r = await runBin([...args, '--json'], fx.root);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.version, 1);
  assert.equal(result.mode, 'lora');
  assert.equal(result.steps, 4);
  assert.ok(existsSync(result.modelDir), result.modelDir);
  assert.ok(Number.isFinite(result.psnrBefore) && Number.isFinite(result.psnrAfter));
  assert.match(r.stderr, /step 4\/4 {2}loss \d/);
  const text = await runBin([...args, '--mode', 'full'], fx.root);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /adapted model version 2 \(artifact \d+\): .*tiny-random-adapted-2/);
  assert.match(text.stdout, /VAE PSNR on held-out normals -?\d+\.\d\d -> -?\d+\.\d\d dB/);
  const project = openProject(projectDir);
  assert.deepEqual(project.db.prepare('SELECT kind, state FROM jobs ORDER BY id').all(), [
    { kind: 'adapt', state: 'succeeded' },
    { kind: 'adapt', state: 'succeeded' },
  ]);
  assert.equal(project.db.prepare("SELECT count(*) FROM artifacts WHERE kind = 'adapted-model'").pluck().get(), 2);
  project.close();
});

test('adapt: bad options and a project without normal images are one clear line and exit 1', async () => {
  const badMode = await runBin(['adapt', projectDir, '--model', fx.modelDir, '--mode', 'half'], fx.root);
  assert.equal(badMode.code, 1);
  assert.match(badMode.stderr, /--mode must be full or lora/);
  const badRank = await runBin(['adapt', projectDir, '--model', fx.modelDir, '--rank', '0'], fx.root);
  assert.equal(badRank.code, 1);
  assert.match(badRank.stderr, /--rank must be a whole number >= 1/);
  const empty = await runBin(['adapt', emptyDir, '--model', fx.modelDir], fx.root);
  assert.equal(empty.code, 1);
  assert.equal(lines(empty.stderr).length, 1, empty.stderr);
  assert.match(empty.stderr, /no train\/good \(normal\) images/);
});
