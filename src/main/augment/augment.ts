// One-click augmentation: from a project with a few real defects per type, N synthetic pairs per
// type, exported. It runs only what is missing, as jobs on the job manager:
//   1. defect learning: a type without a learned embedding for the model (and whose name the
//      model's token table does not know) is refused with the command that learns it, until the
//      learning job kind lands (src/engine/anomaly);
//   2. synthesis: types with fewer than N pairs from this model get them: a stopped run of the
//      type is resumed first (its committed pairs are kept), then a new run makes the rest;
//   3. export of the first N pairs per type (by id) in the chosen formats, all or nothing.
// Running the same command again after a stop continues where it stopped; after a success it only
// exports.
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { deriveSeed } from '../../engine/corpus/seed';
import { exportDataset, type ExportFormat, type ExportSummary, type ExportWriter } from '../../engine/export';
import type { SynthesisPlan, SynthesisTypePlan } from '../../engine/synthesis/recipe';
import type { SynthesizeJobParams } from '../../engine/host/methods/synthesize-job';
import type { SamplerName } from '../../engine/diffusion/schedulers';
import type { ProgressEvent } from '../../shared/engine-protocol';
import { UserError } from '../../shared/errors';
import type { JobRecord } from '../jobs/job-store';
import type { JobUpdate } from '../jobs/job-manager';
import type { Project } from '../store/project';
import { committedIndices, countTypeSamples, typeSamples } from '../store/samples';
import { collectExportSet } from './collect';
import { conditioningFor, readModelInfo, type ModelInfo } from './conditioning';
import { checkMaterial, resolveTypes, typeMaterial, type AugmentType } from './types';

export interface AugmentRequest {
  /** pairs per defect type */
  perType: number;
  /** output folder (must not exist) */
  out: string;
  formats: readonly ExportFormat[];
  /** 'category/name' or unique names; default: every type */
  types?: readonly string[];
  /** model folder (a built-in package) */
  model: string;
  /** job seed; default: a fresh one per run, recorded in the job */
  seed?: number;
  sampler?: SamplerName;
  steps?: number;
  guidance?: number;
  /** ORT threads of the engine */
  threads?: number;
}

/** The part of the JobManager augmentation uses (so tests and the app can hand in theirs). */
export interface AugmentJobs {
  submit(kind: string, params: unknown): number;
  waitFor(id: number): Promise<JobRecord>;
  cancel(id: number, reason?: string): boolean;
  subscribe(listener: (update: JobUpdate) => void): () => void;
}

export interface AugmentHooks {
  signal?: AbortSignal;
  onStage?: (message: string) => void;
  onProgress?: (type: string, progress: ProgressEvent) => void;
  writer?: ExportWriter;
}

export interface TypeOutcome {
  type: string;
  conditioning: 'learned-embedding' | 'model-defect';
  /** pairs from this model before this run */
  existing: number;
  /** pairs this run made */
  made: number;
  /** synthesis jobs this run ran (resumed runs included) */
  jobs: number[];
  exported: number;
}

export interface AugmentReport {
  model: { dir: string; name: string; contentHash: string };
  types: TypeOutcome[];
  export: ExportSummary;
}

export const SYNTHESIZE_KIND = 'synthesize';
const DEFAULTS = { sampler: 'ddim' as SamplerName, steps: 25, guidance: 3 };

export function checkPerType(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new UserError('BAD_COUNT', `the number of pairs per type must be a whole number >= 1 (got ${n})`);
}

interface Prepared {
  type: AugmentType;
  typePlan: Omit<SynthesisTypePlan, 'count'>;
  conditioningKind: TypeOutcome['conditioning'];
}

/** Everything is checked before the first job starts: a bad type fails the whole request at once. */
function prepare(project: Project, req: AugmentRequest, model: ModelInfo): Prepared[] {
  const types = resolveTypes(project, req.types);
  return types.map((type) => {
    const material = typeMaterial(project, type);
    checkMaterial(type, material);
    const conditioning = conditioningFor(project, type, model);
    if (!conditioning) {
      throw new UserError(
        'DEFECT_NOT_LEARNED',
        `${type.label}: no learned defect for model '${model.name}', and the model knows no defect family '${type.name}'; learn it first (defectforge train <project> --type ${type.label})`,
      );
    }
    return {
      type,
      typePlan: { defectTypeId: type.id, label: type.label, aar: type.aar, normals: material.normals, masks: material.masks, conditioning },
      conditioningKind: conditioning.kind === 'embedding' ? 'learned-embedding' : 'model-defect',
    };
  });
}

