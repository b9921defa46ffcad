// Handlers of the workstation's channels (dataset browser, viewer, mask editor, defect types,
// jobs). Thin: the queries in ../store/queries, the thumbnail cache and the job manager do the work.
import type { Handlers } from '../ipc/dispatch';
import type { JobInfo, JobProgressInfo } from '../../shared/ipc';
import type { ProgressEvent } from '../../shared/engine-protocol';
import type { JobManager, JobRecord } from '../jobs';
import { renameDefectType, setTrainCount } from '../store/defect-types';
import type { Project } from '../store/project';
import { createDefectType, listTypeDetails, mergeDefectTypes, typeDetail, updateSettings } from '../store/queries/defect-types';
import { getImage, listImages } from '../store/queries/images';
import { saveDrawnMask } from '../store/queries/masks';
import { createThumbnailCache, type ThumbnailCache } from '../thumbnails/thumbnails';
import { dropDraft, getDraft, putDraft } from './mask-drafts';
import { requireJobs as requireJobsOf, type ProjectSession } from './project-session';

type WorkstationChannel =
  | 'images:list'
  | 'images:get'
  | 'images:thumbnails'
  | 'masks:save'
  | 'masks:draftGet'
  | 'masks:draftPut'
  | 'masks:draftDrop'
  | 'types:list'
  | 'types:create'
  | 'types:rename'
  | 'types:merge'
  | 'types:setTrainCount'
  | 'types:setSettings'
  | 'jobs:list'
  | 'jobs:submit'
  | 'jobs:cancel';

export function progressInfo(event: ProgressEvent): JobProgressInfo {
  return {
    step: event.step,
    total: event.total,
    ...(event.etaSeconds !== undefined ? { etaSeconds: event.etaSeconds } : {}),
    ...(event.message !== undefined ? { message: event.message } : {}),
    ...(event.loss !== undefined ? { loss: event.loss } : {}),
    ...(event.preview !== undefined ? { preview: event.preview } : {}),
  };
}

export function jobInfo(job: JobRecord, warnings: string[]): JobInfo {
  return {
    id: job.id,
    kind: job.kind,
    state: job.state,
    progress: job.progress === null ? null : progressInfo(job.progress),
    error: job.error,
    warnings,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
  };
}

function decodeBase64(data: string): Buffer {
  return Buffer.from(data, 'base64');
}

export function workstationHandlers(session: ProjectSession, jobs: () => JobManager | null): Pick<Handlers, WorkstationChannel> {
  const thumbnails = new WeakMap<Project, ThumbnailCache>();
  const thumbnailCache = (project: Project): ThumbnailCache => {
    let cache = thumbnails.get(project);
    if (!cache) thumbnails.set(project, (cache = createThumbnailCache(project)));
    return cache;
  };
  const requireJobs = (): JobManager => requireJobsOf(session, jobs);

  return {
    'images:list': (query) => listImages(session.current(), query),
    'images:get': ({ id }) => getImage(session.current(), id),
    'images:thumbnails': async ({ ids }) => {
      const project = session.current();
      if (ids.length === 0) return { thumbnails: [] };
      const placeholders = ids.map(() => '?').join(',');
      const rows = project.db.prepare(`SELECT id, blob_hash AS hash FROM images WHERE id IN (${placeholders})`).all(...ids) as { id: number; hash: string }[];
      const made = await thumbnailCache(project).forBlobs(rows.map((r) => r.hash));
      return { thumbnails: rows.flatMap((r) => (made.has(r.hash) ? [{ id: r.id, hash: made.get(r.hash)! }] : [])) };
    },
    'masks:save': async ({ imageId, pngBase64 }) => {
      const project = session.current();
      const saved = await saveDrawnMask(project, imageId, decodeBase64(pngBase64));
      dropDraft(project, imageId);
      return saved;
    },
    'masks:draftGet': ({ imageId }) => getDraft(session.current(), imageId),
    'masks:draftPut': ({ imageId, pngBase64 }) => putDraft(session.current(), imageId, decodeBase64(pngBase64)),
    'masks:draftDrop': ({ imageId }) => {
      dropDraft(session.current(), imageId);
      return {};
    },
    'types:list': () => listTypeDetails(session.current()),
    'types:create': ({ category, name }) => {
      const project = session.current();
      return typeDetail(project, createDefectType(project, category, name));
    },
    'types:rename': ({ id, name }) => {
      const project = session.current();
      renameDefectType(project, id, name);
      return typeDetail(project, id);
    },
    'types:merge': ({ sourceId, targetId }) => {
      const project = session.current();
      mergeDefectTypes(project, sourceId, targetId);
      return typeDetail(project, targetId);
    },
    'types:setTrainCount': ({ id, trainCount }) => {
      const project = session.current();
      setTrainCount(project, id, trainCount);
      return typeDetail(project, id);
    },
    'types:setSettings': ({ id, aar, color, maskSource, foreground }) => {
      const project = session.current();
      updateSettings(project, id, {
        ...(aar !== undefined ? { aar } : {}),
        ...(color !== undefined ? { color } : {}),
        ...(maskSource !== undefined ? { maskSource } : {}),
        ...(foreground !== undefined ? { foreground } : {}),
      });
      return typeDetail(project, id);
    },
    'jobs:list': () => {
      session.current();
      const manager = jobs();
      if (!manager) return [];
      const warnings = manager.store.allWarnings();
      return manager.list().map((job) => jobInfo(job, warnings.get(job.id) ?? []));
    },
    'jobs:submit': ({ kind, params }) => ({ id: requireJobs().submit(kind, params) }),
    'jobs:cancel': ({ id }) => ({ cancelled: requireJobs().cancel(id) }),
  };
}
