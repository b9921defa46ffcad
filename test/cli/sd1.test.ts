// The command line on an SD 1.x ONNX folder (tiny random fixture exported without a fixed image
// size, run at --size 64x64): train, synth, augment with export, regenerate bit-identical; learned
// masks and adaptation are refused with a message naming what works.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { makeLearnFixture, type LearnFixture } from '../engine/anomaly/fixture';
import { hashFolder } from '../../src/engine/models/sd1/folder';
import { openProject } from '../../src/main/store/project';
import { writeTinySd1Folder } from '../fixtures/sd1';
import { lines, runBin } from './run-bin';

let fx: LearnFixture;
let sdDir: string;
let projectDir: string;
let sdHash: string;

before(async () => {
  fx = await makeLearnFixture('cli sd1 é');
  sdDir = join(fx.root, 'sd modèle 1.5');
  await writeTinySd1Folder(sdDir);
  sdHash = await hashFolder(sdDir);
  const project = await fx.newProject('projet sd ü');
  projectDir = project.dir;
  project.close();
});
after(() => fx.cleanup());

async function png(file: string, channels: 1 | 3, pixel: (x: number, y: number, c: number) => number): Promise<void> {
  const data = Buffer.alloc(64 * 64 * channels);
  for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) for (let c = 0; c < channels; c++) data[(y * 64 + x) * channels + c] = pixel(x, y, c);
  await sharp(data, { raw: { width: 64, height: 64, channels } }).png().toFile(file);
}

test('train, synth, augment and regenerate on an SD 1.x folder', async () => {
  // ---- train: the defect learnt against the SD folder at 64x64 ----
  const train = await runBin(['train', projectDir, '--type', 'widget/crack', '--model', sdDir, '--size', '64x64', '--steps', '2', '--variants', '1', '--batch', '2', '--preview-every', '0', '--json'], fx.root);
  assert.equal(train.code, 0, train.stderr);
  const learnt = JSON.parse(train.stdout);
  assert.equal(learnt.modelHash, sdHash);
  assert.equal(learnt.steps, 2);
  // the training model went to the project's cache and is gone
  assert.deepEqual(await fs.readdir(join(projectDir, 'cache', 'training')), []);

  // ---- synth: one image with that embedding, twice with one seed: the same bytes ----
  const inputs = join(fx.root, 'entrées');
  await fs.mkdir(inputs);
  await png(join(inputs, 'normal é.png'), 3, (x, y, c) => 40 + ((x * 3 + y * 5 + c * 40) % 160));
  await png(join(inputs, 'masque.png'), 1, (x, y) => (x >= 20 && x < 44 && y >= 16 && y < 40 ? 255 : 0));
  const project = openProject(projectDir);
  const embedding = project.blobs.path(learnt.blobHash);
  project.close();
  const synthArgs = (out: string): string[] => ['synth', '--model', sdDir, '--size', '64x64', '--image', join(inputs, 'normal é.png'), '--mask', join(inputs, 'masque.png'), '--embedding', embedding, '--out', out, '--steps', '3', '--seed', '4', '--json'];
  const first = await runBin(synthArgs(join(fx.root, 'sorties', 'défaut 1.png')), fx.root);
  assert.equal(first.code, 0, first.stderr);
  const made = JSON.parse(first.stdout);
  assert.equal(made.modelHash, sdHash);
  const lineage = JSON.parse(await fs.readFile(made.lineage, 'utf8'));
  assert.equal(lineage.model.kind, 'sd1');
  const second = await runBin(synthArgs(join(fx.root, 'sorties', 'défaut 2.png')), fx.root);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(await fs.readFile(JSON.parse(second.stdout).image), await fs.readFile(made.image));
  const meta = await sharp(made.image).metadata();
  assert.deepEqual([meta.width, meta.height], [64, 64]);

  // ---- augment: adaptation off for SD, the learnt embedding reused, 2 pairs exported ----
  const out = join(fx.root, 'augmenté sd');
  const aug = await runBin(['augment', projectDir, '--types', 'widget/crack', '--per-type', '2', '--model', sdDir, '--size', '64x64', '--out', out, '--steps', '2', '--seed', '5', '--json'], fx.root);
  assert.equal(aug.code, 0, aug.stderr);
  const report = JSON.parse(aug.stdout);
  assert.equal(report.adaptation.status, 'off');
  assert.match(report.adaptation.reason, /SD 1\.x|Stable Diffusion/);
  assert.equal(report.model.contentHash, sdHash);
  assert.deepEqual(report.types.map((t: { type: string; made: number; exported: number; conditioning: string }) => [t.type, t.made, t.exported, t.conditioning]), [['widget/crack', 2, 2, 'learned-embedding']]);
  const manifest = JSON.parse(await fs.readFile(join(out, 'mvtec', 'manifest.json'), 'utf8'));
  assert.equal(manifest.synthetic.length, 2);
  const sampleId = String(manifest.synthetic[1].sampleId);
  assert.deepEqual(manifest.synthetic[1].lineage.sampler.model.imageSize, { width: 64, height: 64 });

  // ---- regenerate: the pair again from its lineage, bit-identical on CPU ----
  const regen = await runBin(['regenerate', projectDir, sampleId], fx.root);
  assert.equal(regen.code, 0, regen.stderr);
  assert.match(regen.stdout, new RegExp(`^sample ${sampleId}: bit-identical`));
});

test('on an SD 1.x folder, learned masks and adaptation are refused in one line naming what works', async () => {
  const db = new Database(join(projectDir, 'project.sqlite'));
  db.prepare("UPDATE defect_types SET settings_json = ? WHERE name = 'scratch'").run(JSON.stringify({ maskSource: 'learned' }));
  db.close();
  const learned = await runBin(['augment', projectDir, '--types', 'widget/scratch', '--per-type', '1', '--model', sdDir, '--size', '64x64', '--out', join(fx.root, 'jamais')], fx.root);
  assert.notEqual(learned.code, 0);
  assert.equal(lines(learned.stderr).length, 1, learned.stderr);
  assert.match(learned.stderr, /widget\/scratch: its mask source is 'learned'.*SD 1\.x folder.*real, perlin or drawn/);
  await assert.rejects(fs.access(join(fx.root, 'jamais')));

  const adapt = await runBin(['augment', projectDir, '--types', 'widget/crack', '--per-type', '1', '--model', sdDir, '--adapt', '--out', join(fx.root, 'jamais 2')], fx.root);
  assert.notEqual(adapt.code, 0);
  assert.match(adapt.stderr, /not supported/);

  const size = await runBin(['train', projectDir, '--type', 'widget/crack', '--model', sdDir, '--size', '64x60'], fx.root);
  assert.notEqual(size.code, 0);
  assert.match(size.stderr, /--size must be WIDTHxHEIGHT/);
});
