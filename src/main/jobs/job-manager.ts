// Runs jobs one at a time on one engine: queued -> running -> succeeded | failed | cancelled.
// The jobs table is the queue (a queued job survives an app restart), every transition is
// stored with a job_events line, progress is stored at most once per throttle interval (plus
// the last one), and an engine that dies takes only its running job down: the job fails with
// the exit reason and the next job starts a fresh engine process.
import type { Database } from 'better-sqlite3';
import type { JobState } from '../../shared/dto';
import type { EngineMethod, MethodParams, ProgressEvent } from '../../shared/engine-protocol';
import type { EngineHost } from '../engine-host/engine-host';
import { EngineExitedError, isCancelledError } from '../engine-host/errors';
import { jobKindSpec, type JobKindSpec } from './job-kinds';
import { isTerminal, JobStore, type JobRecord } from './job-store';

export const INTERRUPTED = 'interrupted: the app stopped while the job was running';

export interface JobUpdate {
  jobId: number;
  state: JobState;
  /** present on progress updates (every one, not throttled) */
  progress?: ProgressEvent;
  error?: string;
  /** on the update that ends a job: what it logged at level 'warn' (e.g. a diverged learning run) */
  warnings?: string[];
}

export interface JobManagerOptions {
  /** minimum time between two progress writes of one job (the last one is always written) */
  progressThrottleMs?: number;
  /** how long a running job may take to stop after cancel before its engine is restarted */
  cancelGraceMs?: number;
  now?: () => number;
}

interface RunningJob {
  id: number;
  controller: AbortController;
  graceTimer: NodeJS.Timeout | null;
  cancelReason: string | null;
  settled: Promise<void>;
}

export class JobManager {
  readonly store: JobStore;
  private running: RunningJob | null = null;
  private closed = false;
  private readonly listeners = new Set<(update: JobUpdate) => void>();
  private readonly waiters = new Map<number, ((job: JobRecord) => void)[]>();
  private readonly progressThrottleMs: number;
  private readonly cancelGraceMs: number;
  private readonly now: () => number;

  constructor(
    db: Database,
    private readonly engine: EngineHost,
    options: JobManagerOptions = {},
  ) {
    this.store = new JobStore(db);
    this.progressThrottleMs = options.progressThrottleMs ?? 500;
    this.cancelGraceMs = options.cancelGraceMs ?? 10_000;
    this.now = options.now ?? Date.now;
    // nothing runs yet in this process, so whatever the table says is 'running' was left by a crash
    this.store.failInterrupted(INTERRUPTED);
    this.schedule();
  }

  /** Queues a job and returns its id; it starts when the engine is free. */
  submit(kind: string, params: unknown): number {
    if (this.closed) throw new Error('the job manager is closed');
    jobKindSpec(kind);
    const id = this.store.insert(kind, params);
    this.emit({ jobId: id, state: 'queued' });
    this.schedule();
    return id;
  }

  /** Cancels a queued or running job; false when it had already finished (or does not exist). */
  cancel(id: number, reason = 'cancelled by the user'): boolean {
    const running = this.running;
    if (running && running.id === id) {
      if (running.cancelReason !== null) return true;
      running.cancelReason = reason;
      running.controller.abort();
      // ONNX runs cannot be interrupted; a job that does not reach its next check in time is
      // stopped by ending its engine process (the next job gets a fresh one)
      running.graceTimer = setTimeout(() => {
        void this.engine.restart(`${reason} (the engine did not stop within ${this.cancelGraceMs / 1000} s and was restarted)`);
      }, this.cancelGraceMs);
      return true;
    }
    if (!this.store.markCancelled(id, reason)) return false;
    this.finished(id);
    return true;
  }

  get(id: number): JobRecord | undefined {
    return this.store.get(id);
  }

  list(): JobRecord[] {
    return this.store.list();
  }

  subscribe(listener: (update: JobUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the job's record once it has succeeded, failed or been cancelled. */
  waitFor(id: number): Promise<JobRecord> {
    const job = this.store.get(id);
    if (!job) return Promise.reject(new Error(`no job ${id}`));
    if (isTerminal(job.state)) return Promise.resolve(job);
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
    });
  }

  /**
   * Stops taking jobs and waits for the running one to end. With `cancelRunning` it is
   * cancelled; without, it is left to finish. Queued jobs stay queued for the next start.
   */
  async close(options: { cancelRunning?: boolean } = {}): Promise<void> {
    this.closed = true;
    const running = this.running;
    if (running) {
      if (options.cancelRunning) this.cancel(running.id, 'cancelled: the app is closing');
      await running.settled;
    }
  }

  private schedule(): void {
    if (this.running || this.closed) return;
    const next = this.store.nextQueued();
    if (!next) return;
    let markSettled!: () => void;
    const running: RunningJob = {
      id: next.id,
      controller: new AbortController(),
      graceTimer: null,
      cancelReason: null,
      settled: new Promise<void>((r) => (markSettled = r)),
    };
    this.running = running;
    void this.run(next, running).finally(() => {
      if (running.graceTimer) clearTimeout(running.graceTimer);
      this.running = null;
      markSettled();
      this.finished(next.id);
      this.schedule();
    });
  }

  private async run(job: JobRecord, running: RunningJob): Promise<void> {
    let spec: JobKindSpec;
    try {
      spec = jobKindSpec(job.kind);
    } catch (e) {
      this.store.markFailed(job.id, (e as Error).message);
      return;
    }
    if (!this.store.markRunning(job.id)) return;
    this.emit({ jobId: job.id, state: 'running' });

    let lastWrite = -Infinity;
    let unsaved: ProgressEvent | null = null;
    const onProgress = (event: ProgressEvent) => {
      const t = this.now();
      if (t - lastWrite >= this.progressThrottleMs) {
        lastWrite = t;
        unsaved = null;
        this.store.saveProgress(job.id, event);
      } else {
        unsaved = event;
      }
      this.emit({ jobId: job.id, state: 'running', progress: event });
    };
    try {
      const result = await this.engine.request(spec.method, job.params as MethodParams<EngineMethod>, {
        jobId: job.id,
        signal: running.controller.signal,
        onProgress,
        onLog: (level, message) => this.store.addEvent(job.id, level, message),
      });
      if (unsaved) this.store.saveProgress(job.id, unsaved);
      this.store.markSucceeded(job.id, result);
    } catch (err) {
      if (unsaved) this.store.saveProgress(job.id, unsaved);
      const message = err instanceof Error ? err.message : String(err);
      if (running.cancelReason !== null && (isCancelledError(err) || err instanceof EngineExitedError)) {
        // an engine restarted by the cancel grace timer reports why in its exit message
        this.store.markCancelled(job.id, err instanceof EngineExitedError ? message : running.cancelReason);
      } else {
        this.store.markFailed(job.id, message);
      }
    }
  }

  private finished(id: number): void {
    const job = this.store.get(id);
    if (!job) return;
    const warnings = this.store.warnings(id);
    this.emit({ jobId: id, state: job.state, ...(job.error !== null ? { error: job.error } : {}), ...(warnings.length ? { warnings } : {}) });
    const waiting = this.waiters.get(id);
    this.waiters.delete(id);
    for (const resolve of waiting ?? []) resolve(job);
  }

  private emit(update: JobUpdate): void {
    for (const listener of this.listeners) {
      try {
        listener(update);
      } catch {
        // a broken listener (a closed window) must not stop the queue
      }
    }
  }
}
