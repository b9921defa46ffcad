// The adaptation stage of augmentation (issue 6): before anything is learnt for a model, the model
// is fine-tuned on the project's train/good images (an 'adapt' job, engine/adapt/adapt-model.ts),
// and every later stage (mask and defect learning, synthesis) runs on the adapted package.
//   - on by default ('auto') for DefectForge model packages, off by default for SD 1.x folders
//     (adapting those is not supported: an explicit `adapt: true` there is an error);
//   - 'auto' leaves a package that is itself an adapted one alone (adapting twice is a choice the
//     user makes with `adapt: true`);
//   - an existing 'adapted-model' artifact of the same base model (by content hash) whose package
//     is still in the project, unchanged, is reused: no job runs;
//   - a stopped adapt job with the same settings continues from its checkpoint (resume).
// Settings: the request's over the project's (project.settings_json "adaptation": {mode, rank,
// steps, batch, lr, seed, variants, evalEvery, patience}) over the adapter's defaults.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AdaptMethodResult, AdaptParams } from '../../engine/host/methods/adapt';
import { ADAPTED_MODEL_KIND } from '../../engine/adapt/adapted-artifact';
import { packageContentHash, verifyPackageFiles } from '../../engine/models/builtin/files';
import { readBuiltinManifest } from '../../engine/models/builtin/load';
import { detectModelFolder } from '../../engine/models/load';
import { UserError } from '../../shared/errors';
import type { Project } from '../store/project';
import { runStage, type AugmentJobs, type StageHooks } from './jobs';

export const ADAPT_KIND = 'adapt';

/** true: adapt (an error for SD 1.x folders); false: never; 'auto': built-in packages only. */
export type AdaptChoice = boolean | 'auto';

const NUMBER_KEYS = ['rank', 'steps', 'batch', 'lr', 'decoderLr', 'warmupSteps', 'seed', 'variants', 'evalEvery', 'patience'] as const;

/** The adaptation job's settings a project or a request may set (the engine method's own names). */
export type AdaptationSettings = Pick<AdaptParams, 'mode' | (typeof NUMBER_KEYS)[number]>;

/** What augmentation will do about adaptation, decided before any job runs. */
export type AdaptationPlan =
  | { action: 'off'; baseDir: string; reason: string }
  | { action: 'reuse'; baseDir: string; baseHash: string; adapted: AdaptedPackage }
  | { action: 'run'; baseDir: string; baseHash: string; settings: AdaptationSettings };

export interface AdaptedPackage {
  artifactId: number;
  version: number;
  dir: string;
  contentHash: string;
  psnrBefore: number | null;
  psnrAfter: number | null;
}

/** What the stage did: part of the augment report (and of `augment --json`). */
export interface AdaptationOutcome {
  /** 'ran': an adapt job made the package now; 'reused': an earlier one; 'off': the base model is used */
  status: 'ran' | 'reused' | 'off';
  /** why it is off */
  reason?: string;
  baseModel: { dir: string; contentHash: string | null };
  /** the adapted package the later stages used */
  adapted?: AdaptedPackage;
  /** the adapt job of this run */
  jobId?: number;
  steps?: number;
  stoppedEarly?: boolean;
  seconds?: number;
}

function checkedSettings(where: string, value: unknown): AdaptationSettings {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UserError('BAD_PROJECT_SETTINGS', `${where} must be an object`);
  const v = value as Record<string, unknown>;
  const out: AdaptationSettings = {};
  if (v['mode'] !== undefined) {
    if (v['mode'] !== 'full' && v['mode'] !== 'lora') throw new UserError('BAD_PROJECT_SETTINGS', `${where}.mode must be "full" or "lora" (got ${JSON.stringify(v['mode'])})`);
    out.mode = v['mode'];
  }
  for (const k of NUMBER_KEYS) {
    const n = v[k];
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new UserError('BAD_PROJECT_SETTINGS', `${where}.${k} must be a number (got ${JSON.stringify(n)})`);
    out[k] = n;
  }
  return out;
}

/** The project's adaptation settings (project.settings_json "adaptation"); malformed values are errors naming the project. */
export function projectAdaptSettings(project: Project): AdaptationSettings {
  const row = project.db.prepare('SELECT settings_json FROM project WHERE id = 1').get() as { settings_json: string } | undefined;
  let stored: unknown;
  try {
    stored = JSON.parse(row?.settings_json ?? '{}');
  } catch {
    throw new UserError('BAD_PROJECT_SETTINGS', `${project.dir}: the project's settings are not valid JSON`);
  }
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) return {};
  return checkedSettings(`${project.dir}: settings adaptation`, (stored as Record<string, unknown>)['adaptation']);
}

interface AdaptedRow {
  id: number;
  version: number;
  config_json: string;
  metrics_json: string;
}

const finiteOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * The newest adapted package made from the base model (by its content hash) that is still in the
 * project as it was written: its folder is there, its manifest lists the recorded content and every
 * file has the SHA-256 the manifest lists. A damaged or moved package is passed over (an older
 * version may still be whole; with none, adaptation runs again).
 */
