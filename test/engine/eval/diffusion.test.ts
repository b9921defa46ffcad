// eval's 'diffusion' generator on a tiny procedural project with a tiny random package: through
// the real bin (the model taken from the type learnt with `defectforge train`, the others learnt
// inside the evaluation), and through runEvaluation with a named model and a time budget (learning
// stopped at the deadline keeps what it learnt).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeTempDir } from '../../fixtures/temp-dir';
import { writeTinyPackage } from '../../fixtures/builtin/tiny-package';
import { writeMvtecCorpus } from '../../../src/engine/corpus';
import { EVAL_DEFAULTS, runEvaluation } from '../../../src/engine/eval/run';
import { openProject } from '../../../src/main/store/project';
import { runBin } from '../../cli/run-bin';

const tmp = makeTempDir('eval diffusion ü');
after(() => tmp.cleanup());

async function tinyProject(name: string): Promise<{ project: string; model: string; types: string[] }> {
  const root = join(tmp.dir, name);
  const data = join(root, 'Daten sätze');
  await writeMvtecCorpus(data, { seed: 4, families: ['tile'], trainGood: 4, testGood: 2, defectsPerType: 3 });
  const model = join(root, 'modèle tiny');
  await writeTinyPackage(model, 7);
  assert.equal((await runBin(['init', 'Projekt é'], root)).code, 0);
  const imported = await runBin(['import', 'Projekt é', data, '--layout', 'mvtec'], root);
  assert.equal(imported.code, 0, imported.stderr);
  const project = join(root, 'Projekt é');
  const db = new Database(join(project, 'project.sqlite'));
  try {
    db.prepare('UPDATE project SET settings_json = ? WHERE id = 1').run(JSON.stringify({ learning: { defect: { steps: 6, variants: 1, previewEvery: 0 } } }));
    return { project, model, types: db.prepare('SELECT name FROM defect_types ORDER BY name').pluck().all() as string[] };
  } finally {
    db.close();
  }
}

test('defectforge eval --generators none,diffusion: learns what is missing, reports both rows, stores regenerable pairs', { timeout: 120_000 }, async () => {
  const { project, model, types } = await tinyProject('cli');
  const root = join(project, '..');
  // no model, nothing learnt: refused at once, in one line
  const refused = await runBin(['eval', project, '--generators', 'none,diffusion', '--steps', '2'], root);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /generator 'diffusion': no model given, and no defect type of category 'tile' was learnt yet/);

  const trained = await runBin(['train', project, '--type', `tile/${types[0]}`, '--model', model, '--steps', '4', '--preview-every', '0'], root);
  assert.equal(trained.code, 0, trained.stderr);
  const r = await runBin(['eval', project, '--generators', 'none,diffusion', '--steps', '2', '--pairs', '2', '--size', '32', '--seed', '5', '--classifier-steps', '3', '--out', 'rapport'], root);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(join(root, 'rapport', 'report.json'), 'utf8'));
  assert.deepEqual(report.generators.map((g: { name: string }) => g.name), ['none', 'diffusion']);
  const diffusion = report.generators[1];
  assert.equal(diffusion.trainingPairs, 2 * types.length);
  for (const row of diffusion.results) for (const v of [row.image.auroc, row.pixel.auroc]) assert.ok(v >= 0 && v <= 1, `${row.defectType}: ${v}`);
  // the summary table on stdout has a diffusion row per type and for 'all'
  assert.equal(r.stdout.split('\n').filter((l) => /\sdiffusion\s/.test(l)).length, types.length + 1);

  const db = new Database(join(project, 'project.sqlite'), { readonly: true });
  let sampleId: number;
  try {
    // one type learnt by `train`, the others inside the evaluation: one artifact per type
    assert.equal(db.prepare("SELECT count(DISTINCT defect_type_id) FROM artifacts WHERE kind = 'anomaly-embedding'").pluck().get(), types.length);
    assert.deepEqual(db.prepare("SELECT DISTINCT state FROM jobs WHERE kind = 'learn-defect'").pluck().all(), ['succeeded']);
    const rows = db
      .prepare("SELECT s.id, l.model_hash, l.artifact_ids_json, l.mask_origin, l.execution_provider FROM samples s JOIN lineage l ON l.sample_id = s.id WHERE s.generator = 'diffusion' ORDER BY s.id")
      .all() as { id: number; model_hash: string; artifact_ids_json: string; mask_origin: string; execution_provider: string }[];
    assert.equal(rows.length, 2 * types.length);
    for (const row of rows) {
      assert.match(row.model_hash, /^[0-9a-f]{64}$/);
      assert.equal(JSON.parse(row.artifact_ids_json).length, 1);
      assert.equal(row.mask_origin, 'real');
      assert.equal(row.execution_provider, 'cpu');
    }
    sampleId = rows[0]!.id;
  } finally {
    db.close();
  }
  // a diffusion pair of the evaluation is made again bit for bit
  const regen = await runBin(['regenerate', project, String(sampleId)], root);
  assert.equal(regen.code, 0, regen.stderr);
  assert.match(regen.stdout, /bit-identical/);
});

test('runEvaluation with a named model and a time budget: learning stopped at the deadline keeps its checkpoint as the artifact', { timeout: 120_000 }, async () => {
  const { project: dir, model, types } = await tinyProject('budget');
  const project = openProject(dir);
  try {
    project.db.prepare('UPDATE project SET settings_json = ? WHERE id = 1').run(JSON.stringify({ learning: { defect: { steps: 1_000_000, variants: 1, previewEvery: 0 } } }));
    const result = await runEvaluation(
      project,
      { ...EVAL_DEFAULTS, generators: 'diffusion', model, budgetMinutes: 0.02, pairsPerType: 1, pixels: 32 * 32, classifierSteps: 2 },
      { appVersion: 'test' },
    );
    assert.equal(result.sources[0]!.trainingPairs, types.length);
    // per type: a learning job stopped by the budget, then one that saved its checkpoint
    const jobs = project.db.prepare("SELECT state, error, result_json FROM jobs WHERE kind = 'learn-defect' ORDER BY id").all() as { state: string; error: string | null; result_json: string | null }[];
    assert.equal(jobs.length, 2 * types.length);
    for (let k = 0; k < jobs.length; k += 2) {
      assert.equal(jobs[k]!.state, 'cancelled');
      assert.match(jobs[k]!.error!, /time budget ran out/);
      assert.equal(jobs[k + 1]!.state, 'succeeded');
      const saved = JSON.parse(jobs[k + 1]!.result_json!) as { steps: number; resumedFromStep: number };
      assert.ok(saved.steps >= 1 && saved.steps < 1_000_000);
      assert.equal(saved.resumedFromStep, saved.steps);
    }
  } finally {
    project.close();
  }
});
