import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { makeTempDir } from '../fixtures/temp-dir';
import { treeFingerprint } from '../fixtures/tree-hash';
import { writeTinyPackage } from '../fixtures/builtin/tiny-package';
import { writeMvtecCorpus } from '../../src/engine/corpus';
import { isUserError } from '../../src/shared/errors';
import { parseBallScrewArgs, runBallScrew } from '../../scripts/ball-screw-run';
import { curveRows, lineChartSvg } from '../../scripts/ball-screw-run/charts';
import { pairChange } from '../../scripts/ball-screw-run/pairs';
import type { RunReport } from '../../scripts/ball-screw-run/report';

const tmp = makeTempDir('ball-screw');
const dataset = join(tmp.dir, 'bsdata stand-in', 'wood');
const modelDir = join(tmp.dir, 'modèle tiny');

before(async () => {
  mkdirSync(tmp.dir, { recursive: true });
  // a procedural MVTec folder stands in for ball_screw: one category, train/good, defects with masks
  await writeMvtecCorpus(join(tmp.dir, 'bsdata stand-in'), { seed: 4, families: ['wood'], trainGood: 4, testGood: 1, defectsPerType: 3 });
  await writeTinyPackage(modelDir, 7);
});
after(() => tmp.cleanup());

test('pair change inside/outside the mask and mask alignment, against hand-computed values', () => {
  // pixel 0 in the mask: |1-0| + |0.5-0| + 0 = 1.5; pixel 1 outside: |0.3-0.2| = 0.1
  const normal = { width: 2, height: 1, data: new Float32Array([0, 0, 0, 0.2, 0.2, 0.2]) };
  const synthetic = { width: 2, height: 1, data: new Float32Array([1, 0.5, 0, 0.2, 0.2, 0.3]) };
  const mask = { width: 2, height: 1, data: new Uint8Array([1, 0]) };
  const c = pairChange({ normal, synthetic, mask });
  assert.ok(Math.abs(c.inside - (1.5 / 3) * 255) < 1e-4, String(c.inside));
  assert.ok(Math.abs(c.outside - (0.1 / 3) * 255) < 1e-4, String(c.outside));
  assert.ok(Math.abs(c.alignment - 1.5 / 1.6) < 1e-6, String(c.alignment));
  assert.ok(Number.isNaN(pairChange({ normal, synthetic, mask: { ...mask, data: new Uint8Array([0, 0]) } }).inside));
});

test('loss chart: points land in the plot box (5% y margin), tables sample every k-th step and the last', () => {
  const svg = lineChartSvg({ title: 'a <b>', xLabel: 'step', yLabel: 'loss', series: [{ name: 's', points: [[0, 0], [10, 1]], color: '#000' }] });
  // plot box x 70..620, y 36..314; y range -0.05..1.05: y(0) = 314 - 0.05/1.1 * 278, y(1) = 314 - 1.05/1.1 * 278
  assert.match(svg, /points="70\.0,301\.4 620\.0,48\.6"/);
  assert.match(svg, /a &lt;b&gt;/);
  assert.throws(() => lineChartSvg({ title: 'vide', xLabel: '', yLabel: '', series: [{ name: 's', points: [[1, Number.NaN]], color: '#000' }] }), /chart 'vide': no finite points/);
  assert.deepEqual(curveRows(Array.from({ length: 25 }, (_, i) => i)).map(([s]) => s), [3, 6, 9, 12, 15, 18, 21, 24, 25]);
  assert.deepEqual(curveRows([5, 4]), [[1, 5], [2, 4]]);
});

