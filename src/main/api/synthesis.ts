// Handlers of the training, augmentation and gallery channels: the project's model setting,
// learning jobs, one-click augmentation runs (runAugment on the job manager, in main) and the
// generated samples with their lineage and regeneration. Thin: ../augment, ../store/samples and
// the engine's regenerate do the work.
import path from 'node:path';
import { regenerateSample } from '../../engine/synthesis/regenerate';
import { UserError } from '../../shared/errors';
import type { AugmentUpdateEvent, EventChannel, EventMap, ModelSetting, SampleDetail, SampleListItem } from '../../shared/ipc';
import { projectLearnSettings, readModelInfo, resolveTypes, runAugment, SYNTHESIZE_KIND } from '../augment';
import type { Handlers } from '../ipc/dispatch';
import type { JobManager } from '../jobs';
import type { Project } from '../store/project';
import { findDefaultModel } from '../default-model';
import { getSample, modelPathByHash } from '../store/samples';
import { appVersion } from '../store/app-version';
import { addToDrawnMasks, exactMaskRun } from './reuse-mask';
import { requireJobs as requireJobsOf, type ProjectSession } from './project-session';

type SynthesisChannel =
  | 'model:get'
  | 'model:set'
  | 'learn:start'
  | 'augment:start'
  | 'augment:cancel'
  | 'samples:list'
  | 'samples:get'
  | 'samples:regenerate'
  | 'samples:reuseMask';

/** The project setting that holds the model folder (project.settings_json). */
export const MODEL_SETTING = 'modelDir';
// A preview image every this many steps, when the request names no interval.
const DEFAULT_PREVIEW_EVERY = 25;

type Emit = <E extends EventChannel>(event: E, payload: EventMap[E]) => void;

function projectSettings(project: Project): Record<string, unknown> {
  const row = project.db.prepare('SELECT settings_json FROM project WHERE id = 1').get() as { settings_json: string } | undefined;
  try {
    const v: unknown = JSON.parse(row?.settings_json ?? '{}');
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    throw new UserError('BAD_PROJECT_SETTINGS', `${project.dir}: the project's settings are not valid JSON`);
  }
}

/** The stored model folder, or null when none was chosen. */
export function modelDirOf(project: Project): string | null {
  const dir = projectSettings(project)[MODEL_SETTING];
  return typeof dir === 'string' && dir !== '' ? dir : null;
}

/** The project's model: the folder chosen for it, else the embedded default model. */
function requireModelDir(project: Project): string {
  const dir = modelDirOf(project) ?? findDefaultModel();
  if (dir === null) throw new UserError('NO_MODEL', 'Choose a model folder first (Training: model folder); the embedded default model is not installed.');
  return dir;
}

async function modelSetting(chosen: string | null): Promise<ModelSetting> {
  const dir = chosen ?? findDefaultModel();
  const isDefault = chosen === null && dir !== null;
  if (dir === null) return { dir: null, name: null, contentHash: null, isDefault: false };
  try {
    const info = await readModelInfo(dir);
    return { dir, name: info.name, contentHash: info.contentHash, isDefault };
  } catch {
    // a folder that went away or changed still shows, without a name: the user can pick another
    return { dir, name: null, contentHash: null, isDefault };
  }
}

function typeLabel(project: Project, typeId: number): string {
  const row = project.db.prepare('SELECT category, name FROM defect_types WHERE id = ?').get(typeId) as { category: string; name: string } | undefined;
  if (!row) throw new UserError('TYPE_NOT_FOUND', `There is no defect type with id ${typeId} in this project.`);
  return `${row.category}/${row.name}`;
}

interface ListRow {
  id: number;
  job_id: number | null;
  defect_type_id: number | null;
  category: string | null;
  name: string | null;
  image_blob: string;
  mask_blob: string;
  created_at: string;
}

const toListItem = (r: ListRow): SampleListItem => ({
  id: r.id,
  jobId: r.job_id,
  defectTypeId: r.defect_type_id,
  defectType: r.category === null ? null : `${r.category}/${r.name}`,
  imageBlob: r.image_blob,
  maskBlob: r.mask_blob,
  createdAt: r.created_at,
});

/** Newest first, optionally of one defect type. */
export function listSamples(project: Project, query: { defectTypeId?: number; offset: number; limit: number }) {
  const type = query.defectTypeId ?? null;
  const where = 'WHERE (@type IS NULL OR s.defect_type_id = @type)';
  const total = (project.db.prepare(`SELECT count(*) AS n FROM samples s ${where}`).get({ type }) as { n: number }).n;
  const rows = project.db
    .prepare(
      `SELECT s.id, s.job_id, s.defect_type_id, t.category, t.name, s.image_blob, s.mask_blob, s.created_at
         FROM samples s LEFT JOIN defect_types t ON t.id = s.defect_type_id ${where}
        ORDER BY s.id DESC LIMIT @limit OFFSET @offset`,
    )
    .all({ type, limit: query.limit, offset: query.offset }) as ListRow[];
  return { total, offset: query.offset, items: rows.map(toListItem) };
}

