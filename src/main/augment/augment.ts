// One-click augmentation: from a project with a few real defects per type, N synthetic pairs per
// type, exported. It runs only what is missing, as jobs on the job manager:
//   0. adaptation (./adaptation.ts), once for the run: the model is fine-tuned on the project's
//      normal images unless an adapted package of it exists (on by default for DefectForge
//      packages, off for SD 1.x folders); every later stage uses the adapted package;
// then per type:
//   1. learning (./learning.ts): the type's mask embedding when its mask source is 'learned' and
//      none exists for the model, then its anomaly embedding + spatial encoder when none exists
//      for the model; a stopped learning job is continued from its checkpoint;
//   2. synthesis with the learned embedding and the type's mask source: types with fewer than N
//      pairs from this model get them: a stopped run of the type is resumed first (its committed
//      pairs are kept), then a new run makes the rest;
//   3. export of the first N pairs per type (by id) in the chosen formats, all or nothing.
// Running the same command again after a stop continues where it stopped; after a success it only
// exports.
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { deriveSeed } from '../../engine/corpus/seed';
import { exportDataset, type ExportFormat, type ExportSummary, type ExportWriter } from '../../engine/export';
import type { ConditioningSpec, SynthesisPlan } from '../../engine/synthesis/recipe';
import type { SynthesizeJobParams } from '../../engine/host/methods/synthesize-job';
import type { SamplerName } from '../../engine/diffusion/schedulers';
import type { MaskSourceKind } from '../../engine/anomaly/mask-sources';
import { checkImageSize } from '../../engine/models/load';
import type { Size2 } from '../../engine/models/types';
import { UserError } from '../../shared/errors';
import type { JobRecord } from '../jobs/job-store';
import type { Project } from '../store/project';
import { committedIndices, countTypeSamples, typeSamples } from '../store/samples';
import { collectExportSet } from './collect';
import { conditioningFor, readModelInfo, type ModelInfo } from './conditioning';
import { runStage, type AugmentJobs, type StageHooks } from './jobs';
import { planAdaptation, runAdaptation, type AdaptationOutcome, type AdaptationSettings, type AdaptChoice } from './adaptation';
import { learnMissing, learnSettings, type DefectLearnSettings, type LearnedStage, type LearnSettings, type MaskLearnSettings } from './learning';
import { checkMaterial, resolveTypes, typeMaterial, type AugmentType } from './types';
import { RESTORE_DETAIL_BY_DEFAULT } from '../../engine/diffusion/paste-back';

export type { AugmentJobs } from './jobs';

export interface AugmentRequest {
  /** pairs per defect type */
  perType: number;
  /** output folder (must not exist) */
  out: string;
  formats: readonly ExportFormat[];
  /** 'category/name' or unique names; default: every type */
  types?: readonly string[];
  /** model folder (a built-in package or an SD 1.x ONNX folder): the base model, before adaptation */
  model: string;
  /** SD 1.x folders whose export leaves the pixel size symbolic: learn and synthesize at this size (default 512x512) */
  imageSize?: Size2;
  /** adapt the model to the project's normal images first: 'auto' (default) for built-in packages only */
  adapt?: AdaptChoice;
  /** adaptation settings over the project's (when it runs) */
  adaptation?: AdaptationSettings;
  /** job seed; default: a fresh one per run, recorded in the job */
  seed?: number;
  sampler?: SamplerName;
  steps?: number;
  guidance?: number;
  /** paste-back restores the normal images' detail in the generated region (default: on) */
  restoreDetail?: boolean;
  /** ORT threads of the engine */
  threads?: number;
  /** learning: what to learn ('missing', default) and settings over the project's */
  learning?: Partial<{ mode: LearnSettings['mode']; defect: DefectLearnSettings; mask: MaskLearnSettings }>;
}

export interface AugmentHooks extends StageHooks {
  onStage?: (message: string) => void;
  writer?: ExportWriter;
}

export interface TypeOutcome {
  type: string;
  /** how the type's pairs are conditioned now ('none': nothing learnt and the model does not know it) */
  conditioning: 'learned-embedding' | 'model-defect' | 'none';
  maskSource: MaskSourceKind;
  /** what this run learnt for the type */
  learned: { mask?: LearnedStage; defect?: LearnedStage };
  /** pairs from this model before this run */
  existing: number;
  /** pairs this run made */
  made: number;
  /** jobs this run ran for the type: learning, then synthesis (resumed runs included) */
  jobs: number[];
  exported: number;
}

export interface AugmentReport {
  /** the model the pairs were made with (the adapted package when adaptation is on) */
  model: { dir: string; name: string; contentHash: string };
  adaptation: AdaptationOutcome;
  types: TypeOutcome[];
  export: ExportSummary;
}

export const SYNTHESIZE_KIND = 'synthesize';
/** Generation settings when the request names none (also eval's diffusion generator's). */
export const SYNTHESIS_DEFAULTS = { sampler: 'ddim' as SamplerName, steps: 25, guidance: 3, aar: { clamp: [1, 1.5] as [number, number], dilationRadius: 0 }, restoreDetail: RESTORE_DETAIL_BY_DEFAULT };
const DEFAULTS = SYNTHESIS_DEFAULTS;

export function checkPerType(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new UserError('BAD_COUNT', `the number of pairs per type must be a whole number >= 1 (got ${n})`);
}

