// A project is a folder: project.sqlite (the catalogue), blobs/ (content-addressed files) and
// exports/ (what the user exports). Creating one builds the database under a temporary name and
// renames it into place, so a crash mid-creation never leaves a half-made project.sqlite behind.
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { UserError } from '../../shared/errors';
import { appVersion } from './app-version';
import { createBlobStore, type BlobStore } from './blobs';
import { openDatabase } from './db';
import { migrate, schemaVersion } from './migrate';
import { nowIso } from './time';

export const DATABASE_FILE = 'project.sqlite';
export const BLOBS_DIR = 'blobs';
export const EXPORTS_DIR = 'exports';

export interface Project {
  readonly dir: string;
  readonly db: Db;
  readonly blobs: BlobStore;
  close(): void;
}

export function createProject(dir: string, opts: { name?: string } = {}): Project {
  const root = resolve(dir);
  const file = join(root, DATABASE_FILE);
  if (existsSync(file)) throw new UserError('PROJECT_EXISTS', `${root} already holds a DefectForge project (${DATABASE_FILE}).`);
  if (existsSync(root) && !statSync(root).isDirectory()) throw new UserError('NOT_A_FOLDER', `${root} is a file, not a folder.`);
  const name = (opts.name ?? basename(root)).trim();
  if (name === '') throw new UserError('BAD_PROJECT_NAME', `${root}: the project name must not be empty.`);
  mkdirSync(join(root, BLOBS_DIR), { recursive: true });
  mkdirSync(join(root, EXPORTS_DIR), { recursive: true });

  const temp = join(root, `.${DATABASE_FILE}.${process.pid}.creating`);
  rmSync(temp, { force: true });
  const db = new Database(temp);
  try {
    db.pragma('foreign_keys = ON');
    migrate(db, file);
    db.prepare('INSERT INTO project (id, name, created_at, app_version) VALUES (1, ?, ?, ?)').run(name, nowIso(), appVersion());
  } catch (e) {
    db.close();
    rmSync(temp, { force: true });
    throw e;
  }
  db.close();
  if (existsSync(file)) {
    rmSync(temp, { force: true });
    throw new UserError('PROJECT_EXISTS', `${root} already holds a DefectForge project (${DATABASE_FILE}).`);
  }
  renameSync(temp, file);
  return openProject(root);
}

export function openProject(dir: string): Project {
  const root = resolve(dir);
  if (!existsSync(root)) throw new UserError('PROJECT_NOT_FOUND', `${root} does not exist.`);
  const file = join(root, DATABASE_FILE);
  if (!existsSync(file)) throw new UserError('NOT_A_PROJECT', `${root} is not a DefectForge project: it has no ${DATABASE_FILE}.`);
  const db = openDatabase(file, { mustExist: true });
  try {
    // createProject always leaves version >= 1; a version-0 file is some other SQLite database,
    // which must not be migrated (that would write our tables into someone else's file).
    if (schemaVersion(db) === 0) throw new UserError('NOT_A_PROJECT', `${file} is a SQLite database but not a DefectForge project.`);
    migrate(db, file);
    const row = db.prepare('SELECT name FROM project WHERE id = 1').get();
    if (row === undefined) throw new UserError('NOT_A_PROJECT', `${file} has no project record.`);
  } catch (e) {
    db.close();
    throw e;
  }
  mkdirSync(join(root, BLOBS_DIR), { recursive: true });
  mkdirSync(join(root, EXPORTS_DIR), { recursive: true });
  const blobs = createBlobStore(join(root, BLOBS_DIR), db);
  return {
    dir: root,
    db,
    blobs,
    close() {
      if (db.open) db.close();
    },
  };
}
