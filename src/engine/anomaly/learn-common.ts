// Plumbing shared by defect learning and mask learning: opening a built-in package for mask
// learning (defect learning opens any model through ./defect-backend; mask learning on SD 1.x
// folders is refused with a clear "not yet"), encoding augmented images into the latent
// cache, and training checkpoints kept as project blobs and recorded on the job, so a stopped or
// crashed job resumes from its last checkpoint.

import { createHash } from 'node:crypto';
import path from 'node:path';
import { UserError } from '../../shared/errors';
import type { Project } from '../../main/store/project';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../autodiff/checkpoint';
import { imageToTensor, type RgbImage } from '../diffusion/image-tensor';
import { loadBuiltinModel, type BuiltinModel, type LoadBuiltinOptions } from '../models/builtin/load';
import { packagePath } from '../models/builtin/files';
import { detectModelFolder } from '../models/load';
import type { DiffusionModel } from '../models/types';
import { loadModel as loadOnnx } from '../onnx/io';
import type { Model } from '../onnx/ir';
import { materialiseFloatWeights } from './encoder-weights';

export const CHECKPOINT_MEDIA_TYPE = 'application/x-defectforge-checkpoint';
export const EMBEDDING_MEDIA_TYPE = 'application/x-defectforge-embedding';

export interface LearningModel {
  model: BuiltinModel;
  unet: Model;
  /** float32 weights (half-stored ones materialised) */
  encoder: Model;
}

export async function openLearningModel(dir: string, load: LoadBuiltinOptions = {}): Promise<LearningModel> {
  const root = path.resolve(dir);
  if ((await detectModelFolder(root)) !== 'builtin') {
    throw new UserError(
      'MODEL_UNSUPPORTED',
      `${root}: learning masks on Stable Diffusion 1.x folders is not supported yet (defect learning is); use a DefectForge model package, or draw masks / take them from the real set`,
    );
  }
  const model = await loadBuiltinModel(root, load);
  try {
    const files = model.manifest.files;
    const unet = await loadOnnx(packagePath(root, files.unet.path), { loadExternal: true });
    const encoder = materialiseFloatWeights(await loadOnnx(packagePath(root, files.spatial_encoder.path), { loadExternal: true }));
    return { model, unet, encoder };
  } catch (e) {
    await model.release();
    throw e;
  }
}

/** Encodes RGB images (the model's size) to scaled latents, `chunk` at a time. */
export async function encodeImages(model: DiffusionModel, images: readonly RgbImage[], chunk = 4, signal?: AbortSignal): Promise<Float32Array[]> {
  const { width, height } = model.facts.imageSize;
  const per = 3 * width * height;
  const out: Float32Array[] = [];
  for (let s = 0; s < images.length; s += chunk) {
    signal?.throwIfAborted();
    const part = images.slice(s, s + chunk);
    const batch = new Float32Array(part.length * per);
    part.forEach((img, k) => batch.set(imageToTensor(img), k * per));
    const latents = await model.encode(batch, part.length);
    const lp = latents.length / part.length;
    for (let k = 0; k < part.length; k++) out.push(latents.slice(k * lp, (k + 1) * lp));
  }
  return out;
}

/** SHA-256 of a JSON value with sorted keys: the identity of a run's configuration. */
export function configKey(value: unknown): string {
  const stable = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(stable);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, stable((v as Record<string, unknown>)[k])]));
    return v;
  };
  return createHash('sha256').update(JSON.stringify(stable(value))).digest('hex');
}

/** Stores a checkpoint as a blob and, for a job, records it in jobs.checkpoint_blob. */
export function storeCheckpoint(project: Project, ckpt: Checkpoint, jobId: number | null): string {
  const hash = project.blobs.put(encodeCheckpoint(ckpt), CHECKPOINT_MEDIA_TYPE);
  if (jobId !== null) project.db.prepare('UPDATE jobs SET checkpoint_blob = ? WHERE id = ?').run(hash, jobId);
  return hash;
}

export function readCheckpointBlob(project: Project, hash: string): Checkpoint {
  return decodeCheckpoint(project.blobs.read(hash), `checkpoint blob ${hash}`);
}

/**
 * The checkpoint to resume: the newest one of an unfinished job (failed or cancelled, not
 * this one) of `jobKind` whose checkpoint was written by a run of the same configuration.
 */
export function findResumeCheckpoint(project: Project, jobKind: string, key: string, exceptJob: number | null): { hash: string; ckpt: Checkpoint; jobId: number } | undefined {
  const rows = project.db
    .prepare("SELECT id, checkpoint_blob AS hash FROM jobs WHERE kind = ? AND checkpoint_blob IS NOT NULL AND state IN ('failed', 'cancelled') AND id IS NOT ? ORDER BY id DESC")
    .all(jobKind, exceptJob) as { id: number; hash: string }[];
  for (const row of rows) {
    if (!project.blobs.has(row.hash)) continue;
    const ckpt = readCheckpointBlob(project, row.hash);
    if (ckpt.meta['configKey'] === key) return { hash: row.hash, ckpt, jobId: row.id };
  }
  return undefined;
}

export interface ResumeRequest {
  /** an explicit checkpoint blob to continue from */
  resumeFrom?: string | undefined;
  /** continue the newest unfinished run of the same configuration, if any */
  resume?: boolean | undefined;
  jobId?: number | null | undefined;
}

/**
 * Where a learning run starts: step 0, or the step and loss curve of the checkpoint it resumes
 * (restored into the trainer). A checkpoint of another configuration is refused.
 */
export function resumeLearning(
  project: Project,
  trainer: { restore(ckpt: Checkpoint, source: string): void },
  req: ResumeRequest,
  run: { jobKind: string; key: string; label: string; what: string; recordOnJob: boolean },
  log: (level: 'info' | 'warn', message: string) => void,
): { step: number; lossCurve: number[]; probeStart?: number } {
  const resume = req.resumeFrom
    ? { hash: req.resumeFrom, ckpt: readCheckpointBlob(project, req.resumeFrom) }
    : req.resume
      ? findResumeCheckpoint(project, run.jobKind, run.key, req.jobId ?? null)
      : undefined;
  if (req.resume && !resume) log('info', `${run.label}: no unfinished run with these settings to resume; starting at step 0`);
  if (!resume) return { step: 0, lossCurve: [] };
  if (resume.ckpt.meta['configKey'] !== run.key) {
    throw new UserError('CHECKPOINT_MISMATCH', `checkpoint blob ${resume.hash}: written by a run with other settings, training images or model; start a new training instead`);
  }
  trainer.restore(resume.ckpt, `checkpoint blob ${resume.hash}`);
  const probeStart = resume.ckpt.meta['probeStart'];
  const state = { step: Number(resume.ckpt.meta['step']), lossCurve: (resume.ckpt.meta['lossCurve'] as number[]) ?? [], ...(typeof probeStart === 'number' ? { probeStart } : {}) };
  log('info', `${run.label}: resuming ${run.what}at step ${state.step} from checkpoint ${resume.hash.slice(0, 12)}`);
  if (run.recordOnJob && req.jobId != null) storeCheckpoint(project, resume.ckpt, req.jobId);
  return state;
}
