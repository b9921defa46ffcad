import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createProject } from '../../../src/main/store/project';
import { importDataset } from '../../../src/main/import/import';
import { projectInfo } from '../../../src/main/store/info';
import { decodeImage } from '../../../src/engine/imaging/decode';
import { makeMvtecFixture } from '../../fixtures/datasets';
import { makeTempDir } from '../../fixtures/temp-dir';
import { treeFingerprint } from '../../fixtures/tree-hash';
import { count, imageRows } from './helpers';

test('an MVTec category folder imports with splits, types, exact binary masks, and the source untouched', async (t) => {
  const tmp = makeTempDir('mvtec');
  t.after(tmp.cleanup);
  const data = join(tmp.dir, 'data');
  const fx = await makeMvtecFixture(data, { category: 'vis 나사', trainGood: 4, testGood: 2, defects: { crack: 5, 'scratch mark': 1 } });
  const before = treeFingerprint(data);
  const p = createProject(join(tmp.dir, 'project'));
  t.after(() => p.close());
  const progress: [number, number][] = [];
  const report = await importDataset(p, fx.categoryDir, { onProgress: (d, n) => progress.push([d, n]) });

  assert.equal(report.layout, 'mvtec');
  assert.deepEqual(report.categories, ['vis 나사']);
  assert.deepEqual(report.images, { imported: 12, alreadyPresent: 0 });
  assert.deepEqual(report.masks, { imported: 6, alreadyPresent: 0 });
  assert.equal(report.rejected, 0);
  assert.deepEqual(report.problems, []);
  assert.deepEqual(progress.at(-1), [12, 12]);
  assert.deepEqual(treeFingerprint(data), before, 'the source folder must not change');

  const rows = imageRows(p);
  const crack = rows.filter((r) => r.defect_type === 'crack');
  // first third of 5 sorted by file name (ceil(5/3) = 2) is train, the rest holdout
  assert.deepEqual(crack.map((r) => [r.source_path, r.defect_split]), fx.defects.crack!.map((w, i) => [w.path, i < 2 ? 'train' : 'holdout']));
  assert.deepEqual(rows.filter((r) => r.defect_type === 'scratch mark').map((r) => r.defect_split), ['train']); // ceil(1/3) = 1
  assert.ok(rows.filter((r) => r.defect_type === null).every((r) => r.defect_split === null && r.mask_hash === null));
  for (const r of [...crack]) {
    const written = fx.defects.crack!.find((w) => w.path === r.source_path)!;
    assert.equal(r.area_px, written.area);
    const mask = await decodeImage(p.blobs.read(r.mask_hash!), 'mask');
    assert.equal(mask.channels, 1);
    assert.ok(mask.data.every((v) => v === 0 || v === 255));
    assert.equal(mask.data.filter((v) => v === 255).length, written.area);
    assert.deepEqual([r.width, r.height, r.channels], [48, 32, 3]);
  }

  const info = projectInfo(p);
  assert.equal(info.categories.length, 1);
  const cat = info.categories[0]!;
  assert.deepEqual([cat.name, cat.trainGood, cat.testGood], ['vis 나사', 4, 2]);
  assert.deepEqual(
    cat.defectTypes.map((d) => [d.name, d.images, d.masks, d.train, d.holdout, d.trainCount]),
    [
      ['crack', 5, 5, 2, 3, null],
      ['scratch mark', 1, 1, 1, 0, null],
    ],
  );
  assert.equal(info.blobs.count, 18);
  JSON.parse(JSON.stringify(info)); // crosses IPC as JSON
});

test('re-importing the same folder adds nothing', async (t) => {
  const tmp = makeTempDir('mvtec');
  t.after(tmp.cleanup);
  const fx = await makeMvtecFixture(join(tmp.dir, 'data'), { defects: { crack: 3 } });
  const p = createProject(join(tmp.dir, 'project'));
  t.after(() => p.close());
  await importDataset(p, fx.categoryDir);
  const tables = ['images', 'masks', 'blobs', 'defect_types'].map((tb) => count(p, tb));
  const again = await importDataset(p, fx.categoryDir);
  assert.deepEqual(again.images, { imported: 0, alreadyPresent: 8 });
  assert.deepEqual(again.masks, { imported: 0, alreadyPresent: 3 });
  assert.deepEqual(['images', 'masks', 'blobs', 'defect_types'].map((tb) => count(p, tb)), tables);
});

