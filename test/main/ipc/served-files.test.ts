import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isInside, servedFile, type BlobSource } from '../../../src/main/api/served-files';

function fixture() {
  const root = mkdtempSync(join(tmpdir(), 'df served 검사 '));
  const renderer = join(root, 'renderer');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html>');
  writeFileSync(join(renderer, 'assets', 'app-1.js'), 'export {}');
  writeFileSync(join(renderer, 'assets', 'é 1.css'), 'body{}');
  writeFileSync(join(root, 'secret.txt'), 'outside');
  const projectDir = join(root, 'project');
  const hash = 'ab'.padEnd(64, '0');
  mkdirSync(join(projectDir, 'blobs', 'ab'), { recursive: true });
  writeFileSync(join(projectDir, 'blobs', 'ab', hash.slice(2)), 'png bytes');
  const known = new Map([[hash, 'image/png']]);
  const project: BlobSource = {
    dir: projectDir,
    blobPath: (h) => join(projectDir, 'blobs', h.slice(0, 2), h.slice(2)),
    blobMediaType: (h) => known.get(h) ?? null,
  };
  return { root, renderer, project, hash, known, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

test('renderer files are served with their media type; / is index.html', (t) => {
  const f = fixture();
  t.after(f.cleanup);
  assert.deepEqual(servedFile('/', f.renderer, null), { file: join(f.renderer, 'index.html'), mimeType: 'text/html; charset=utf-8' });
  assert.equal(servedFile('/assets/app-1.js', f.renderer, null)?.mimeType, 'text/javascript; charset=utf-8');
  // percent-encoded non-ASCII names and spaces resolve
  assert.equal(servedFile(`/assets/${encodeURIComponent('é 1.css')}`, f.renderer, null)?.file, join(f.renderer, 'assets', 'é 1.css'));
  assert.equal(servedFile('/missing.js', f.renderer, null), null);
  assert.equal(servedFile('/assets', f.renderer, null), null, 'a folder is not a file');
});

test('paths escaping the renderer folder are refused, however they are spelled', (t) => {
  const f = fixture();
  t.after(f.cleanup);
  for (const path of ['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/..%5csecret.txt', '/%00index.html', '/%E0%A4%A']) {
    assert.equal(servedFile(path, f.renderer, null), null, path);
  }
});

test('blobs are served only from the open project, only for known hashes', (t) => {
  const f = fixture();
  t.after(f.cleanup);
  assert.deepEqual(servedFile(`/blob/${f.hash}`, f.renderer, f.project), { file: f.project.blobPath(f.hash), mimeType: 'image/png' });
  assert.equal(servedFile(`/blob/${f.hash}`, f.renderer, null), null, 'no project open');
  assert.equal(servedFile(`/blob/${'cd'.padEnd(64, '0')}`, f.renderer, f.project), null, 'unknown hash');
  assert.equal(servedFile('/blob/../secret.txt', f.renderer, f.project), null);
  assert.equal(servedFile(`/blob/${f.hash.toUpperCase()}`, f.renderer, f.project), null, 'hashes are lower-case hex');
});

test('a blob that is a symlink out of blobs/ is refused', { skip: process.platform === 'win32' ? 'symlinks need privileges on Windows' : false }, (t) => {
  const f = fixture();
  t.after(f.cleanup);
  const evil = 'ef'.padEnd(64, '1');
  mkdirSync(join(f.project.dir, 'blobs', 'ef'), { recursive: true });
  symlinkSync(join(f.root, 'secret.txt'), f.project.blobPath(evil));
  f.known.set(evil, 'image/png');
  assert.equal(servedFile(`/blob/${evil}`, f.renderer, f.project), null);
});

test('isInside', () => {
  const base = join('/', 'a', 'b');
  assert.equal(isInside(base, join(base, 'c')), true);
  assert.equal(isInside(base, join(base, '..c')), true, 'a name starting with .. is still inside');
  assert.equal(isInside(base, base), false);
  assert.equal(isInside(base, join(base, '..', 'c')), false);
  assert.equal(isInside(base, join('/', 'a', 'bc')), false);
});
