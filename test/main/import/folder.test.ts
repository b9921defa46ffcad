import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createProject } from '../../../src/main/store/project';
import { importDataset } from '../../../src/main/import/import';
import { projectInfo } from '../../../src/main/store/info';
import { makeFolderFixture } from '../../fixtures/datasets';
import { makeTempDir } from '../../fixtures/temp-dir';
import { treeFingerprint } from '../../fixtures/tree-hash';
import { writeFileMakingDirs } from '../../fixtures/images';
import { imageRows } from './helpers';

for (const maskPlacement of ['beside', 'masks-dir'] as const) {
  test(`plain folder with masks ${maskPlacement}: masked images are defects, the others good`, async (t) => {
    const tmp = makeTempDir('folder');
    t.after(tmp.cleanup);
    const dir = join(tmp.dir, 'Pièces 검사');
    const fx = await makeFolderFixture(dir, { good: 3, defects: 4, maskPlacement });
    writeFileSync(join(dir, 'notes.txt'), 'not an image');
    const before = treeFingerprint(dir);
    const p = createProject(join(tmp.dir, 'project'));
    t.after(() => p.close());
    const report = await importDataset(p, dir);
    assert.deepEqual(treeFingerprint(dir), before);
    assert.equal(report.layout, 'folder');
    assert.deepEqual(report.categories, ['Pièces 검사']);
    assert.deepEqual(report.problems, []);
    assert.equal(report.ignoredFiles, 1); // notes.txt
    assert.deepEqual(report.images, { imported: 7, alreadyPresent: 0 });
    assert.deepEqual(report.masks, { imported: 4, alreadyPresent: 0 });
    const rows = imageRows(p);
    assert.deepEqual(
      rows.filter((r) => r.defect_type === null).map((r) => [basename(r.source_path), r.split]),
      fx.good.map((g) => [basename(g.path), 'train']),
    );
    const defects = rows.filter((r) => r.defect_type === 'defect');
    assert.deepEqual(defects.map((r) => [basename(r.source_path), r.split, r.defect_split, r.area_px]), fx.defects.map((w, i) => [basename(w.path), 'test', i < 2 ? 'train' : 'holdout', w.area]));
  });
}

test('sub-folders name defect types; a good/ folder holds good images', async (t) => {
  const tmp = makeTempDir('folder');
  t.after(tmp.cleanup);
  const dir = join(tmp.dir, 'gears');
  const fx = await makeFolderFixture(dir, { good: 2, defects: 0, typed: { chipped: 3, rust: 2 }, maskPlacement: 'masks-dir' });
  await makeFolderFixture(join(dir, 'good'), { good: 2, defects: 0, seed: 9 });
  const p = createProject(join(tmp.dir, 'project'));
  t.after(() => p.close());
  const report = await importDataset(p, dir, { layout: 'folder' });
  assert.deepEqual(report.problems, []);
  const info = projectInfo(p);
  assert.equal(info.categories.length, 1);
  const c = info.categories[0]!;
  assert.deepEqual([c.name, c.trainGood, c.testGood], ['gears', 4, 0]);
  assert.deepEqual(
    c.defectTypes.map((d) => [d.name, d.images, d.masks, d.train, d.holdout]),
    [
      ['chipped', 3, 3, 1, 2],
      ['rust', 2, 2, 1, 1],
    ],
  );
  assert.equal(fx.typed.chipped!.length, 3);
});

test('a second mask for one image is rejected; an unmasked image in a type folder is a warning', async (t) => {
  const tmp = makeTempDir('folder');
  t.after(tmp.cleanup);
  const dir = join(tmp.dir, 'bolts');
  const fx = await makeFolderFixture(dir, { good: 0, defects: 0, typed: { thread: 2 } });
  const [first, second] = fx.typed.thread!;
  const duplicate = join(dir, 'thread', 'masks', basename(first!.maskPath!));
  writeFileMakingDirs(duplicate, readFileSync(first!.maskPath!));
  unlinkSync(second!.maskPath!);
  const p = createProject(join(tmp.dir, 'project'));
  t.after(() => p.close());
  const report = await importDataset(p, dir);
  assert.deepEqual(
    report.problems.map((pr) => [pr.path, pr.severity, pr.code]),
    [
      [second!.path, 'warning', 'IMAGE_WITHOUT_MASK'],
      [duplicate, 'error', 'MASK_DUPLICATE'],
    ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
  );
  assert.equal(report.rejected, 1);
  assert.deepEqual(report.images, { imported: 2, alreadyPresent: 0 });
  assert.deepEqual(report.masks, { imported: 1, alreadyPresent: 0 });
});

test('a project kept inside the dataset folder is not imported into itself', async (t) => {
  const tmp = makeTempDir('folder');
  t.after(tmp.cleanup);
  const dir = join(tmp.dir, 'parts');
  await makeFolderFixture(dir, { good: 2, defects: 1 });
  const p = createProject(join(dir, 'project'));
  t.after(() => p.close());
  // an exported PNG inside the project must not be picked up
  writeFileSync(join(dir, 'project', 'exports', 'export.png'), Buffer.from([0x89]));
  const report = await importDataset(p, dir);
  assert.deepEqual(report.problems, []);
  assert.equal(report.images.imported, 3);
});
