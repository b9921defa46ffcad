import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { createProject } from '../../../src/main/store/project';
import { sha256Hex } from '../../../src/main/store/blobs';
import { isUserError } from '../../../src/shared/errors';
import { makeTempDir } from '../../fixtures/temp-dir';

function listFiles(root: string, dir = root): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...listFiles(root, full));
    else out.push(relative(root, full).split(sep).join('/'));
  }
  return out.sort();
}

test('sha256Hex matches the published SHA-256 test vectors', () => {
  // FIPS 180-2 examples: "abc" and the empty message.
  assert.equal(sha256Hex(new TextEncoder().encode('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(sha256Hex(new Uint8Array(0)), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('put stores bytes under blobs/ab/cdef..., records a row, and is a no-op the second time', (t) => {
  const tmp = makeTempDir('blobs');
  t.after(tmp.cleanup);
  const p = createProject(tmp.dir);
  t.after(() => p.close());
  const bytes = new TextEncoder().encode('abc');
  const hash = p.blobs.put(bytes, 'text/plain');
  assert.equal(hash, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(p.blobs.path(hash), join(tmp.dir, 'blobs', 'ba', hash.slice(2)));
  assert.ok(p.blobs.has(hash));
  assert.deepEqual(new Uint8Array(p.blobs.read(hash)), bytes);
  const mtime = statSync(p.blobs.path(hash)).mtimeMs;
  assert.equal(p.blobs.put(bytes, 'text/plain'), hash);
  assert.equal(statSync(p.blobs.path(hash)).mtimeMs, mtime);
  assert.deepEqual(listFiles(join(tmp.dir, 'blobs')), [`ba/${hash.slice(2)}`]); // no temp files left
  const rows = p.db.prepare('SELECT hash, size, media_type FROM blobs').all();
  assert.deepEqual(rows, [{ hash, size: 3, media_type: 'text/plain' }]);
});

test('writeFile stores asynchronously and record adds the row separately', async (t) => {
  const tmp = makeTempDir('blobs');
  t.after(tmp.cleanup);
  const p = createProject(tmp.dir);
  t.after(() => p.close());
  const payloads = Array.from({ length: 20 }, (_, i) => new Uint8Array(1000 + i).fill(i));
  // The same content written concurrently many times ends as one file.
  const hashes = await Promise.all([...payloads, ...payloads].map((b) => p.blobs.writeFile(b)));
  assert.equal(new Set(hashes).size, 20);
  assert.equal(listFiles(join(tmp.dir, 'blobs')).length, 20);
  assert.equal(p.db.prepare('SELECT count(*) FROM blobs').pluck().get(), 0);
  p.blobs.record(hashes[0]!, 1000, 'application/octet-stream');
  assert.equal(p.db.prepare('SELECT size FROM blobs WHERE hash = ?').pluck().get(hashes[0]), 1000);
  assert.deepEqual(new Uint8Array(p.blobs.read(hashes[5]!)), payloads[5]);
});

test('blob paths reject anything but a SHA-256 hex digest, and a missing blob is a UserError naming the file', (t) => {
  const tmp = makeTempDir('blobs');
  t.after(tmp.cleanup);
  const p = createProject(tmp.dir);
  t.after(() => p.close());
  assert.throws(() => p.blobs.path('../../etc/passwd'), /not a blob hash/);
  assert.equal(p.blobs.has('zz'), false);
  const missing = 'a'.repeat(64);
  assert.equal(p.blobs.has(missing), false);
  try {
    p.blobs.read(missing);
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(isUserError(e));
    assert.equal(e.code, 'BLOB_MISSING');
    assert.ok(e.message.includes(p.blobs.path(missing)));
  }
});
