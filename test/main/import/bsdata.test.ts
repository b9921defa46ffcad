// Optional: the real BSData ball-screw set (development data, not shipped). Skipped when absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createProject } from '../../../src/main/store/project';
import { importDataset } from '../../../src/main/import/import';
import { projectInfo } from '../../../src/main/store/info';
import { makeTempDir } from '../../fixtures/temp-dir';
import { treeFingerprint } from '../../fixtures/tree-hash';

const BSDATA = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data', 'bsdata', 'ball_screw');

test('BSData ball_screw imports as 28 train/good, 28 test/good, 39 pitting images with 39 masks', { skip: !existsSync(BSDATA) && `${BSDATA} is absent` }, async (t) => {
  const tmp = makeTempDir('bsdata');
  t.after(tmp.cleanup);
  const before = treeFingerprint(BSDATA);
  const p = createProject(tmp.dir);
  t.after(() => p.close());
  const report = await importDataset(p, BSDATA);
  assert.equal(report.layout, 'mvtec');
  assert.deepEqual(report.problems, []);
  assert.deepEqual(report.images, { imported: 95, alreadyPresent: 0 });
  assert.deepEqual(report.masks, { imported: 39, alreadyPresent: 0 });
  const info = projectInfo(p);
  assert.equal(info.categories.length, 1);
  const c = info.categories[0]!;
  assert.deepEqual([c.name, c.trainGood, c.testGood], ['ball_screw', 28, 28]);
  assert.deepEqual(
    c.defectTypes.map((d) => [d.name, d.images, d.masks, d.train, d.holdout]),
    [['pitting', 39, 39, 13, 26]],
  );
  // README: masks cover 35 to about 4,900 pixels
  const areas = p.db.prepare('SELECT area_px FROM masks').pluck().all() as number[];
  assert.ok(Math.min(...areas) >= 35 && Math.max(...areas) <= 5000, `areas ${Math.min(...areas)}..${Math.max(...areas)}`);
  assert.deepEqual(treeFingerprint(BSDATA), before);
});
