import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { createProject, type Project } from '../../../src/main/store/project';
import { defaultTrainCount, listDefectTypes, renameDefectType, setTrainCount } from '../../../src/main/store/defect-types';
import { importDataset } from '../../../src/main/import/import';
import { isUserError } from '../../../src/shared/errors';
import { makeMvtecFixture } from '../../fixtures/datasets';
import { makeTempDir } from '../../fixtures/temp-dir';

function splitByFile(p: Project, typeId: number): [string, string][] {
  const rows = p.db.prepare('SELECT source_path, defect_split FROM images WHERE defect_type_id = ?').all(typeId) as { source_path: string; defect_split: string }[];
  return rows.map((r) => [basename(r.source_path), r.defect_split] as [string, string]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

test('the default training share is the first third, rounded up', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 39].map(defaultTrainCount), [0, 1, 1, 1, 2, 2, 2, 3, 13]);
});

test('setTrainCount re-derives the split by file name; null restores the default; rename keeps ids', async (t) => {
  const tmp = makeTempDir('types');
  t.after(tmp.cleanup);
  const fx = await makeMvtecFixture(join(tmp.dir, 'data'), { trainGood: 1, testGood: 0, defects: { crack: 7, hole: 2 } });
  const p = createProject(join(tmp.dir, 'project'));
  t.after(() => p.close());
  await importDataset(p, fx.categoryDir);
  const crack = listDefectTypes(p).find((d) => d.name === 'crack')!;
  assert.deepEqual([crack.images, crack.train, crack.holdout, crack.trainCount], [7, 3, 4, null]);

  setTrainCount(p, crack.id, 5);
  assert.deepEqual(splitByFile(p, crack.id).map(([, s]) => s), ['train', 'train', 'train', 'train', 'train', 'holdout', 'holdout']);
  assert.equal(splitByFile(p, crack.id)[0]![0], '000.png');
  setTrainCount(p, crack.id, 0);
  assert.equal(listDefectTypes(p).find((d) => d.id === crack.id)!.holdout, 7);
  setTrainCount(p, crack.id, 100); // more than there are: all train
  assert.equal(listDefectTypes(p).find((d) => d.id === crack.id)!.train, 7);
  setTrainCount(p, crack.id, null);
  assert.deepEqual(
    listDefectTypes(p).map((d) => [d.name, d.train, d.holdout, d.trainCount]),
    [
      ['crack', 3, 4, null],
      ['hole', 1, 1, null],
    ],
  );

  for (const bad of [-1, 1.5, Number.NaN]) {
    assert.throws(() => setTrainCount(p, crack.id, bad), (e: unknown) => isUserError(e) && e.code === 'BAD_TRAIN_COUNT');
  }
  assert.throws(() => setTrainCount(p, 9999, 1), (e: unknown) => isUserError(e) && e.code === 'DEFECT_TYPE_NOT_FOUND');

  renameDefectType(p, crack.id, '  fissure ');
  assert.deepEqual(listDefectTypes(p, 'widget').map((d) => [d.id, d.name]), [
    [crack.id, 'fissure'],
    [listDefectTypes(p).find((d) => d.name === 'hole')!.id, 'hole'],
  ]);
  assert.throws(() => renameDefectType(p, crack.id, 'hole'), (e: unknown) => isUserError(e) && e.code === 'DEFECT_TYPE_EXISTS');
  assert.throws(() => renameDefectType(p, crack.id, '   '), (e: unknown) => isUserError(e) && e.code === 'BAD_DEFECT_TYPE_NAME');
  assert.deepEqual(listDefectTypes(p, 'other'), []);
});

test('a chosen train count survives a later import of more images of the type', async (t) => {
  const tmp = makeTempDir('types');
  t.after(tmp.cleanup);
  const first = await makeMvtecFixture(join(tmp.dir, 'a'), { trainGood: 0, testGood: 0, defects: { crack: 3 }, seed: 5 });
  const second = await makeMvtecFixture(join(tmp.dir, 'b'), { trainGood: 0, testGood: 0, defects: { crack: 6 }, seed: 6 });
  const p = createProject(join(tmp.dir, 'project'));
  t.after(() => p.close());
  await importDataset(p, first.categoryDir);
  const crack = listDefectTypes(p)[0]!;
  setTrainCount(p, crack.id, 2);
  await importDataset(p, second.categoryDir);
  const after = listDefectTypes(p)[0]!;
  assert.deepEqual([after.images, after.train, after.holdout, after.trainCount], [9, 2, 7, 2]);
});
