// `defectforge import` through the real bin: a small folder-layout dataset with a broken file,
// at a path with spaces and non-ASCII characters, imported from another working directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { lines, runBin } from './run-bin';

function grayPng(values: number[]): Promise<Buffer> {
  return sharp(Buffer.from(values), { raw: { width: 4, height: 4, channels: 1 } }).png().toBuffer();
}

/** SHA-256 of every file under `dir`, to prove the import left the dataset untouched */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const file = join(entry.parentPath, entry.name);
      out[file] = createHash('sha256').update(readFileSync(file)).digest('hex');
    }
  }
  return out;
}

test('import reports imported and rejected files with their paths, leaves the dataset untouched, and is idempotent', async (t) => {
  const root = mkdtempSync(join(os.tmpdir(), 'df import '));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dataset = join(root, 'Datensatz Teile ö');
  mkdirSync(join(dataset, 'good'), { recursive: true });
  mkdirSync(join(dataset, 'kratzer'), { recursive: true });
  writeFileSync(join(dataset, 'good', 'ok 1.png'), await grayPng(Array(16).fill(100)));
  writeFileSync(join(dataset, 'good', 'ök 2.png'), await grayPng(Array(16).fill(120)));
  writeFileSync(join(dataset, 'kratzer', 'k 1.png'), await grayPng(Array.from({ length: 16 }, (_, i) => i * 10)));
  writeFileSync(join(dataset, 'kratzer', 'k 1_mask.png'), await grayPng(Array.from({ length: 16 }, (_, i) => (i < 4 ? 255 : 0))));
  const broken = join(dataset, 'kratzer', 'kaputt.png');
  writeFileSync(broken, 'this is not a png');
  const before = fingerprint(dataset);

  const cwd = join(root, 'anderswo');
  mkdirSync(cwd);
  assert.equal((await runBin(['init', 'Projekt ä'], cwd)).code, 0);

  const r = await runBin(['import', 'Projekt ä', dataset, '--layout', 'folder', '--json'], cwd);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.folder, dataset);
  assert.equal(report.layout, 'folder');
  assert.deepEqual(report.images, { imported: 3, alreadyPresent: 0 });
  assert.deepEqual(report.masks, { imported: 1, alreadyPresent: 0 });
  assert.equal(report.rejected, 1);
  const errors = report.problems.filter((p: { severity: string }) => p.severity === 'error');
  assert.deepEqual(
    errors.map((p: { path: string }) => p.path),
    [broken],
  );
  // progress went to stderr (not a TTY here: whole lines), ending at all files done
  assert.match(lines(r.stderr).at(-1)!, /^importing (\d+)\/\1 files$/);

  const again = await runBin(['import', 'Projekt ä', dataset], cwd);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^imported 0 images and 0 masks from .*Datensatz Teile ö \(layout folder, /m);
  assert.match(again.stdout, /^already present: 3 images, 1 masks$/m);
  assert.match(again.stdout, /^rejected: 1 files$/m);
  // each problem on its own line with its path and reason
  assert.ok(lines(again.stdout).some((l) => l.includes(broken) && /^ {2}error \w+ .+: .+/.test(l)));

  const info = JSON.parse((await runBin(['info', 'Projekt ä', '--json'], cwd)).stdout);
  assert.equal(info.categories[0].name, 'Datensatz Teile ö');
  assert.equal(info.categories[0].trainGood, 2);
  assert.deepEqual(
    info.categories[0].defectTypes.map((d: { name: string; images: number; masks: number }) => [d.name, d.images, d.masks]),
    [['kratzer', 1, 1]],
  );
  assert.deepEqual(fingerprint(dataset), before);
});

test('import of a folder that does not exist exits 1 with one line naming it', async (t) => {
  const root = mkdtempSync(join(os.tmpdir(), 'df import '));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.equal((await runBin(['init', 'p'], root)).code, 0);
  const r = await runBin(['import', 'p', 'nicht da ü'], root);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(lines(r.stderr).length, 1);
  assert.match(r.stderr, /^defectforge import: .*nicht da ü does not exist/);
});
