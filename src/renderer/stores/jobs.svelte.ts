// The jobs list: loaded once, then kept live from the 'jobs:update' event channel (state changes
// and every progress step). Errors of an action are kept per job, shown next to it.
import { SvelteMap } from 'svelte/reactivity';
import type { JobInfo, JobUpdateEvent } from '../../shared/ipc';
import { call, listen } from '../lib/api';

const jobs = new SvelteMap<number, JobInfo>();
const state = $state<{ loaded: boolean; error: string | null; submitting: boolean }>({ loaded: false, error: null, submitting: false });
export const jobsState: { readonly loaded: boolean; readonly error: string | null; readonly submitting: boolean } = state;
export const jobErrors = new SvelteMap<number, string>();

let stop: (() => void) | null = null;

function apply(update: JobUpdateEvent): void {
  const known = jobs.get(update.jobId);
  if (!known) {
    // a job we have not seen yet (submitted elsewhere): read the list again
    void loadJobs();
    return;
  }
  const now = new Date().toISOString();
  jobs.set(update.jobId, {
    ...known,
    state: update.state,
    progress: update.progress ?? known.progress,
    error: update.error ?? known.error,
    warnings: update.warnings ?? known.warnings,
    startedAt: known.startedAt ?? (update.state === 'running' ? now : null),
    finishedAt: update.state === 'succeeded' || update.state === 'failed' || update.state === 'cancelled' ? (known.finishedAt ?? now) : known.finishedAt,
  });
}

export async function loadJobs(): Promise<void> {
  stop ??= listen('jobs:update', apply);
  try {
    const list = await call('jobs:list', {});
    jobs.clear();
    for (const job of list) jobs.set(job.id, job);
    state.loaded = true;
    state.error = null;
  } catch (e) {
    state.error = e instanceof Error ? e.message : String(e);
  }
}

/** Newest first. */
export function jobList(): JobInfo[] {
  return [...jobs.values()].sort((a, b) => b.id - a.id);
}

export async function submitSleepJob(steps: number, stepMs: number): Promise<void> {
  state.submitting = true;
  try {
    const { id } = await call('jobs:submit', { kind: 'sleep', params: { steps, stepMs } });
    state.error = null;
    if (!jobs.has(id)) await loadJobs();
  } catch (e) {
    state.error = e instanceof Error ? e.message : String(e);
  } finally {
    state.submitting = false;
  }
}

export async function cancelJob(id: number): Promise<void> {
  try {
    await call('jobs:cancel', { id });
    jobErrors.delete(id);
  } catch (e) {
    jobErrors.set(id, e instanceof Error ? e.message : String(e));
  }
}

export function stopJobUpdates(): void {
  stop?.();
  stop = null;
  jobs.clear();
  state.loaded = false;
}