test('a parent folder holding several categories imports each as its own category', async (t) => {
  const tmp = makeTempDir('mvtec');
  t.after(tmp.cleanup);
  const data = join(tmp.dir, 'mvtec_ad');
  await makeMvtecFixture(data, { category: 'bottle', trainGood: 2, testGood: 1, defects: { broken: 2 }, seed: 3 });
  await makeMvtecFixture(data, { category: 'cable', trainGood: 1, testGood: 1, defects: { cut: 3, bent: 1 }, seed: 4, channels: 1 });
  const p = createProject(join(tmp.dir, 'project'));
  t.after(() => p.close());
  const report = await importDataset(p, data, { layout: 'mvtec' });
  assert.deepEqual(report.categories, ['bottle', 'cable']);
  assert.equal(report.images.imported, 5 + 6);
  const info = projectInfo(p);
  assert.deepEqual(
    info.categories.map((c) => [c.name, c.trainGood, c.testGood, c.defectTypes.map((d) => `${d.name}:${d.images}`).join(',')]),
    [
      ['bottle', 2, 1, 'broken:2'],
      ['cable', 1, 1, 'bent:1,cut:3'],
    ],
  );
  // the gray category stays single-channel
  assert.ok(imageRows(p).filter((r) => r.category === 'cable').every((r) => r.channels === 1));
});

test('PNG, JPEG, BMP and TIFF images import; PNG and JPEG keep their bytes, BMP and TIFF become PNG', async (t) => {
  const tmp = makeTempDir('mvtec');
  t.after(tmp.cleanup);
  const fx = await makeMvtecFixture(join(tmp.dir, 'data'), { trainGood: 4, testGood: 0, defects: { pit: 4 }, formats: ['png', 'jpeg', 'bmp', 'tiff'] });
  const p = createProject(join(tmp.dir, 'project'));
  t.after(() => p.close());
  const report = await importDataset(p, fx.categoryDir);
  assert.equal(report.rejected, 0, JSON.stringify(report.problems));
  const rows = imageRows(p);
  assert.equal(rows.length, 8);
  const byExt = (ext: string): string[] => rows.filter((r) => r.source_path.endsWith(ext)).map((r) => r.media_type);
  assert.deepEqual(byExt('.png'), ['image/png', 'image/png']);
  assert.deepEqual(byExt('.jpg'), ['image/jpeg', 'image/jpeg']);
  assert.deepEqual(byExt('.bmp'), ['image/png', 'image/png']);
  assert.deepEqual(byExt('.tif'), ['image/png', 'image/png']);
  // masks paired for every format
  assert.equal(rows.filter((r) => r.mask_hash !== null).length, 4);
});

test('cancelling stops the import with an AbortError and leaves consistent splits', async (t) => {
  const tmp = makeTempDir('mvtec');
  t.after(tmp.cleanup);
  const fx = await makeMvtecFixture(join(tmp.dir, 'data'), { trainGood: 2, testGood: 0, defects: { crack: 30 } });
  const p = createProject(join(tmp.dir, 'project'));
  t.after(() => p.close());
  const controller = new AbortController();
  await assert.rejects(
    importDataset(p, fx.categoryDir, { batchSize: 4, signal: controller.signal, onProgress: (done) => done === 10 && controller.abort() }),
    (e: Error) => e.name === 'AbortError',
  );
  const rows = imageRows(p).filter((r) => r.defect_type === 'crack');
  assert.ok(rows.length > 0 && rows.length < 30, `${rows.length} committed`);
  // Whatever was committed has a complete split: ceil(n/3) train.
  assert.equal(rows.filter((r) => r.defect_split === 'train').length, Math.ceil(rows.length / 3));
  const done = await importDataset(p, fx.categoryDir);
  assert.equal(done.images.imported + done.images.alreadyPresent, 32);
  assert.equal(imageRows(p).length, 32);
});
