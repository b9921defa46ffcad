import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { NORMAL_FAMILIES, buildContactSheet, readCorpusLabels, readMvtecLayout, writeMvtecCorpus } from '../../../src/engine/corpus';
import { readPng } from '../../../src/engine/corpus/png';
import { makeTempDir } from '../../fixtures/temp-dir';

async function listAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listAll(p)));
    else out.push(p);
  }
  return out;
}

test('the MVTec export round-trips through the layout reader (counts, sizes, masks, labels)', async () => {
  const { dir, cleanup } = makeTempDir('corpus');
  try {
    const families = ['label', 'hex_nut'];
    const options = { seed: 77, families, trainGood: 2, testGood: 1, defectsPerType: 1 };
    const labels = await writeMvtecCorpus(dir, options);
    const entries = await readMvtecLayout(dir);
    for (const name of families) {
      const info = NORMAL_FAMILIES.find((f) => f.name === name)!;
      const mine = entries.filter((e) => e.family === name);
      assert.equal(mine.filter((e) => e.split === 'train' && e.defect === 'good').length, 2);
      assert.equal(mine.filter((e) => e.split === 'test' && e.defect === 'good').length, 1);
      for (const d of info.defects) assert.equal(mine.filter((e) => e.defect === d).length, 1, `${name}/${d}`);
      assert.equal(mine.length, 3 + info.defects.length);
    }
    assert.equal(labels.files.length, entries.length);
    for (const e of entries) {
      const img = await readPng(e.image);
      assert.deepEqual([img.width, img.height, img.channels], [256, 256, 3], e.image);
      if (e.defect === 'good') {
        assert.equal(e.mask, undefined);
        continue;
      }
      const mask = await readPng(e.mask!);
      assert.deepEqual([mask.width, mask.height, mask.channels], [256, 256, 1], e.mask);
      let on = 0;
      for (const v of mask.data) {
        assert.ok(v === 0 || v === 255, `${e.mask}: value ${v}`);
        if (v) on++;
      }
      assert.ok(on > 0, `${e.mask} is empty`);
      const label = labels.files.find((f) => join(dir, ...f.file.split('/')) === e.image)!;
      assert.equal(label.defect, e.defect);
      assert.equal(label.family, e.family);
      assert.ok(Math.abs(label.area! - on / (256 * 256)) < 1e-5);
    }
    // labels.json on disk is the returned object; no temporary files were left behind
    const onDisk = await readCorpusLabels(dir);
    assert.deepEqual(onDisk, JSON.parse(JSON.stringify(labels)));
    const all = await listAll(dir);
    assert.ok(all.every((p) => !p.endsWith('.tmp')), 'temporary files left behind');

    // one family alone, same seed: byte-identical files (per-file seeds do not depend on the rest)
    const { dir: dir2, cleanup: cleanup2 } = makeTempDir('corpus2');
    try {
      await writeMvtecCorpus(dir2, { ...options, families: ['hex_nut'] });
      for (const f of labels.files.filter((x) => x.family === 'hex_nut')) {
        const a = await readFile(join(dir, ...f.file.split('/')));
        const b = await readFile(join(dir2, ...f.file.split('/')));
        assert.ok(a.equals(b), `${f.file} differs between runs`);
      }
    } finally {
      cleanup2();
    }
  } finally {
    cleanup();
  }
});

test('bad corpus options are refused with user errors', async () => {
  const { dir, cleanup } = makeTempDir('corpus-bad');
  try {
    await assert.rejects(writeMvtecCorpus(dir, { seed: 1, families: ['marble'], trainGood: 1, testGood: 1, defectsPerType: 1 }), /unknown normal family 'marble'/);
    await assert.rejects(writeMvtecCorpus(dir, { seed: 1, trainGood: -1, testGood: 1, defectsPerType: 1 }), /trainGood must be a whole number/);
    await assert.rejects(readCorpusLabels(dir), (e: Error & { code?: string }) => e.code === 'corpus-bad-labels' && e.message.includes('labels.json'));
  } finally {
    cleanup();
  }
});

test('the contact sheet has a normal and a mask row per family', () => {
  const sheet = buildContactSheet({ seed: 1, families: ['capsule'] });
  const defects = NORMAL_FAMILIES.find((f) => f.name === 'capsule')!.defects.length;
  assert.equal(sheet.width, (1 + defects) * 256);
  assert.equal(sheet.height, 2 * 256);
  assert.equal(sheet.data.length, sheet.width * sheet.height * 3);
});
