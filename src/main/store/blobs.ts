// Content-addressed blob store: every image, mask, trained parameter set and generated output is a
// file named by the SHA-256 of its bytes, fanned out by the first two hex digits
// (blobs/ab/cdef...) so no folder holds more than ~1/256 of them. Files are written under a
// temporary name in the same folder, flushed, then renamed, so a crash never leaves a half blob
// under a real name. Writing bytes that are already stored is a no-op. Each blob also has a row in
// the `blobs` table (size, media type) that other tables reference.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { UserError } from '../../shared/errors';
import { nowIso } from './time';

export interface BlobStore {
  readonly dir: string;
  /** Stores the bytes (file and row) and returns their SHA-256 hex. */
  put(bytes: Uint8Array, mediaType: string): string;
  has(hash: string): boolean;
  path(hash: string): string;
  read(hash: string): Buffer;
  /**
   * Writes only the file, without blocking the event loop; the caller records the row later with
   * `record` (typically inside its own batch transaction). A file without a row is harmless.
   */
  writeFile(bytes: Uint8Array): Promise<string>;
  /** Inserts the `blobs` row for a stored file; a no-op when the row exists. */
  record(hash: string, size: number, mediaType: string): void;
}

const HASH_PATTERN = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function createBlobStore(dir: string, db: Database): BlobStore {
  const insertRow = db.prepare('INSERT OR IGNORE INTO blobs (hash, size, media_type, created_at) VALUES (?, ?, ?, ?)');

  function blobPath(hash: string): string {
    if (!HASH_PATTERN.test(hash)) throw new Error(`not a blob hash (64 lowercase hex digits): ${JSON.stringify(hash)}`);
    return join(dir, hash.slice(0, 2), hash.slice(2));
  }

  function tempPath(hash: string): string {
    return join(dir, hash.slice(0, 2), `.${hash.slice(2, 10)}-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  }

  function writeFileSyncAtomic(hash: string, bytes: Uint8Array): void {
    const target = blobPath(hash);
    if (existsSync(target)) return;
    mkdirSync(join(dir, hash.slice(0, 2)), { recursive: true });
    const temp = tempPath(hash);
    const fd = openSync(temp, 'wx');
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(temp, target);
    } catch (e) {
      rmSync(temp, { force: true });
      // Another writer stored the same content first (on Windows rename then fails): same bytes.
      if (!existsSync(target)) throw e;
    }
  }

  async function writeFileAsyncAtomic(hash: string, bytes: Uint8Array): Promise<void> {
    const target = blobPath(hash);
    if (await exists(target)) return;
    await mkdir(join(dir, hash.slice(0, 2)), { recursive: true });
    const temp = tempPath(hash);
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, target);
    } catch (e) {
      await rm(temp, { force: true });
      if (!(await exists(target))) throw e;
    }
  }

  return {
    dir,
    put(bytes, mediaType) {
      const hash = sha256Hex(bytes);
      writeFileSyncAtomic(hash, bytes);
      insertRow.run(hash, bytes.length, mediaType, nowIso());
      return hash;
    },
    has(hash) {
      return HASH_PATTERN.test(hash) && existsSync(blobPath(hash));
    },
    path: blobPath,
    read(hash) {
      const file = blobPath(hash);
      try {
        return readFileSync(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError('BLOB_MISSING', `${file}: blob ${hash} is missing from the project.`);
        throw e;
      }
    },
    async writeFile(bytes) {
      const hash = sha256Hex(bytes);
      await writeFileAsyncAtomic(hash, bytes);
      return hash;
    },
    record(hash, size, mediaType) {
      blobPath(hash);
      insertRow.run(hash, size, mediaType, nowIso());
    },
  };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
