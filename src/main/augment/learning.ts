// The learning stages of augmentation (and of eval's diffusion generator, through the same
// function): for one defect type and model,
//   1. its mask embedding, when the type's mask source is 'learned' and it has none for the model
//      (a 'learn-mask' job);
//   2. its anomaly embedding (e_a + the project's spatial encoder) when it has none for the model
//      (a 'learn-defect' job).
// Jobs are submitted with resume: a run stopped earlier (same settings, images and model)
// continues from its last checkpoint instead of starting over.
// Settings: the request's over the project's (project.settings_json "learning": {"defect":
// {steps, seed, batch, lr, encoderLr, variants, previewEvery}, "mask": {steps, seed, batch, lr, variants}})
// over the learners' defaults; learned masks are sampled with project.settings_json
// "maskSampling": {steps, guidance, threshold, maxAttempts} over the sampler's defaults.
// With a deadline (eval's time budget), a job still training at the deadline is stopped at its
// next step and a second job saves the artifact from that checkpoint (resume with steps = the
// checkpoint's step, so it trains no further): what was learnt in the time is kept.
import type { LearnDefectMethodResult, LearnDefectParams, LearnMaskMethodResult, LearnMaskParams } from '../../engine/host/methods/learn-protocol';
import { readCheckpointBlob } from '../../engine/anomaly/learn-common';
import { DEFAULT_MASK_SAMPLING, type MaskSamplingSettings } from '../../engine/anomaly/mask-sampling';
import type { ConditioningSpec, TypeMaskSource } from '../../engine/synthesis/recipe';
import type { Size2 } from '../../engine/models/types';
import { UserError } from '../../shared/errors';
import type { Project } from '../store/project';
import { conditioningFor, learnedEmbedding, type ModelInfo } from './conditioning';
import { runStage, type AugmentJobs, type StageHooks, type StageKind } from './jobs';
import type { AugmentType } from './types';

export interface DefectLearnSettings {
  steps?: number;
  seed?: number;
  batch?: number;
  lr?: number;
  encoderLr?: number;
  variants?: number;
  previewEvery?: number;
}

export interface MaskLearnSettings {
  steps?: number;
  seed?: number;
  batch?: number;
  lr?: number;
  variants?: number;
}

export interface LearnSettings {
  /** 'missing': learn what a type lacks for the model (default); 'off': use only what exists */
  mode: 'missing' | 'off';
  defect: DefectLearnSettings;
  mask: MaskLearnSettings;
  /** how learned masks are sampled */
  maskSampling: MaskSamplingSettings;
}

const SAMPLING_KEYS = ['steps', 'guidance', 'threshold', 'maxAttempts'] as const;
const DEFECT_KEYS = ['steps', 'seed', 'batch', 'lr', 'encoderLr', 'variants', 'previewEvery'] as const;
const MASK_KEYS = ['steps', 'seed', 'batch', 'lr', 'variants'] as const;

function pickNumbers<K extends string>(where: string, value: unknown, keys: readonly K[]): Partial<Record<K, number>> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UserError('BAD_PROJECT_SETTINGS', `${where} must be an object`);
  const out: Partial<Record<K, number>> = {};
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new UserError('BAD_PROJECT_SETTINGS', `${where}.${k} must be a number (got ${JSON.stringify(v)})`);
    out[k] = v;
  }
  return out;
}

/** The project's learning settings (project.settings_json "learning", "maskSampling"); malformed values are errors naming the project. */
export function projectLearnSettings(project: Project): { defect: DefectLearnSettings; mask: MaskLearnSettings; maskSampling: Partial<MaskSamplingSettings> } {
  const row = project.db.prepare('SELECT settings_json FROM project WHERE id = 1').get() as { settings_json: string } | undefined;
  let stored: Record<string, unknown> = {};
  try {
    const v: unknown = JSON.parse(row?.settings_json ?? '{}');
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) stored = v as Record<string, unknown>;
  } catch {
    throw new UserError('BAD_PROJECT_SETTINGS', `${project.dir}: the project's settings are not valid JSON`);
  }
  const learning = stored['learning'] as Record<string, unknown> | undefined;
  const where = `${project.dir}: settings learning`;
  if (learning !== undefined && (learning === null || typeof learning !== 'object' || Array.isArray(learning))) throw new UserError('BAD_PROJECT_SETTINGS', `${where} must be an object`);
  return {
    defect: pickNumbers(`${where}.defect`, learning?.['defect'], DEFECT_KEYS),
    mask: pickNumbers(`${where}.mask`, learning?.['mask'], MASK_KEYS),
    maskSampling: pickNumbers(`${project.dir}: settings maskSampling`, stored['maskSampling'], SAMPLING_KEYS),
  };
}

/** Request settings over project settings. */
export function learnSettings(project: Project, request: Partial<{ mode: LearnSettings['mode']; defect: DefectLearnSettings; mask: MaskLearnSettings }> = {}): LearnSettings {
  const stored = projectLearnSettings(project);
  return { mode: request.mode ?? 'missing', defect: { ...stored.defect, ...request.defect }, mask: { ...stored.mask, ...request.mask }, maskSampling: { ...DEFAULT_MASK_SAMPLING, ...stored.maskSampling } };
}

export interface LearnedStage {
  jobId: number;
  artifactId: number;
  steps: number;
  /** the stage ran out of its time budget and kept what it had learnt */
  budgetStopped: boolean;
}

