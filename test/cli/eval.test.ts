// `defectforge eval` through the real bin on a tiny procedural project (written with
// writeMvtecCorpus, imported with the CLI), at a path with spaces and non-ASCII characters:
// reports are written, reruns give the same numbers, pairs are stored with lineage, and
// unavailable or unknown generators fail with one clear line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { writeMvtecCorpus } from '../../src/engine/corpus';
import { lines, runBin } from './run-bin';

/** report.json without what legitimately differs between runs (timing, job and sample ids) */
function comparable(file: string): unknown {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  delete r.timing;
  delete r.jobId;
  for (const g of r.generators) delete g.sampleIds;
  return r;
}

test('eval on a tiny project: report, same numbers on rerun, samples with lineage, clear errors', { timeout: 300_000 }, async (t) => {
  const root = mkdtempSync(join(os.tmpdir(), 'df eval ü '));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const data = join(root, 'Daten sätze');
  await writeMvtecCorpus(data, { seed: 4, families: ['tile'], trainGood: 6, testGood: 3, defectsPerType: 3 });
  assert.equal((await runBin(['init', 'Projekt é'], root)).code, 0);
  const imported = await runBin(['import', 'Projekt é', data, '--layout', 'mvtec'], root);
  assert.equal(imported.code, 0, imported.stderr);

  const args = ['eval', 'Projekt é', '--generators', 'none,cutpaste,perlin', '--steps', '2', '--pairs', '2', '--size', '32', '--seed', '5', '--classifier-steps', '5'];
  const first = await runBin([...args, '--out', 'run 1'], root);
  assert.equal(first.code, 0, first.stderr);
  const second = await runBin([...args, '--out', 'run 2'], root);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(comparable(join(root, 'run 1', 'report.json')), comparable(join(root, 'run 2', 'report.json')));

  const report = JSON.parse(readFileSync(join(root, 'run 1', 'report.json'), 'utf8'));
  const types: string[] = Object.keys(report.data.testDefects);
  assert.ok(types.length >= 4, `tile has several defect types, got ${types}`);
  assert.deepEqual(report.generators.map((g: { name: string }) => g.name), ['none', 'cutpaste', 'perlin']);
  for (const g of report.generators) {
    assert.deepEqual(g.results.map((r: { defectType: string }) => r.defectType), [...types, 'all']);
    assert.equal(g.steps, 2);
    for (const r of g.results) {
      assert.equal(r.goodImages, 3);
      for (const v of [r.image.auroc, r.pixel.auroc, r.pixel.auPro]) assert.ok(v >= 0 && v <= 1, `${g.name}/${r.defectType}: metric ${v}`);
    }
  }
  // the type classifier: one confusion row per type, every held-out defect counted once
  const holdout = Object.values(report.data.testDefects as Record<string, number>).reduce((a, v) => a + v, 0);
  for (const g of report.generators) {
    assert.deepEqual(g.classifier.types, types);
    assert.equal(g.classifier.confusion.flat().reduce((a: number, v: number) => a + v, 0), holdout);
    assert.ok(g.classifier.accuracy >= 0 && g.classifier.accuracy <= 1);
  }
  // 'none' has one real training defect per type (ceil(3/3)); the others 2 pairs per type
  assert.equal(report.generators[0].trainingPairs, types.length);
  assert.equal(report.generators[1].trainingPairs, 2 * types.length);
  assert.ok(report.generators[2].quality.maskAlignment > 0.999, 'perlin changes pixels only inside its masks');
  // the stdout table has one row per (type, generator) plus the header
  assert.equal(lines(first.stdout).length, 2 + (types.length + 1) * 3);
  const html = readFileSync(join(root, 'run 1', 'report.html'), 'utf8');
  assert.ok(!/(src|href)="https?:/.test(html), 'the report loads nothing remote');

  const db = new Database(join(root, 'Projekt é', 'project.sqlite'), { readonly: true });
  try {
    const rows = db
      .prepare('SELECT s.generator, s.job_id, l.seed, l.normal_image_id, l.mask_origin, l.sampler_json, l.mask_source_json FROM samples s JOIN lineage l ON l.sample_id = s.id')
      .all() as { generator: string; job_id: number; seed: number; normal_image_id: number; mask_origin: string; sampler_json: string; mask_source_json: string }[];
    // two runs x two synthetic generators x 2 pairs per type
    assert.equal(rows.length, 2 * 2 * 2 * types.length);
    for (const r of rows) {
      assert.ok(r.normal_image_id > 0 && Number.isInteger(r.seed));
      assert.equal(JSON.parse(r.sampler_json).generator, r.generator);
      if (r.generator === 'cutpaste') assert.equal(JSON.parse(r.mask_source_json).sourceImageIds.length, 1);
    }
    const jobs = db.prepare("SELECT state FROM jobs WHERE kind = 'eval'").pluck().all();
    assert.deepEqual(jobs, ['succeeded', 'succeeded']);
  } finally {
    db.close();
  }

  const diffusion = await runBin(['eval', 'Projekt é', '--generators', 'none,diffusion'], root);
  assert.equal(diffusion.code, 1);
  assert.equal(lines(diffusion.stderr).length, 1, diffusion.stderr);
  assert.match(diffusion.stderr, /generator 'diffusion': no model given, and no defect type of category 'tile' was learnt yet/);
  const unknown = await runBin(['eval', 'Projekt é', '--generators', 'none,gan'], root);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown generator 'gan'; known: none, cutpaste, perlin, diffusion/);
});
