// How augmentation runs its stages: each is a job of the project (adapt, learn-mask, learn-defect,
// synthesize) submitted to a job runner and awaited. The runner is the app's JobManager (an
// engine process; the CLI's augment does the same) or LocalJobs (./local-jobs.ts: the same engine
// methods in this process, for evaluation and tests). A job can carry a deadline: at the first
// training step past it the job is cancelled, which keeps its last checkpoint.
import type { ProgressEvent } from '../../shared/engine-protocol';
import { UserError } from '../../shared/errors';
import type { JobUpdate } from '../jobs/job-manager';
import type { JobRecord } from '../jobs/job-store';

/** The part of the JobManager augmentation uses (so tests and the app can hand in theirs). */
export interface AugmentJobs {
  submit(kind: string, params: unknown): number;
  waitFor(id: number): Promise<JobRecord>;
  cancel(id: number, reason?: string): boolean;
  subscribe(listener: (update: JobUpdate) => void): () => void;
}

export type StageKind = 'adapt' | 'learn-mask' | 'learn-defect' | 'synthesize';

export interface StageHooks {
  signal?: AbortSignal;
  onProgress?: (type: string, progress: ProgressEvent, stage: StageKind) => void;
}

export interface StageRun {
  job: JobRecord;
  /** the job was cancelled because its deadline passed (not by the user) */
  deadlineReached: boolean;
}

export const DEADLINE_REASON = 'its time budget ran out';

const FAILURE_CODES: Record<StageKind, string> = { adapt: 'ADAPTATION_FAILED', 'learn-mask': 'LEARNING_FAILED', 'learn-defect': 'LEARNING_FAILED', synthesize: 'SYNTHESIS_FAILED' };

/**
 * Runs one job to its end. A user cancel (hooks.signal) cancels the job and throws CANCELLED; a
 * failed job throws with its reason; a job stopped at its deadline is returned with
 * deadlineReached, for the caller to keep what it made.
 */
export async function runStage(jobs: AugmentJobs, kind: StageKind, params: unknown, label: string, hooks: StageHooks, deadline?: number): Promise<StageRun> {
  hooks.signal?.throwIfAborted();
  const id = jobs.submit(kind, params);
  let deadlineReached = false;
  const unsubscribe = jobs.subscribe((u) => {
    if (u.jobId !== id || !u.progress) return;
    hooks.onProgress?.(label, u.progress, kind);
    // only after a training step (loss reported): a checkpoint can then be written
    if (deadline !== undefined && !deadlineReached && u.progress.loss !== undefined && Date.now() >= deadline) {
      deadlineReached = true;
      jobs.cancel(id, DEADLINE_REASON);
    }
  });
  const onAbort = (): void => void jobs.cancel(id, 'cancelled by the user');
  hooks.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const job = await jobs.waitFor(id);
    if (job.state === 'cancelled' && deadlineReached && !hooks.signal?.aborted) return { job, deadlineReached };
    if (job.state === 'cancelled') throw new UserError('CANCELLED', `${label}: ${kind} cancelled (job ${id}); run the same command again to continue where it stopped`);
    if (job.state === 'failed') throw new UserError(FAILURE_CODES[kind], `${label}: ${kind} job ${id} failed: ${job.error ?? 'no reason given'}`);
    return { job, deadlineReached: false };
  } finally {
    hooks.signal?.removeEventListener('abort', onAbort);
    unsubscribe();
  }
}