export interface TypeLearning {
  conditioning: ConditioningSpec;
  maskSource: TypeMaskSource;
  /** what this call learnt (absent: it existed already, or it is not needed) */
  learned: { mask?: LearnedStage; defect?: LearnedStage };
  jobs: number[];
}

export interface LearnOptions {
  settings: LearnSettings;
  hooks?: StageHooks & { onStage?: (message: string) => void };
  /** ms since the epoch: learning jobs still training then are stopped and saved */
  deadline?: number;
  /** SD 1.x folders with a symbolic image size: the pixel size defect learning runs at */
  imageSize?: Size2;
}

interface MaskArtifactRow {
  id: number;
  blob_hash: string;
}

/** The newest mask embedding of the type trained against this model, if any. */
export function learnedMaskEmbedding(project: Project, typeId: number, modelHash: string): number | null {
  const rows = project.db
    .prepare(
      `SELECT a.id, a.blob_hash FROM artifacts a JOIN models m ON m.id = a.model_id
        WHERE a.kind = 'mask-embedding' AND a.defect_type_id = ? AND m.content_hash = ? ORDER BY a.version DESC, a.id DESC`,
    )
    .all(typeId, modelHash) as MaskArtifactRow[];
  return rows.find((r) => project.blobs.has(r.blob_hash))?.id ?? null;
}

/** The step of the checkpoint a stopped job left (0 when it left none). */
function checkpointStep(project: Project, jobId: number): number {
  const hash = project.db.prepare('SELECT checkpoint_blob FROM jobs WHERE id = ?').pluck().get(jobId) as string | null;
  if (!hash || !project.blobs.has(hash)) return 0;
  const step = Number(readCheckpointBlob(project, hash).meta['step']);
  return Number.isInteger(step) && step > 0 ? step : 0;
}

/** Runs one learning job; at its deadline, keeps the checkpoint's parameters as the artifact. */
async function learnStage(project: Project, jobs: AugmentJobs, kind: StageKind, params: LearnDefectParams | LearnMaskParams, label: string, options: LearnOptions, ids: number[]): Promise<LearnedStage> {
  const hooks = options.hooks ?? {};
  const first = await runStage(jobs, kind, params, label, hooks, options.deadline);
  ids.push(first.job.id);
  let job = first.job;
  let budgetStopped = false;
  if (first.deadlineReached) {
    const step = checkpointStep(project, job.id);
    if (step === 0) throw new UserError('LEARNING_BUDGET', `${label}: the time budget ended before ${kind} made its first step; give it more time`);
    hooks.onStage?.(`${label}: time budget reached; keeping ${kind} after ${step} steps`);
    const saved = await runStage(jobs, kind, { ...params, steps: step, resume: true }, label, hooks);
    ids.push(saved.job.id);
    job = saved.job;
    budgetStopped = true;
  }
  const result = job.result as LearnDefectMethodResult | LearnMaskMethodResult;
  return { jobId: job.id, artifactId: result.artifactId, steps: result.steps, budgetStopped };
}

const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** Learns what the type lacks for the model (per the settings) and returns how it is synthesized. */
export async function learnMissing(project: Project, type: AugmentType, model: ModelInfo, jobs: AugmentJobs, options: LearnOptions): Promise<TypeLearning> {
  const { settings } = options;
  const learning: TypeLearning = { conditioning: { kind: 'model-defect', defect: type.name }, maskSource: { kind: type.maskSource, foreground: type.foreground }, learned: {}, jobs: [] };
  const base = { project: project.dir, type: type.label, model: model.dir, resume: true };

  if (type.maskSource === 'learned') {
    let artifactId = learnedMaskEmbedding(project, type.id, model.contentHash);
    if (artifactId === null) {
      if (settings.mode === 'off') {
        throw new UserError('NO_MASK_EMBEDDING', `${type.label}: its mask source is 'learned' but no mask embedding was learnt for model '${model.name}'; learn it (defectforge masks <project> --type ${type.label} --learn) or choose another mask source`);
      }
      options.hooks?.onStage?.(`${type.label}: learning its masks`);
      const stage = await learnStage(project, jobs, 'learn-mask', { ...base, ...defined(settings.mask) }, type.label, options, learning.jobs);
      learning.learned.mask = stage;
      artifactId = stage.artifactId;
    }
    learning.maskSource = { ...learning.maskSource, artifactId, sampling: settings.maskSampling };
  }

  const family = model.families.includes(type.category) ? { family: type.category } : {};
  if (!learnedEmbedding(project, type, model) && settings.mode === 'missing') {
    options.hooks?.onStage?.(`${type.label}: learning the defect`);
    const size = options.imageSize ? { imageSize: options.imageSize } : {};
    learning.learned.defect = await learnStage(project, jobs, 'learn-defect', { ...base, ...family, ...size, ...defined(settings.defect) }, type.label, options, learning.jobs);
  }
  const conditioning = conditioningFor(project, type, model);
  if (!conditioning) {
    throw new UserError(
      'DEFECT_NOT_LEARNED',
      `${type.label}: no learned defect for model '${model.name}', and the model knows no defect family '${type.name}'; learn it first (defectforge train <project> --type ${type.label})`,
    );
  }
  learning.conditioning = conditioning;
  return learning;
}
