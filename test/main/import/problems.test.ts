import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { createProject } from '../../../src/main/store/project';
import { importDataset } from '../../../src/main/import/import';
import { decodeImage } from '../../../src/engine/imaging/decode';
import { makeMvtecFixture } from '../../fixtures/datasets';
import { makeTempDir } from '../../fixtures/temp-dir';
import { treeFingerprint } from '../../fixtures/tree-hash';
import { writeFileMakingDirs } from '../../fixtures/images';
import { imageRows } from './helpers';

test('every kind of bad input is reported with its path and reason, and the rest is imported', async (t) => {
  const tmp = makeTempDir('problems');
  t.after(tmp.cleanup);
  const data = join(tmp.dir, 'data');
  const fx = await makeMvtecFixture(data, { category: 'plate', width: 40, height: 30, trainGood: 4, testGood: 1, defects: { dent: 7 } });
  const d = fx.defects.dent!;
  const good = fx.trainGood;

  // corrupt PNG: bytes flipped inside the pixel data
  const corrupt = readFileSync(good[0]!.path);
  corrupt[corrupt.length - 30] ^= 0xff;
  writeFileSync(good[0]!.path, corrupt);
  // truncated JPEG (replacing a PNG good image)
  const jpeg = await sharp(readFileSync(good[1]!.path)).jpeg().toBuffer();
  unlinkSync(good[1]!.path);
  const truncatedJpeg = good[1]!.path.replace(/\.png$/, '.jpg');
  writeFileSync(truncatedJpeg, jpeg.subarray(0, Math.floor(jpeg.length * 0.6)));
  // 0-byte image
  writeFileSync(good[2]!.path, new Uint8Array(0));
  // mask of the wrong size
  writeFileSync(d[0]!.maskPath!, await sharp(new Uint8Array(20 * 30).fill(255), { raw: { width: 20, height: 30, channels: 1 } }).toColourspace('b-w').png().toBuffer());
  // non-binary mask: a soft-edged blob (values 0..255) -> still imported, thresholded, warned
  const soft = new Uint8Array(40 * 30).map((_, i) => Math.max(0, 255 - 12 * Math.hypot((i % 40) - 20, Math.floor(i / 40) - 15)) | 0);
  writeFileSync(d[1]!.maskPath!, await sharp(soft, { raw: { width: 40, height: 30, channels: 1 } }).toColourspace('b-w').png().toBuffer());
  // empty (all-black) mask
  writeFileSync(d[2]!.maskPath!, await sharp(new Uint8Array(40 * 30), { raw: { width: 40, height: 30, channels: 1 } }).toColourspace('b-w').png().toBuffer());
  // 0-byte mask
  writeFileSync(d[3]!.maskPath!, new Uint8Array(0));
  // mask with no image
  const orphan = join(fx.categoryDir, 'ground_truth', 'dent', '099_mask.png');
  writeFileMakingDirs(orphan, readFileSync(d[4]!.maskPath!));
  // mask whose image is corrupt -> the mask is not imported either
  writeFileSync(d[5]!.path, Buffer.from('not really a png'));

  const before = treeFingerprint(data);
  const p = createProject(join(tmp.dir, 'project'));
  t.after(() => p.close());
  const report = await importDataset(p, fx.categoryDir);
  assert.deepEqual(treeFingerprint(data), before);

  const byPath = new Map(report.problems.map((pr) => [pr.path, pr]));
  const expect = (path: string, severity: string, code: string, message: RegExp): void => {
    const pr = byPath.get(path);
    assert.ok(pr, `no problem reported for ${path}; got ${JSON.stringify(report.problems, null, 1)}`);
    assert.deepEqual([pr.severity, pr.code], [severity, code], path);
    assert.match(pr.message, message, path);
  };
  expect(good[0]!.path, 'error', 'UNREADABLE_IMAGE', /damaged \(CRC mismatch\)/);
  // libvips' message, or (when concurrent decodes lose it) the structural hint
  expect(truncatedJpeg, 'error', 'UNREADABLE_IMAGE', /premature end of JPEG|truncated: the JPEG data ends without an end-of-image marker/);
  expect(good[2]!.path, 'error', 'EMPTY_FILE', /empty \(0 bytes\)/);
  expect(d[0]!.maskPath!, 'error', 'MASK_SIZE_MISMATCH', /20x30 but its image .* is 40x30/);
  expect(d[1]!.maskPath!, 'warning', 'MASK_NOT_BINARY', /pixels \([\d.]+%\) were neither 0 nor 255; thresholded at 128/);
  expect(d[2]!.maskPath!, 'error', 'MASK_EMPTY', /no defect pixels/);
  expect(d[3]!.maskPath!, 'error', 'EMPTY_FILE', /0 bytes/);
  expect(orphan, 'error', 'MASK_WITHOUT_IMAGE', /no image for this mask \(expected .*099\.png/);
  expect(d[5]!.path, 'error', 'UNSUPPORTED_IMAGE', /not a PNG, JPEG, BMP or TIFF/);
  expect(d[5]!.maskPath!, 'error', 'MASK_WITHOUT_IMAGE', /its image .* was rejected/);
  // images whose mask was rejected are still imported (a mask can be drawn later)
  for (const i of [0, 2, 3]) assert.match(byPath.get(d[i]!.maskPath!)!.message, /its image is imported without a mask$/);

  // rejected: 3 good images, 1 defect image, 5 masks (size, empty, 0-byte, orphan, image rejected)
  assert.equal(report.rejected, 9);
  assert.equal(report.problems.filter((pr) => pr.severity === 'error').length, 9);
  assert.deepEqual(report.images, { imported: 1 + 1 + 6, alreadyPresent: 0 }); // 1 train good, 1 test good, 6 dents
  assert.deepEqual(report.masks, { imported: 3, alreadyPresent: 0 }); // d1 (thresholded), d4, d6

  const rows = imageRows(p);
  const softRow = rows.find((r) => r.source_path === d[1]!.path)!;
  const stored = await decodeImage(p.blobs.read(softRow.mask_hash!), 'mask');
  const expectedArea = soft.filter((v) => v >= 128).length;
  assert.equal(softRow.area_px, expectedArea);
  assert.equal(stored.data.filter((v) => v === 255).length, expectedArea);
  assert.ok(stored.data.every((v, i) => v === (soft[i]! >= 128 ? 255 : 0)));
  // six dents imported; the split covers all of them (ceil(6/3) = 2 train)
  assert.deepEqual(rows.filter((r) => r.defect_type === 'dent').map((r) => r.defect_split), ['train', 'train', 'holdout', 'holdout', 'holdout', 'holdout']);
});

test('a missing folder, a file, and a wrong explicit layout are UserErrors naming the path', async (t) => {
  const tmp = makeTempDir('problems');
  t.after(tmp.cleanup);
  const p = createProject(join(tmp.dir, 'project'));
  t.after(() => p.close());
  const missing = join(tmp.dir, 'nope');
  await assert.rejects(importDataset(p, missing), (e: Error & { code?: string }) => e.code === 'IMPORT_NOT_FOUND' && e.message.includes(missing));
  const file = join(tmp.dir, 'file.png');
  writeFileSync(file, 'x');
  await assert.rejects(importDataset(p, file), (e: Error & { code?: string }) => e.code === 'IMPORT_NOT_A_FOLDER' && e.message.includes(file));
  const plain = join(tmp.dir, 'plain');
  writeFileMakingDirs(join(plain, 'a.png'), readFileSync(file));
  await assert.rejects(importDataset(p, plain, { layout: 'mvtec' }), (e: Error & { code?: string }) => e.code === 'IMPORT_LAYOUT' && e.message.includes(plain));
});
