// The one project the window works on. Opening another closes the previous one; while a long
// operation (an import) runs on the project, replacing or closing it is refused, so the database
// is never closed under a running import.
import { UserError } from '../../shared/errors';
import type { Project } from '../store/project';
import type { JobManager } from '../jobs';
import type { BlobSource } from './served-files';

export class ProjectSession {
  #project: Project | null = null;
  #blobSource: BlobSource | null = null;
  #busyWith: string | null = null;

  get project(): Project | null {
    return this.#project;
  }

  /** The open project; a UserError when there is none. */
  current(): Project {
    if (!this.#project) throw new UserError('NO_PROJECT', 'No project is open: create or open one first.');
    return this.#project;
  }

  /** Runs `open` (which opens or creates the next project) unless busy, then closes the old one. */
  replace(open: () => Project): Project {
    this.#assertIdle();
    const next = open();
    const previous = this.#project;
    this.#project = next;
    this.#blobSource = null;
    if (previous && previous !== next) previous.close();
    return next;
  }

  /** Runs a long operation on the open project; a second one (or a replace) meanwhile is refused. */
  async exclusive<T>(what: string, run: (project: Project) => Promise<T>): Promise<T> {
    const project = this.current();
    this.#assertIdle();
    this.#busyWith = what;
    try {
      return await run(project);
    } finally {
      this.#busyWith = null;
    }
  }

  /** What static file serving may read from the open project (null when none is open). */
  blobSource(): BlobSource | null {
    const project = this.#project;
    if (!project) return null;
    if (!this.#blobSource) {
      const mediaTypeOf = project.db.prepare<[string], { media_type: string }>('SELECT media_type FROM blobs WHERE hash = ?');
      this.#blobSource = {
        dir: project.dir,
        blobPath: (hash) => project.blobs.path(hash),
        blobMediaType: (hash) => mediaTypeOf.get(hash)?.media_type ?? null,
      };
    }
    return this.#blobSource;
  }

  close(): void {
    this.#project?.close();
    this.#project = null;
    this.#blobSource = null;
  }

  #assertIdle(): void {
    if (this.#busyWith) {
      throw new UserError('BUSY', `The project is busy (${this.#busyWith}); wait for it to finish.`);
    }
  }
}

/** The job manager for the open project; a UserError when no project is open or no engine runs. */
export function requireJobs(session: ProjectSession, jobs: () => JobManager | null): JobManager {
  session.current();
  const manager = jobs();
  if (!manager) throw new UserError('NO_ENGINE', 'The compute engine is not running, so jobs cannot be started.');
  return manager;
}