export async function reusableAdaptation(project: Project, baseHash: string): Promise<AdaptedPackage | null> {
  const rows = project.db
    .prepare(
      `SELECT a.id, a.version, a.config_json, a.metrics_json FROM artifacts a JOIN models m ON m.id = a.model_id
        WHERE a.kind = ? AND m.content_hash = ? ORDER BY a.version DESC, a.id DESC`,
    )
    .all(ADAPTED_MODEL_KIND, baseHash) as AdaptedRow[];
  for (const row of rows) {
    const config = JSON.parse(row.config_json) as Record<string, unknown>;
    const rel = config['packageDir'];
    const hash = config['adaptedModelHash'];
    if (typeof rel !== 'string' || typeof hash !== 'string') continue;
    const dir = path.join(project.dir, ...rel.split('/'));
    if (!existsSync(path.join(dir, 'manifest.json'))) continue;
    try {
      const manifest = await readBuiltinManifest(dir);
      if (packageContentHash(manifest) !== hash) continue;
      await verifyPackageFiles(dir, manifest);
    } catch {
      continue; // damaged: not reusable
    }
    const metrics = JSON.parse(row.metrics_json) as Record<string, unknown>;
    return { artifactId: row.id, version: row.version, dir, contentHash: hash, psnrBefore: finiteOrNull(metrics['psnrBefore']), psnrAfter: finiteOrNull(metrics['psnrAfter']) };
  }
  return null;
}

/** Decides the stage from the model folder, the choice and the project's artifacts; runs nothing. */
export async function planAdaptation(project: Project, baseDir: string, choice: AdaptChoice, request: AdaptationSettings = {}): Promise<AdaptationPlan> {
  if (choice !== true && choice !== false && choice !== 'auto') throw new UserError('BAD_ARGS', `adapt must be true, false or "auto" (got ${JSON.stringify(choice)})`);
  const settings = { ...projectAdaptSettings(project), ...checkedSettings('adaptation settings', request) };
  if (choice === false) return { action: 'off', baseDir, reason: 'switched off' };
  if ((await detectModelFolder(baseDir)) !== 'builtin') {
    if (choice === true) throw new UserError('ADAPT_UNSUPPORTED', `${baseDir}: adapting Stable Diffusion 1.x folders is not supported (adaptation is off by default for them); run without --adapt`);
    return { action: 'off', baseDir, reason: 'Stable Diffusion 1.x folder (off by default)' };
  }
  const manifest = await readBuiltinManifest(baseDir);
  const baseHash = packageContentHash(manifest);
  if (choice === 'auto' && typeof manifest.training?.['adaptedFrom'] === 'string') return { action: 'off', baseDir, reason: 'the model is an adapted package already' };
  const adapted = await reusableAdaptation(project, baseHash);
  if (adapted) return { action: 'reuse', baseDir, baseHash, adapted };
  return { action: 'run', baseDir, baseHash, settings };
}

/** Carries the plan out: an adapt job when it says 'run'. Returns the model folder later stages use. */
export async function runAdaptation(project: Project, plan: AdaptationPlan, jobs: AugmentJobs, hooks: StageHooks & { onStage?: (message: string) => void } = {}): Promise<{ modelDir: string; outcome: AdaptationOutcome }> {
  if (plan.action === 'off') return { modelDir: plan.baseDir, outcome: { status: 'off', reason: plan.reason, baseModel: { dir: plan.baseDir, contentHash: null } } };
  const baseModel = { dir: plan.baseDir, contentHash: plan.baseHash };
  if (plan.action === 'reuse') {
    hooks.onStage?.(`model: using adapted model version ${plan.adapted.version} (${plan.adapted.dir})`);
    return { modelDir: plan.adapted.dir, outcome: { status: 'reused', baseModel, adapted: plan.adapted } };
  }
  const label = 'model';
  hooks.onStage?.(`${label}: adapting ${path.basename(plan.baseDir)} to the project's normal images${plan.settings.steps ? ` (at most ${plan.settings.steps} steps)` : ''}`);
  const params: AdaptParams = { project: project.dir, model: plan.baseDir, ...plan.settings, resume: true };
  const { job } = await runStage(jobs, ADAPT_KIND, params, label, hooks);
  const r = job.result as AdaptMethodResult;
  const adapted: AdaptedPackage = { artifactId: r.artifactId, version: r.version, dir: r.modelDir, contentHash: r.modelHash, psnrBefore: finiteOrNull(r.psnrBefore), psnrAfter: finiteOrNull(r.psnrAfter) };
  hooks.onStage?.(`${label}: adapted in ${r.steps} steps; VAE PSNR on held-out normals ${r.psnrBefore.toFixed(2)} -> ${r.psnrAfter.toFixed(2)} dB`);
  return { modelDir: r.modelDir, outcome: { status: 'ran', baseModel, adapted, jobId: job.id, steps: r.steps, stoppedEarly: r.stoppedEarly, seconds: r.seconds } };
}