/** A sample with its lineage resolved for display: the normal image, artifacts and model path. */
export function sampleDetail(project: Project, id: number): SampleDetail {
  const s = getSample(project, id);
  const item: SampleListItem = {
    id: s.id,
    jobId: s.jobId,
    defectTypeId: s.defectTypeId,
    defectType: s.category === null ? null : `${s.category}/${s.defectType}`,
    imageBlob: s.imageBlob,
    maskBlob: s.maskBlob,
    createdAt: s.createdAt,
  };
  const l = s.lineage;
  if (!l) return { ...item, generator: s.generator, lineage: null };
  const normal =
    l.normalImageId === null
      ? undefined
      : (project.db.prepare('SELECT id, blob_hash, source_path FROM images WHERE id = ?').get(l.normalImageId) as { id: number; blob_hash: string; source_path: string | null } | undefined);
  const artifactRows = l.artifactIds.map(
    (aid) => project.db.prepare('SELECT id, kind, version FROM artifacts WHERE id = ?').get(aid) as { id: number; kind: string; version: number } | undefined,
  );
  return {
    ...item,
    generator: s.generator,
    lineage: {
      normalImage: normal ? { id: normal.id, blobHash: normal.blob_hash, fileName: normal.source_path === null ? null : path.posix.basename(normal.source_path.replaceAll('\\', '/')) } : null,
      maskOrigin: l.maskOrigin,
      maskSource: l.maskSource,
      artifacts: artifactRows.filter((a): a is { id: number; kind: string; version: number } => a !== undefined),
      model: { contentHash: l.modelHash, path: l.modelHash === null ? null : modelPathByHash(project, l.modelHash) },
      seed: l.seed,
      settings: l.sampler,
      executionProvider: l.executionProvider,
      onnxruntimeVersion: l.onnxruntimeVersion,
      appVersion: l.appVersion,
    },
  };
}

export function synthesisHandlers(session: ProjectSession, jobs: () => JobManager | null, emit: Emit): Pick<Handlers, SynthesisChannel> {
  // Augmentation runs in flight: their abort switches, by run id (ids are per app session).
  const runs = new Map<number, AbortController>();
  let nextRunId = 1;

  const requireJobs = (): JobManager => requireJobsOf(session, jobs);

  return {
    'model:get': () => modelSetting(modelDirOf(session.current())),
    'model:set': async ({ dir }) => {
      const project = session.current();
      // refuses a folder that is not a model package, naming it
      await readModelInfo(dir);
      const settings = { ...projectSettings(project), [MODEL_SETTING]: dir };
      project.db.prepare('UPDATE project SET settings_json = ? WHERE id = 1').run(JSON.stringify(settings));
      return modelSetting(dir);
    },
    'learn:start': ({ typeId, steps, previewEvery, resume }) => {
      const project = session.current();
      const manager = requireJobs();
      // the project's learning settings (batch, lr, variants...) apply; the panel's steps win
      const params = {
        ...projectLearnSettings(project).defect,
        project: project.dir,
        type: typeLabel(project, typeId),
        model: requireModelDir(project),
        steps,
        previewEvery: previewEvery ?? Math.min(DEFAULT_PREVIEW_EVERY, steps),
        ...(resume ? { resume: true } : {}),
      };
      return { id: manager.submit('learn-defect', params) };
    },
    'augment:start': (request) => {
      const project = session.current();
      const manager = requireJobs();
      const model = requireModelDir(project);
      if (request.typeIds.length === 0) throw new UserError('BAD_ARGS', 'Pick at least one defect type to synthesize.');
      const types = request.typeIds.map((id) => typeLabel(project, id));
      // names every unknown or ambiguous type before anything starts
      resolveTypes(project, types);
      const runId = nextRunId++;
      const abort = new AbortController();
      runs.set(runId, abort);
      const send = (u: Omit<AugmentUpdateEvent, 'runId'>): void => emit('augment:update', { runId, ...u });
      runAugment(
        project,
        {
          perType: request.perType,
          out: request.out,
          formats: request.formats,
          types,
          model,
          ...(request.seed !== undefined ? { seed: request.seed } : {}),
          ...(request.steps !== undefined ? { steps: request.steps } : {}),
          ...(request.adapt !== undefined ? { adapt: request.adapt } : {}),
          ...(request.restoreDetail !== undefined ? { restoreDetail: request.restoreDetail } : {}),
        },
        manager,
        {
          signal: abort.signal,
          onStage: (stage) => send({ state: 'running', stage }),
          onProgress: (type, p, kind) => send({ state: 'running', progress: { type, kind, step: p.step, total: p.total } }),
        },
      )
        .then((report) => send({ state: 'succeeded', out: request.out, results: report.types.map((t) => ({ type: t.type, made: t.made, exported: t.exported })) }))
        .catch((e: unknown) => {
          const message = e instanceof Error ? e.message : String(e);
          send({ state: abort.signal.aborted ? 'cancelled' : 'failed', error: message });
        })
        .finally(() => runs.delete(runId));
      return { runId };
    },
    'augment:cancel': ({ runId }) => {
      const abort = runs.get(runId);
      if (!abort) return { cancelled: false };
      abort.abort();
      return { cancelled: true };
    },
    'samples:list': (query) => listSamples(session.current(), query),
    'samples:get': ({ id }) => sampleDetail(session.current(), id),
    'samples:regenerate': async ({ id }) => {
      const project = session.current();
      const report = await regenerateSample(project, id, { appVersion: appVersion(), load: { intraOpNumThreads: 1 } });
      return { sampleId: id, identical: report.identical, imageIdentical: report.image.identical, maskIdentical: report.mask.identical, seconds: report.seconds };
    },
    'samples:reuseMask': async ({ id, generate, seed }) => {
      const project = session.current();
      // no engine, no job: checked before the mask is added, so a refused request changes nothing
      const manager = generate !== undefined ? requireJobs() : null;
      const reused = await addToDrawnMasks(project, id);
      let jobId: number | null = null;
      if (manager && generate !== undefined) jobId = manager.submit(SYNTHESIZE_KIND, exactMaskRun(project, id, reused, generate, seed));
      return { imageId: reused.imageId, maskId: reused.maskId, added: reused.added, jobId };
    },
  };
}
