import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../fixtures/temp-dir';
import { lines, runBin } from './run-bin';
import { makeSynthesisFixture, type SynthesisFixture } from '../engine/synthesis/fixture';
import { cocoProblems } from '../../src/engine/export';
import Database from 'better-sqlite3';

const tmp = makeTempDir('cli-augment');
let fx: SynthesisFixture;

before(async () => {
  fx = await makeSynthesisFixture(tmp.dir);
  // few learning and adaptation steps for the tiny model (project settings, as the workstation stores them)
  const db = new Database(join(fx.projectDir, 'project.sqlite'));
  const settings = { learning: { defect: { steps: 6, variants: 1, previewEvery: 0 } }, adaptation: { steps: 20, evalEvery: 2, variants: 1, batch: 2 } };
  db.prepare('UPDATE project SET settings_json = ? WHERE id = 1').run(JSON.stringify(settings));
  db.close();
});
after(() => tmp.cleanup());

test('augment adapts the model, learns each type, then runs synthesis jobs in the engine and exports; lineage and regenerate work on the result; export re-exports', async () => {
  const out = join(tmp.dir, 'données augmentées');
  const r = await runBin(['augment', fx.projectDir, '--per-type', '2', '--out', out, '--format', 'mvtec,coco,yolo,anomalib', '--model', fx.modelDir, '--steps', '2', '--seed', '5', '--adapt-steps', '3', '--json'], tmp.dir);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  // adaptation ran first (--adapt-steps over the project's 20), and the pairs are the adapted model's
  assert.equal(report.adaptation.status, 'ran');
  assert.equal(report.adaptation.steps, 3);
  assert.equal(report.adaptation.adapted.dir, join(fx.projectDir, 'models', 'tiny-random-adapted-1'));
  assert.equal(report.model.contentHash, report.adaptation.adapted.contentHash);
  assert.match(r.stderr, /^model: adapting modèle tiny to the project's normal images \(at most 3 steps\)\n(.*\n)*model: adapted in 3 steps; VAE PSNR on held-out normals .* dB\n(.*\n)*wood\/hole: learning the defect/m);
  assert.deepEqual(report.types.map((t: { type: string; made: number; conditioning: string }) => [t.type, t.made, t.conditioning]), [['wood/hole', 2, 'learned-embedding'], ['wood/scratch', 2, 'learned-embedding']]);
  assert.deepEqual(report.types.map((t: { learned: { defect: { steps: number } } }) => t.learned.defect.steps), [6, 6]);
  assert.match(r.stderr, /wood\/hole: learning the defect\n(.*\n)*wood\/hole: synthesizing 2 pairs/);
  assert.deepEqual(readdirSync(out).sort(), ['anomalib', 'coco', 'mvtec', 'yolo']);
  assert.deepEqual(cocoProblems(JSON.parse(readFileSync(join(out, 'coco', 'annotations', 'instances_train.json'), 'utf8'))), []);
  const manifest = JSON.parse(readFileSync(join(out, 'mvtec', 'manifest.json'), 'utf8'));
  const sampleId = String(manifest.synthetic[0].sampleId);

  const lin = await runBin(['lineage', fx.projectDir, sampleId], tmp.dir);
  assert.equal(lin.code, 0, lin.stderr);
  assert.match(lin.stdout, new RegExp(`^sample ${sampleId}: wood/hole, job \\d+ pair 0`));
  assert.match(lin.stdout, /mask real /);
  const linJson = JSON.parse((await runBin(['lineage', fx.projectDir, sampleId, '--json'], tmp.dir)).stdout);
  assert.equal(linJson.lineage.seed, manifest.synthetic[0].lineage.seed);

  const regen = await runBin(['regenerate', fx.projectDir, sampleId], tmp.dir);
  assert.equal(regen.code, 0, regen.stderr);
  assert.match(regen.stdout, new RegExp(`^sample ${sampleId}: bit-identical`));

  const again = join(tmp.dir, 'réexport');
  const ex = await runBin(['export', fx.projectDir, '--out', again, '--format', 'yolo', '--types', 'scratch'], tmp.dir);
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stdout, /2 synthetic pairs/);
  assert.equal(readdirSync(join(again, 'yolo', 'labels', 'train')).filter((f) => f.startsWith('s')).length, 2);

  // a second augment reuses the adapted model and the pairs; the text report says so
  const second = await runBin(['augment', fx.projectDir, '--per-type', '2', '--out', join(tmp.dir, 'encore'), '--model', fx.modelDir], tmp.dir);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /^model tiny-random-adapted-1 \([0-9a-f]{12}\)\nadaptation: reused version 1; VAE PSNR on held-out normals -?\d+\.\d\d -> -?\d+\.\d\d dB\nwood\/hole: 2 pairs exported \(2 existed, 0 made; learned-embedding\)/);
  const countJobs = (kind: string): number => {
    const db = new Database(join(fx.projectDir, 'project.sqlite'), { readonly: true });
    try {
      return db.prepare('SELECT count(*) FROM jobs WHERE kind = ?').pluck().get(kind) as number;
    } finally {
      db.close();
    }
  };
  assert.equal(countJobs('adapt'), 1);
});

test('bad input exits 1 with one clear line and writes nothing', async () => {
  const out = join(tmp.dir, 'jamais');
  const base = ['augment', fx.projectDir, '--out', out, '--model', fx.modelDir];
  const cases: [string[], RegExp][] = [
    [[...base, '--per-type', '0'], /--per-type must be >= 1 \(got 0\)/],
    [[...base, '--per-type=-2'], /--per-type must be >= 1 \(got -2\)/],
    [[...base, '--per-type', 'deux'], /--per-type must be a whole number \(got "deux"\)/],
    [[...base, '--per-type', '2', '--types', 'wood/dent'], /unknown defect type "wood\/dent"; known: wood\/hole, wood\/scratch/],
    [[...base, '--per-type', '2', '--format', 'voc'], /unknown export format "voc"; known: mvtec, anomalib, coco, yolo/],
    [[...base, '--per-type', '2', '--adapt', '--no-adapt'], /--adapt and --no-adapt contradict each other; give one/],
    [[...base, '--per-type', '2', '--no-adapt', '--adapt-steps', '5'], /--adapt-steps with --no-adapt: adaptation is off/],
    [[...base, '--per-type', '2', '--adapt-steps', '0'], /--adapt-steps must be >= 1 \(got 0\)/],
    [['augment', fx.projectDir, '--out', out, '--per-type', '1', '--model', join(tmp.dir, 'nowhere')], /nowhere: no such model folder/],
    [['regenerate', fx.projectDir, '9999'], /There is no sample with id 9999/],
    [['lineage', fx.projectDir, 'x'], /--sample must be a whole number/],
  ];
  for (const [args, expected] of cases) {
    const r = await runBin(args, tmp.dir);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, expected);
  }
  assert.equal(existsSync(out), false);
});
