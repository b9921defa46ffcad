// Opens a project's SQLite file with the settings every caller relies on.
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { UserError } from '../../shared/errors';

/**
 * WAL lets the renderer's readers and the job manager's writer work at once; foreign keys are off
 * by default in SQLite and must be switched on per connection; synchronous=NORMAL is safe under WAL
 * (a power cut may lose the last commits, never corrupt the file); busy_timeout makes a second
 * process wait for the write lock instead of failing at once.
 */
export function openDatabase(file: string, opts: { mustExist: boolean }): Db {
  let db: Db;
  try {
    db = new Database(file, { fileMustExist: opts.mustExist });
  } catch (e) {
    throw new UserError('PROJECT_UNREADABLE', `${file}: cannot open the project database: ${(e as Error).message}`);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
  } catch (e) {
    db.close();
    const code = (e as { code?: string }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new UserError('NOT_A_PROJECT', `${file} is not a DefectForge project database (not a SQLite file or damaged).`);
    }
    throw new UserError('PROJECT_UNREADABLE', `${file}: cannot open the project database: ${(e as Error).message}`);
  }
  return db;
}