/** Everything is checked before the first job starts: a bad type fails the whole request at once. */
function prepare(project: Project, req: AugmentRequest): { type: AugmentType; normals: { imageId: number; blob: string }[] }[] {
  return resolveTypes(project, req.types).map((type) => {
    const material = typeMaterial(project, type);
    checkMaterial(type, material);
    return { type, normals: material.normals };
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

/**
 * With learning off nothing is learnt for a model adaptation is about to make, so a type whose mask
 * source is 'learned' cannot get masks: refused before the adapt job runs.
 */
function checkLearningOff(prepared: { type: AugmentType }[], settings: LearnSettings, adapting: boolean): void {
  if (!adapting || settings.mode !== 'off') return;
  const learnedMasks = prepared.find((p) => p.type.maskSource === 'learned');
  if (learnedMasks) {
    throw new UserError(
      'NO_MASK_EMBEDDING',
      `${learnedMasks.type.label}: its mask source is 'learned', but learning is off and adaptation makes a new model that no mask embedding was learnt for; allow learning, switch adaptation off, or choose another mask source`,
    );
  }
}

/** Learned masks are sampled with a DefectForge package: refused for an SD 1.x folder before any job. */
function checkMaskSources(prepared: { type: AugmentType }[], model: ModelInfo): void {
  if (model.kind !== 'sd1') return;
  const learned = prepared.find((p) => p.type.maskSource === 'learned');
  if (learned) {
    throw new UserError(
      'MASKS_UNSUPPORTED',
      `${learned.type.label}: its mask source is 'learned', which needs a DefectForge model package; '${model.name}' is an SD 1.x folder: choose the real, perlin or drawn mask source for the type`,
    );
  }
}

export async function runAugment(project: Project, req: AugmentRequest, jobs: AugmentJobs, hooks: AugmentHooks = {}): Promise<AugmentReport> {
  checkPerType(req.perType);
  if (req.imageSize !== undefined) checkImageSize('augment: imageSize', req.imageSize);
  const baseDir = path.resolve(req.model);
  const prepared = prepare(project, req);
  const settings = learnSettings(project, req.learning);
  const adaptPlan = await planAdaptation(project, baseDir, req.adapt ?? 'auto', req.adaptation);
  if (adaptPlan.action === 'off') await readModelInfo(baseDir); // an unusable model fails before any job
  checkLearningOff(prepared, settings, adaptPlan.action === 'run');
  const adaptation = await runAdaptation(project, adaptPlan, jobs, hooks);
  const modelDir = adaptation.modelDir;
  const model = await readModelInfo(modelDir);
  checkMaskSources(prepared, model);
  if (req.imageSize && model.kind !== 'sd1') throw new UserError('BAD_ARGS', `${modelDir}: an image size is chosen only for SD 1.x folders; model '${model.name}' has its own`);
  const imageSize = req.imageSize ? { imageSize: req.imageSize } : {};
  const baseSeed = req.seed ?? randomInt(0, 2 ** 31);
  const sampler = { sampler: req.sampler ?? DEFAULTS.sampler, steps: req.steps ?? DEFAULTS.steps, eta: 1 };
  const outcomes: TypeOutcome[] = [];

  for (const { type, normals } of prepared) {
    hooks.signal?.throwIfAborted();
    const existing = countTypeSamples(project, type.id, model.contentHash);
    const outcome: TypeOutcome = { type: type.label, conditioning: conditioningKind(conditioningFor(project, type, model)), maskSource: type.maskSource, learned: {}, existing, made: 0, jobs: [], exported: 0 };
    outcomes.push(outcome);
    let have = existing;
    if (have < req.perType) {
      const stopped = unfinishedRun(project, synthesisJobs(project), type.id, modelDir);
      if (stopped) {
        hooks.onStage?.(`${type.label}: resuming stopped run ${stopped.runJobId}`);
        await synthesize(jobs, { ...stopped.params, runJobId: stopped.runJobId }, type.label, outcome, hooks);
        have = countTypeSamples(project, type.id, model.contentHash);
      }
    }
    if (have < req.perType) {
      const learning = await learnMissing(project, type, model, jobs, { settings, hooks, ...imageSize });
      outcome.learned = learning.learned;
      outcome.jobs.push(...learning.jobs);
      outcome.conditioning = conditioningKind(learning.conditioning);
      const plan: SynthesisPlan = {
        seed: deriveSeed(baseSeed, 'augment', type.id, have),
        ...imageSize,
        sampler,
        guidance: req.guidance ?? DEFAULTS.guidance,
        aar: DEFAULTS.aar,
        restoreDetail: req.restoreDetail ?? DEFAULTS.restoreDetail,
        types: [{ defectTypeId: type.id, label: type.label, aar: type.aar, normals, maskSource: learning.maskSource, conditioning: learning.conditioning, count: req.perType - have }],
      };
      hooks.onStage?.(`${type.label}: synthesizing ${req.perType - have} pairs`);
      await synthesize(jobs, { project: project.dir, model: modelDir, plan, ...(req.threads ? { threads: req.threads } : {}) }, type.label, outcome, hooks);
      have = countTypeSamples(project, type.id, model.contentHash);
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
  return { model: { dir: modelDir, name: model.name, contentHash: model.contentHash }, adaptation: adaptation.outcome, types: outcomes, export: summary };
}

function conditioningKind(spec: ConditioningSpec | null): TypeOutcome['conditioning'] {
  return spec === null ? 'none' : spec.kind === 'embedding' ? 'learned-embedding' : 'model-defect';
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

async function synthesize(jobs: AugmentJobs, params: SynthesizeJobParams, label: string, outcome: TypeOutcome, hooks: AugmentHooks): Promise<void> {
  const { job } = await runStage(jobs, SYNTHESIZE_KIND, params, label, hooks);
  outcome.jobs.push(job.id);
}
