// The logic behind every IPC channel, as plain Node: Electron's ipcMain registration and the
// browser-test HTTP server both build this object and route requests through `dispatch`.
// Handlers stay thin: the store and the importer do the work.
import type { EventChannel, EventMap, FolderPurpose } from '../../shared/ipc';
import type { Handlers } from '../ipc/dispatch';
import type { EngineHost } from '../engine-host';
import { importDataset } from '../import/import';
import { JobManager } from '../jobs';
import { projectInfo } from '../store/info';
import { createProject, openProject, type Project } from '../store/project';
import { appInfo } from './app-info';
import { ProjectSession } from './project-session';
import { createRecentProjects, type RecentProjects } from './recent';
import { throttleProgress } from './throttle';
import { synthesisHandlers } from './synthesis';
import { progressInfo, workstationHandlers } from './workstation';

export interface ApiOptions {
  /** Folder for the app's own settings (recent projects): Electron's userData, a temp dir in tests. */
  configDir: string;
  /** Electron's version in the app; null under plain Node. */
  electronVersion: string | null;
  /** Asks the user for a folder (a native dialog in Electron); null when they cancel. */
  pickFolder(purpose: FolderPurpose): Promise<string | null>;
  /** Sends an event to the renderer. */
  emit<E extends EventChannel>(event: E, payload: EventMap[E]): void;
  /** Least time between two progress events; the final one is always sent. */
  progressIntervalMs?: number;
  /** The engine process host (a utilityProcess in the app, a Node child under tests); without it
   *  no job manager runs. */
  engine?: EngineHost;
}

export interface Api {
  readonly handlers: Handlers;
  readonly session: ProjectSession;
  readonly recent: RecentProjects;
  /** The open project's job manager (null without a project or an engine). */
  jobs(): JobManager | null;
  /** Aborts a running import, waits for it to stop, then closes the open project (app quit, server stop). */
  close(): Promise<void>;
}

const DEFAULT_PROGRESS_INTERVAL_MS = 100;

export function createApi(options: ApiOptions): Api {
  const session = new ProjectSession();
  const recent = createRecentProjects(options.configDir);
  // Imports in flight: their abort switch and the promise that settles when they have stopped.
  const running = new Map<AbortController, Promise<unknown>>();

  // One job manager per open project: it marks jobs a crash left 'running' as failed and runs
  // queued ones on the engine. Replacing the project closes the old manager first.
  let jobs: JobManager | null = null;
  let jobsClosing: Promise<void> = Promise.resolve();
  let unsubscribeJobs: (() => void) | null = null;
  function attachJobs(project: Project): void {
    const previous = jobs;
    jobs = null;
    unsubscribeJobs?.();
    unsubscribeJobs = null;
    if (previous) jobsClosing = jobsClosing.then(() => previous.close({ cancelRunning: true }));
    if (options.engine) {
      jobs = new JobManager(project.db, options.engine);
      // Every state change and progress step reaches the jobs list live.
      unsubscribeJobs = jobs.subscribe((update) =>
        options.emit('jobs:update', {
          jobId: update.jobId,
          state: update.state,
          ...(update.progress ? { progress: progressInfo(update.progress) } : {}),
          ...(update.error !== undefined ? { error: update.error } : {}),
          ...(update.warnings ? { warnings: update.warnings } : {}),
        }),
      );
    }
  }

  function opened(project: Project) {
    attachJobs(project);
    const info = projectInfo(project);
    recent.touch({ dir: project.dir, name: info.name });
    return { dir: project.dir, info };
  }

  const handlers: Handlers = {
    'app:info': () => appInfo(options.electronVersion),
    'project:create': ({ dir, name }) => opened(session.replace(() => createProject(dir, name === undefined ? {} : { name }))),
    'project:open': ({ dir }) => opened(session.replace(() => openProject(dir))),
    'project:info': () => projectInfo(session.current()),
    'project:recent': () => recent.list(),
    'dataset:import': ({ folder, layout }) =>
      session.exclusive('importing a dataset', async (project) => {
        const abort = new AbortController();
        const onProgress = throttleProgress(
          (done, total) => options.emit('dataset:importProgress', { done, total }),
          options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS,
        );
        const work = importDataset(project, folder, { layout: layout ?? 'auto', onProgress, signal: abort.signal });
        running.set(abort, work);
        try {
          return await work;
        } finally {
          running.delete(abort);
        }
      }),
    'dialog:pickFolder': async ({ purpose }) => ({ path: await options.pickFolder(purpose) }),
    ...workstationHandlers(session, () => jobs),
    ...synthesisHandlers(session, () => jobs, options.emit),
  };

  return {
    handlers,
    session,
    recent,
    jobs: () => jobs,
    async close() {
      for (const abort of running.keys()) abort.abort();
      await Promise.allSettled(running.values());
      await jobs?.close({ cancelRunning: true });
      await jobsClosing;
      jobs = null;
      session.close();
    },
  };
}
