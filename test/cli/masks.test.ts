import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lines, runBin } from './run-bin';
import { makeLearnFixture, type LearnFixture } from '../engine/anomaly/fixture';
import { readImage } from '../../src/engine/imaging';

let fx: LearnFixture;
let projectDir: string;
before(async () => {
  fx = await makeLearnFixture('cli-masks');
  const project = await fx.newProject('projet masques');
  projectDir = project.dir;
  project.close();
});
after(() => fx.cleanup());

test('masks --count writes PNG masks and a listing; the same seed gives the same files', async () => {
  const out1 = join(fx.root, 'sortie 1');
  const out2 = join(fx.root, 'sortie 2');
  const base = ['masks', projectDir, '--type', 'widget/crack', '--count', '3', '--source', 'perlin', '--size', '40x32', '--seed', '4'];
  const r1 = await runBin([...base, '--out', out1], fx.root);
  assert.equal(r1.code, 0, r1.stderr);
  assert.match(r1.stdout, /3 perlin mask\(s\) written/);
  const r2 = await runBin([...base, '--out', out2], fx.root);
  assert.equal(r2.code, 0, r2.stderr);
  const files = readdirSync(out1).sort();
  assert.deepEqual(files, ['crack-0000.png', 'crack-0001.png', 'crack-0002.png', 'masks.json']);
  for (const f of files.filter((f) => f.endsWith('.png'))) {
    assert.deepEqual(readFileSync(join(out1, f)), readFileSync(join(out2, f)));
    const img = await readImage(join(out1, f));
    assert.equal(img.width, 40);
    assert.equal(img.height, 32);
    assert.ok(img.data.every((v) => v === 0 || v === 255));
  }
  const listing = JSON.parse(readFileSync(join(out1, 'masks.json'), 'utf8'));
  assert.equal(listing.source, 'perlin');
  assert.deepEqual(listing.masks.map((m: { origin: { seed: number } }) => m.origin.seed), [4, 5, 6]);
});

test('masks --learn trains a mask embedding; then learned masks are the default source and bad samples are rejected', async () => {
  const r = await runBin(['masks', projectDir, '--type', 'widget/crack', '--learn', '--steps', '2', '--model', fx.modelDir], fx.root);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /widget\/crack: mask embedding version 1/);
  // learned is now the default source; the random tiny model's decoded samples stay below the
  // 0.8 threshold, so every draw is rejected as empty: a clear failure, not garbage masks
  const out = join(fx.root, 'appris');
  const sample = await runBin(['masks', projectDir, '--type', 'widget/crack', '--count', '1', '--out', out, '--model', fx.modelDir, '--sampling-steps', '2'], fx.root);
  assert.equal(sample.code, 1);
  assert.equal(lines(sample.stderr).length, 1);
  assert.match(sample.stderr, /20 sampled masks were all rejected \(20 empty, 0 along the border\)/);
});

test('masks: real masks at the model size; nothing to do is an error', async () => {
  const out = join(fx.root, 'réels');
  const r = await runBin(['masks', projectDir, '--type', 'widget/crack', '--count', '2', '--out', out, '--source', 'real', '--model', fx.modelDir], fx.root);
  assert.equal(r.code, 0, r.stderr);
  const img = await readImage(join(out, 'crack-0000.png'));
  assert.equal(img.width, 64);
  const none = await runBin(['masks', projectDir, '--type', 'widget/crack'], fx.root);
  assert.equal(none.code, 1);
  assert.equal(lines(none.stderr).length, 1);
  assert.match(none.stderr, /nothing to do/);
});
