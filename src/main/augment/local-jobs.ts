// A job runner for this process: the engine's own method handlers (src/engine/host/methods), run
// one job at a time, with every transition, progress and log line recorded in the project's jobs
// tables as the JobManager records them. Evaluation uses it (it already computes in the process
// that calls it), and tests use it to run augmentation without an engine child process.
import type { Database } from 'better-sqlite3';
import type { ProgressEvent } from '../../shared/engine-protocol';
import type { HandlerContext } from '../../engine/host/handler';
import { engineMethods } from '../../engine/host/methods';
import { jobKindSpec } from '../jobs/job-kinds';
import type { JobUpdate } from '../jobs/job-manager';
import { JobStore, type JobRecord } from '../jobs/job-store';
import type { AugmentJobs } from './jobs';

export interface LocalJobsOptions {
  /** added to every synthesis job's params: ORT threads of its model sessions */
  threads?: number;
  /** minimum time between two progress writes of one job (the last one is always written) */
  progressThrottleMs?: number;
}

export class LocalJobs implements AugmentJobs {
  readonly store: JobStore;
  private readonly runs = new Map<number, { done: Promise<JobRecord>; controller: AbortController; reason: string | null }>();
  private readonly listeners = new Set<(u: JobUpdate) => void>();
  /** jobs run one after the other, like the JobManager's */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    db: Database,
    private readonly options: LocalJobsOptions = {},
  ) {
    this.store = new JobStore(db);
  }

  submit(kind: string, params: unknown): number {
    const spec = jobKindSpec(kind);
    const withThreads = kind === 'synthesize' && this.options.threads !== undefined ? { ...(params as object), threads: this.options.threads } : params;
    const id = this.store.insert(kind, withThreads);
    const controller = new AbortController();
    const run = { controller, reason: null as string | null, done: Promise.resolve(null as unknown as JobRecord) };
    run.done = this.queue.then(() => this.execute(id, spec.method, withThreads, run));
    this.queue = run.done.catch(() => undefined);
    this.runs.set(id, run);
    this.emit({ jobId: id, state: 'queued' });
    return id;
  }

  private async execute(id: number, method: keyof typeof engineMethods, params: unknown, run: { controller: AbortController; reason: string | null }): Promise<JobRecord> {
    if (run.controller.signal.aborted) {
      this.store.markCancelled(id, run.reason ?? 'cancelled');
      return this.finish(id);
    }
    this.store.markRunning(id);
    this.emit({ jobId: id, state: 'running' });
    let lastWrite = -Infinity;
    const throttle = this.options.progressThrottleMs ?? 500;
    const ctx: HandlerContext = {
      signal: run.controller.signal,
      jobId: id,
      progress: (event) => {
        const progress: ProgressEvent = { ...event, jobId: id };
        const now = Date.now();
        if (now - lastWrite >= throttle || event.step >= event.total) {
          lastWrite = now;
          this.store.saveProgress(id, progress);
        }
        this.emit({ jobId: id, state: 'running', progress });
      },
      log: (level, message) => this.store.addEvent(id, level, message),
    };
    const handler = engineMethods[method] as (p: unknown, c: HandlerContext) => Promise<unknown>;
    try {
      this.store.markSucceeded(id, await handler(params, ctx));
    } catch (e) {
      if (run.controller.signal.aborted) this.store.markCancelled(id, run.reason ?? 'cancelled');
      else this.store.markFailed(id, (e as Error).message);
    }
    return this.finish(id);
  }

  private finish(id: number): JobRecord {
    const job = this.store.get(id)!;
    this.emit({ jobId: id, state: job.state, ...(job.error !== null ? { error: job.error } : {}) });
    return job;
  }

  waitFor(id: number): Promise<JobRecord> {
    const run = this.runs.get(id);
    if (!run) return Promise.reject(new Error(`job ${id} was not submitted here`));
    return run.done;
  }

  cancel(id: number, reason = 'cancelled by the user'): boolean {
    const run = this.runs.get(id);
    const job = this.store.get(id);
    if (!run || !job || job.state === 'succeeded' || job.state === 'failed' || job.state === 'cancelled') return false;
    run.reason ??= reason;
    run.controller.abort();
    return true;
  }

  subscribe(listener: (u: JobUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(u: JobUpdate): void {
    for (const l of this.listeners) l(u);
  }
}
