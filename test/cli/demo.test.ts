import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../fixtures/temp-dir';
import { lines, runBin } from './run-bin';
import { TINY, writeTinyPackage } from '../fixtures/builtin/tiny-package';
import { DEFECT_FAMILIES, NORMAL_FAMILIES } from '../../src/engine/corpus';
import { Rng } from '../../src/shared/random';

const tmp = makeTempDir('cli-demo');
const modelDir = join(tmp.dir, 'modèle corpus');

before(async () => {
  // a tiny random package whose token table knows the procedural corpus' families and defects
  const labels = ['<null>', ...NORMAL_FAMILIES.map((f) => `family:${f.name}`)];
  for (const d of DEFECT_FAMILIES) for (let i = 0; i < TINY.defectTokens; i++) labels.push(`defect:${d.name}:${i}`);
  const vocabulary = Object.fromEntries(labels.map((l, i) => [l, i]));
  await writeTinyPackage(modelDir, 7, { vocabulary, tokenTable: new Rng(3).normals(labels.length * TINY.width) });
});
after(() => tmp.cleanup());

test('the demo runs end to end on a tiny package: dataset, project, adaptation, learning, export in every format, HTML summary', async () => {
  const out = join(tmp.dir, 'démo');
  const r = await runBin(['demo', '--out', out, '--model', modelDir, '--families', 'wood', '--per-type', '1', '--steps', '2', '--defects-per-type', '2', '--train-good', '2', '--adapt-steps', '2'], tmp.dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /demo written to .*démo/);
  assert.deepEqual(readdirSync(join(out, 'export')).sort(), ['anomalib', 'coco', 'mvtec', 'yolo']);
  const wood = NORMAL_FAMILIES.find((f) => f.name === 'wood')!;
  const html = readFileSync(join(out, 'summary.html'), 'utf8');
  // the model was adapted first (job 1), and the pairs are the adapted package's
  assert.match(html, /<th>adaptation<\/th><td>ran \(job 1, 2 steps, [\d.]+ s\); VAE PSNR on held-out normals -?[\d.]+ -&gt; -?[\d.]+ dB<\/td>/);
  assert.match(html, /<th>model<\/th><td>tiny-random-adapted-1 /);
  for (const d of wood.defects) {
    assert.match(html, new RegExp(`<h2>wood/${d} <small>\\(learned-embedding, 1 pairs\\)`));
    assert.equal(readdirSync(join(out, 'export', 'mvtec', 'wood', 'train', d)).length, 1);
  }
  // every image the page shows exists
  const sources = [...html.matchAll(/src="([^"]+)"/g)].map((m) => decodeURIComponent(m[1]!));
  assert.equal(sources.length, wood.defects.length * 3);
  for (const s of sources) assert.ok(existsSync(join(out, ...s.split('/'))), s);
});

test('without the default model the demo stops with how to get it; an existing folder is refused', async () => {
  const missing = await runBin(['demo', '--out', join(tmp.dir, 'x'), '--model', join(tmp.dir, 'absent')], tmp.dir);
  assert.equal(missing.code, 1);
  assert.equal(lines(missing.stderr).length, 1);
  assert.match(missing.stderr, /absent: not a DefectForge model package/);
  const exists = await runBin(['demo', '--out', tmp.dir, '--model', modelDir], tmp.dir);
  assert.equal(exists.code, 1);
  assert.match(exists.stderr, /already exists; choose another --out/);
});
