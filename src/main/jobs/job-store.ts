// The jobs and job_events tables (migration 0001), and nothing else. Every state change is one
// transaction that updates the row only if it is in an allowed prior state and appends a log
// line, so the table never records an impossible transition (e.g. a cancelled job succeeding).
import type { Database } from 'better-sqlite3';
import type { LogLevel, ProgressEvent } from '../../shared/engine-protocol';
import type { JobState } from '../../shared/dto';
import { nowIso } from '../store/time';

export interface JobRecord {
  id: number;
  kind: string;
  state: JobState;
  params: unknown;
  progress: ProgressEvent | null;
  result: unknown;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
}

export interface JobEvent {
  id: number;
  jobId: number;
  at: string;
  level: LogLevel;
  message: string;
}

interface JobRow {
  id: number;
  kind: string;
  state: JobState;
  params_json: string;
  progress_json: string | null;
  result_json: string | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

const TERMINAL: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export function isTerminal(state: JobState): boolean {
  return TERMINAL.includes(state);
}

function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    params: JSON.parse(row.params_json),
    progress: row.progress_json === null ? null : (JSON.parse(row.progress_json) as ProgressEvent),
    result: row.result_json === null ? null : JSON.parse(row.result_json),
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
  };
}

export class JobStore {
  constructor(private readonly db: Database) {}

  insert(kind: string, params: unknown): number {
    return this.db.transaction(() => {
      const at = nowIso();
      const info = this.db
        .prepare("INSERT INTO jobs (kind, state, params_json, created_at, updated_at) VALUES (?, 'queued', ?, ?, ?)")
        .run(kind, JSON.stringify(params ?? {}), at, at);
      const id = Number(info.lastInsertRowid);
      this.addEvent(id, 'info', `queued ${kind}`, at);
      return id;
    })();
  }

  get(id: number): JobRecord | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row && toRecord(row);
  }

  /** newest first */
  list(limit = 1000): JobRecord[] {
    return (this.db.prepare('SELECT * FROM jobs ORDER BY id DESC LIMIT ?').all(limit) as JobRow[]).map(toRecord);
  }

  /** the oldest queued job: the queue is the table itself, so it survives a restart */
  nextQueued(): JobRecord | undefined {
    const row = this.db.prepare("SELECT * FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1").get() as JobRow | undefined;
    return row && toRecord(row);
  }

  markRunning(id: number): boolean {
    return this.transition(id, ['queued'], 'running', { started_at: true }, 'info', 'started');
  }

  markSucceeded(id: number, result: unknown): boolean {
    return this.transition(id, ['running'], 'succeeded', { finished_at: true, result_json: JSON.stringify(result ?? null) }, 'info', 'succeeded');
  }

  markFailed(id: number, reason: string): boolean {
    return this.transition(id, ['queued', 'running'], 'failed', { finished_at: true, error: reason }, 'error', `failed: ${reason}`);
  }

  markCancelled(id: number, reason: string): boolean {
    return this.transition(id, ['queued', 'running'], 'cancelled', { finished_at: true, error: reason }, 'warn', `cancelled: ${reason}`);
  }

  saveProgress(id: number, progress: ProgressEvent): void {
    this.db.prepare('UPDATE jobs SET progress_json = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(progress), nowIso(), id);
  }

  /** Marks jobs a previous run left 'running' as failed; returns their ids. */
  failInterrupted(reason: string): number[] {
    return this.db.transaction(() => {
      const ids = this.db.prepare("SELECT id FROM jobs WHERE state = 'running' ORDER BY id").pluck().all() as number[];
      for (const id of ids) this.markFailed(id, reason);
      return ids;
    })();
  }

  addEvent(jobId: number, level: LogLevel, message: string, at: string = nowIso()): void {
    this.db.prepare('INSERT INTO job_events (job_id, at, level, message) VALUES (?, ?, ?, ?)').run(jobId, at, level, message);
  }

  /** the messages a job logged at level 'warn', oldest first */
  warnings(jobId: number): string[] {
    return this.db.prepare("SELECT message FROM job_events WHERE job_id = ? AND level = 'warn' ORDER BY id").pluck().all(jobId) as string[];
  }

  /** every job's 'warn' messages in one query (the jobs list), oldest first; jobs without any are absent */
  allWarnings(): Map<number, string[]> {
    const rows = this.db.prepare("SELECT job_id AS jobId, message FROM job_events WHERE level = 'warn' ORDER BY id").all() as { jobId: number; message: string }[];
    const byJob = new Map<number, string[]>();
    for (const { jobId, message } of rows) {
      const messages = byJob.get(jobId);
      if (messages) messages.push(message);
      else byJob.set(jobId, [message]);
    }
    return byJob;
  }

  events(jobId: number): JobEvent[] {
    return this.db
      .prepare('SELECT id, job_id AS jobId, at, level, message FROM job_events WHERE job_id = ? ORDER BY id')
      .all(jobId) as JobEvent[];
  }

  private transition(
    id: number,
    from: readonly JobState[],
    to: JobState,
    set: { started_at?: true; finished_at?: true; result_json?: string; error?: string },
    level: LogLevel,
    message: string,
  ): boolean {
    return this.db.transaction(() => {
      const at = nowIso();
      const columns = ['state = @to', 'updated_at = @at'];
      const values: Record<string, string | number> = { id, to, at };
      if (set.started_at) columns.push('started_at = @at');
      if (set.finished_at) columns.push('finished_at = @at');
      if (set.result_json !== undefined) {
        columns.push('result_json = @result_json');
        values.result_json = set.result_json;
      }
      if (set.error !== undefined) {
        columns.push('error = @error');
        values.error = set.error;
      }
      // `from` holds JobState literals only, never user text
      const states = from.map((s) => `'${s}'`).join(', ');
      const info = this.db.prepare(`UPDATE jobs SET ${columns.join(', ')} WHERE id = @id AND state IN (${states})`).run(values);
      if (info.changes === 0) return false;
      this.addEvent(id, level, message, at);
      return true;
    })();
  }
}