test('the run on a stand-in dataset: project, adaptation, learning and synthesis on base and adapted model, report with charts and grid; the dataset is untouched', async () => {
  const before = treeFingerprint(dataset);
  const out = join(tmp.dir, 'sortie run');
  const lines: string[] = [];
  const report = await runBallScrew({ dataset, out, model: modelDir, type: 'scratch', learnSteps: 3, adaptSteps: 3, pairs: 3, samplerSteps: 2, seed: 4, log: (l) => lines.push(l) });
  assert.deepEqual(treeFingerprint(dataset), before);

  assert.equal(report.type, 'wood/scratch');
  assert.deepEqual([report.adaptation.status, report.adaptation.steps, report.adaptation.trainImages + report.adaptation.heldOutImages], ['ran', 3, 4]);
  assert.ok(Number.isFinite(report.adaptation.psnrBefore) && Number.isFinite(report.adaptation.psnrAfter));
  assert.equal(report.adaptation.lossCurve.length, 3);
  assert.equal(report.adapted.model.name, 'tiny-random-adapted-1');
  assert.equal(report.base.model.name, 'tiny-random');
  for (const arm of [report.base, report.adapted]) {
    assert.equal(arm.learning!.steps, 3);
    assert.ok(Number.isFinite(arm.learning!.finalLoss));
    assert.equal(arm.learning!.lossCurve.length, 3);
    assert.equal(arm.synthesis.pairs, 3);
    // the synthesis pastes the normal back outside the (slightly dilated) mask
    assert.ok(arm.synthesis.inside > arm.synthesis.outside, `inside ${arm.synthesis.inside} vs outside ${arm.synthesis.outside}`);
  }
  // same seeds: the two runs drew the same normals and masks
  assert.deepEqual([report.gridPairs, report.gridMatched], [3, 3]);
  assert.deepEqual(
    report.jobs.map((j) => `${j.stage} ${j.kind}`),
    ['import import', 'adapted adapt', 'adapted learn-defect', 'adapted synthesize', 'base learn-defect', 'base synthesize'],
  );
  assert.ok(report.jobs.every((j) => j.seconds >= 0), JSON.stringify(report.jobs));

  const json = JSON.parse(readFileSync(join(out, 'run-report.json'), 'utf8')) as RunReport;
  assert.deepEqual(json.jobs, report.jobs);
  const md = readFileSync(join(out, 'run-report.md'), 'utf8');
  assert.match(md, /\| adapted \| \d+ \| adapt \| [\d.]+ \|/);
  assert.match(md, /\| VAE PSNR \(dB\) \| -?[\d.]+ \| -?[\d.]+ \|/);
  assert.match(md, /\| learning final loss \(mean of the last tenth\) \| [\d.e+-]+ \| [\d.e+-]+ \|/);
  for (const f of ['adaptation-loss.png', 'learning-loss.png', 'pairs-grid.png']) assert.match(md, new RegExp(`!\\[[^\\]]+\\]\\(${f}\\)`));
  assert.deepEqual(await sizeOf(join(out, 'adaptation-loss.png')), [640, 360]);
  assert.deepEqual(await sizeOf(join(out, 'learning-loss.png')), [640, 360]);
  // 4 columns x 3 rows of 128 px tiles with 4 px gaps
  assert.deepEqual(await sizeOf(join(out, 'pairs-grid.png')), [4 + 4 * 132, 4 + 3 * 132]);
  assert.ok(existsSync(join(out, 'export', 'base', 'mvtec')) && existsSync(join(out, 'export', 'adapted', 'mvtec')));
  assert.ok(lines.some((l) => /^model: adapting/.test(l)), lines.join('\n'));

  // a second run into the same folder is refused
  await assert.rejects(runBallScrew({ dataset, out, model: modelDir, type: 'scratch' }), (e: unknown) => isUserError(e) && e.code === 'OUT_EXISTS');
});

async function sizeOf(file: string): Promise<[number, number]> {
  const m = await sharp(file).metadata();
  return [m.width!, m.height!];
}

test('arguments, and an absent dataset: the function refuses it, the script skips with a message', async () => {
  const cwd = tmp.dir;
  assert.deepEqual(parseBallScrewArgs(['--out', 'r', '--pairs=5', '--adapt-steps', '7', '--dataset', 'd'], cwd), { out: join(cwd, 'r'), dataset: join(cwd, 'd'), pairs: 5, adaptSteps: 7 });
  assert.throws(() => parseBallScrewArgs(['--pairs', '5'], cwd), /--out is required/);
  assert.throws(() => parseBallScrewArgs(['--out', 'r', '--pairs', '0'], cwd), /--pairs must be >= 1 \(got 0\)/);
  assert.throws(() => parseBallScrewArgs(['--out', 'r', '--fast'], cwd), /unknown argument "--fast"/);
  const absent = join(tmp.dir, 'absent ball_screw');
  await assert.rejects(runBallScrew({ dataset: absent, out: join(tmp.dir, 'x') }), (e: unknown) => isUserError(e) && e.code === 'DATASET_MISSING' && e.message.includes(absent));
  const notEmpty = join(tmp.dir, 'plein');
  mkdirSync(notEmpty);
  writeFileSync(join(notEmpty, 'a.txt'), 'x');
  await assert.rejects(runBallScrew({ dataset, out: notEmpty }), /plein: the output folder is not empty/);

  const script = join(import.meta.dirname, '..', '..', 'scripts', 'ball-screw-run.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--out', join(tmp.dir, 'y'), '--dataset', absent], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /ball_screw run skipped: .*absent ball_screw is absent/);
  assert.equal(existsSync(join(tmp.dir, 'y')), false);
});