/** The type's most recent synthesis run with this model that stopped before making all its pairs. */
function unfinishedRun(project: Project, jobs: JobSummary[], typeId: number, modelDir: string): { runJobId: number; params: SynthesizeJobParams } | null {
  for (const job of jobs) {
    if (job.kind !== SYNTHESIZE_KIND || (job.state !== 'failed' && job.state !== 'cancelled')) continue;
    const params = job.params as SynthesizeJobParams;
    const plan = params.plan;
    if (!plan || plan.types.length !== 1 || plan.types[0]!.defectTypeId !== typeId || path.resolve(params.model) !== modelDir) continue;
    const runJobId = params.runJobId ?? job.id;
    const total = plan.types[0]!.count;
    if (committedIndices(project, runJobId).length < total) return { runJobId, params };
    return null; // the newest run of the type is complete: nothing to resume
  }
  return null;
}

export async function runAugment(project: Project, req: AugmentRequest, jobs: AugmentJobs, hooks: AugmentHooks = {}): Promise<AugmentReport> {
  checkPerType(req.perType);
  const modelDir = path.resolve(req.model);
  const model = await readModelInfo(modelDir);
  const prepared = prepare(project, req, model);
  const baseSeed = req.seed ?? randomInt(0, 2 ** 31);
  const sampler = { sampler: req.sampler ?? DEFAULTS.sampler, steps: req.steps ?? DEFAULTS.steps, eta: 1 };
  const outcomes: TypeOutcome[] = [];

  for (const p of prepared) {
    hooks.signal?.throwIfAborted();
    const existing = countTypeSamples(project, p.type.id, model.contentHash);
    const outcome: TypeOutcome = { type: p.type.label, conditioning: p.conditioningKind, existing, made: 0, jobs: [], exported: 0 };
    outcomes.push(outcome);
    let have = existing;
    if (have < req.perType) {
      const stopped = unfinishedRun(project, synthesisJobs(project), p.type.id, modelDir);
      if (stopped) {
        hooks.onStage?.(`${p.type.label}: resuming stopped run ${stopped.runJobId}`);
        await runJob(jobs, { ...stopped.params, runJobId: stopped.runJobId }, p.type.label, outcome, hooks);
        have = countTypeSamples(project, p.type.id, model.contentHash);
      }
    }
    if (have < req.perType) {
      const plan: SynthesisPlan = {
        seed: deriveSeed(baseSeed, 'augment', p.type.id, have),
        sampler,
        guidance: req.guidance ?? DEFAULTS.guidance,
        aar: { clamp: [1, 1.5], dilationRadius: 0 },
        types: [{ ...p.typePlan, count: req.perType - have }],
      };
      hooks.onStage?.(`${p.type.label}: synthesizing ${req.perType - have} pairs`);
      await runJob(jobs, { project: project.dir, model: modelDir, plan, ...(req.threads ? { threads: req.threads } : {}) }, p.type.label, outcome, hooks);
      have = countTypeSamples(project, p.type.id, model.contentHash);
    }
    outcome.made = have - existing;
  }

  hooks.onStage?.(`exporting ${req.formats.join(', ')} to ${path.resolve(req.out)}`);
  const samples = prepared.flatMap((p) => typeSamples(project, p.type.id, model.contentHash, req.perType));
  for (const o of outcomes) o.exported = samples.filter((s) => `${s.category}/${s.defectType}` === o.type).length;
  const set = await collectExportSet(
    project,
    prepared.map((p) => p.type),
    samples,
  );
  const summary = await exportDataset(set, path.resolve(req.out), req.formats, hooks.writer);
  return { model: { dir: modelDir, name: model.name, contentHash: model.contentHash }, types: outcomes, export: summary };
}

type JobSummary = Pick<JobRecord, 'id' | 'kind' | 'state' | 'params'>;

/** The synthesis jobs of the project, newest first. */
function synthesisJobs(project: Project): JobSummary[] {
  const rows = project.db.prepare('SELECT id, kind, state, params_json FROM jobs WHERE kind = ? ORDER BY id DESC').all(SYNTHESIZE_KIND) as {
    id: number;
    kind: string;
    state: JobRecord['state'];
    params_json: string;
  }[];
  return rows.map((r) => ({ id: r.id, kind: r.kind, state: r.state, params: JSON.parse(r.params_json) as unknown }));
}

async function runJob(jobs: AugmentJobs, params: SynthesizeJobParams, label: string, outcome: TypeOutcome, hooks: AugmentHooks): Promise<void> {
  const id = jobs.submit(SYNTHESIZE_KIND, params);
  outcome.jobs.push(id);
  const unsubscribe = jobs.subscribe((u) => {
    if (u.jobId === id && u.progress) hooks.onProgress?.(label, u.progress);
  });
  const onAbort = (): void => void jobs.cancel(id, 'cancelled by the user');
  hooks.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const done = await jobs.waitFor(id);
    if (done.state === 'cancelled') throw new UserError('CANCELLED', `${label}: synthesis cancelled (job ${id}); run the same command again to continue where it stopped`);
    if (done.state === 'failed') throw new UserError('SYNTHESIS_FAILED', `${label}: synthesis job ${id} failed: ${done.error ?? 'no reason given'}`);
  } finally {
    hooks.signal?.removeEventListener('abort', onAbort);
    unsubscribe();
  }
}
