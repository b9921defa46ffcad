// Brings a database up to the newest schema this build knows, one migration per transaction,
// recording progress in PRAGMA user_version. A database written by a newer build is refused
// rather than guessed at: its tables may mean things this build does not know about.
import type { Database } from 'better-sqlite3';
import { UserError } from '../../shared/errors';
import { migrations as knownMigrations, type Migration } from './migrations/index';

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function latestSchemaVersion(list: readonly Migration[] = knownMigrations): number {
  return list.length === 0 ? 0 : list[list.length - 1]!.version;
}

/** Versions must run 1, 2, 3... with no gap, or a database could skip a step. */
export function checkMigrationList(list: readonly Migration[]): void {
  list.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration "${m.name}" has version ${m.version}; expected ${i + 1}`);
  });
}

/** Throws the user-facing refusal when `file`'s schema is newer than this build. */
export function assertNotTooNew(db: Database, file: string, list: readonly Migration[] = knownMigrations): void {
  const current = schemaVersion(db);
  const latest = latestSchemaVersion(list);
  if (current > latest) {
    throw new UserError(
      'PROJECT_TOO_NEW',
      `${file} has schema version ${current}, but this version of DefectForge knows schema versions up to ${latest}. ` +
        'Open it with a newer DefectForge.',
    );
  }
}

/**
 * Applies every migration above the database's user_version. Each runs in its own IMMEDIATE
 * transaction (so two processes opening one project cannot both apply it: the second re-reads the
 * version under the write lock and skips). A failing migration rolls back and leaves the version
 * where it was. Returns the versions applied.
 */
export function migrate(db: Database, file: string, list: readonly Migration[] = knownMigrations): number[] {
  checkMigrationList(list);
  assertNotTooNew(db, file, list);
  const applied: number[] = [];
  for (const m of list) {
    const step = db.transaction(() => {
      if (schemaVersion(db) >= m.version) return false;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
      return true;
    });
    try {
      if (step.immediate()) applied.push(m.version);
    } catch (e) {
      throw new Error(`${file}: migration ${String(m.version).padStart(4, '0')}-${m.name} failed: ${(e as Error).message}`, { cause: e });
    }
  }
  return applied;
}
