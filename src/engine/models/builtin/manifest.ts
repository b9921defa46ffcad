// The built-in model package format: a folder with manifest.json plus ONNX files and a token
// table. This file is the contract between the model that pretraining exports (issue 5) and the
// loader that runs it (issue 4); parseManifest checks a manifest and names every problem.
//
// UNet context layout (contextLength = 1 + defectTokens + spatialTokens):
//   [ texture/family token | defectTokens anomaly tokens | spatialTokens mask tokens ]
// Pretraining fills the anomaly slots with the defect family's rows of the token table and the
// spatial slots with the spatial encoder's output; few-shot learning replaces them with a learned
// e_a and the project's own encoder. The unconditional context is '<null>' in every slot (a UNet
// with the mask input: '<null>' labels with the mask's spatial tokens, diffusion/blended.ts).
//
// ONNX I/O (float32, batch dimension symbolic, everything else fixed):
//   vae_encoder:     image [B,3,H,W] in [-1,1]          -> latent [B,C,h,w] (unscaled posterior mean)
//   vae_decoder:     latent [B,C,h,w] (unscaled)        -> image [B,3,H,W] in [-1,1]
//   unet:            sample [B,C,h,w], timestep [B], context [B,L,W],
//                    aar_weight [B,h*w], aar_columns [B,L]
//                    (+ mask [B,1,H,W] in {0,1} when unetMask: the defect mask, all 0 for
//                    mask-free evaluations; blended CFG gives both halves the mask) -> eps [B,C,h,w]
//   spatial_encoder: mask [B,1,H,W] in [-1,1]           -> tokens [B,spatialTokens,W]
// Scaled latents z = latent.scale * latent; the UNet and the samplers work on z.

import { parseSchedulerConfig, type ScheduleConfig } from '../../diffusion/schedule';

export const MANIFEST_FORMAT = 'defectforge-model';
export const MANIFEST_VERSION = 1;

export interface ModelFile {
  /** relative to the package folder, forward slashes */
  path: string;
  sha256: string;
  bytes: number;
}

export interface BuiltinManifest {
  format: typeof MANIFEST_FORMAT;
  formatVersion: number;
  name: string;
  kind: 'builtin';
  description: string;
  imageSize: { width: number; height: number };
  latent: { channels: number; width: number; height: number; scale: number };
  /** diffusers scheduler_config.json keys */
  schedule: ScheduleConfig;
  tokens: {
    /** width of one context token */
    width: number;
    defectTokens: number;
    spatialTokens: number;
    /** row of the token table per label: '<null>', families ('family:wood'), defect rows ('defect:scratch:0'..) */
    vocabulary: Record<string, number>;
  };
  /** cross-attention grids (for AAR weights), largest first */
  attentionGrids: { width: number; height: number }[];
  /** the UNet also takes the defect mask as input 'mask' (the header's ONNX I/O); absent: false */
  unetMask?: boolean;
  /** phi of guidance rescaling (diffusion/guidance.ts) generations use unless they give their own; absent: 0 */
  guidanceRescale?: number;
  files: {
    vae_encoder: ModelFile;
    vae_decoder: ModelFile;
    unet: ModelFile;
    spatial_encoder: ModelFile;
    /** float32 little-endian [vocabulary size, tokens.width] */
    token_table: ModelFile;
  };
  /**
   * External-data files the ONNX models reference (weights stored beside a graph), with their
   * hashes, so the package's integrity check and content hash cover every byte that computes.
   */
  externalData?: ModelFile[];
  /** free-form facts (training steps, CPU time, PSNR) for the model card */
  training?: Record<string, unknown>;
}

export const MODEL_FILE_ROLES = ['vae_encoder', 'vae_decoder', 'unet', 'spatial_encoder', 'token_table'] as const;

export function contextLength(m: Pick<BuiltinManifest, 'tokens'>): number {
  return 1 + m.tokens.defectTokens + m.tokens.spatialTokens;
}

/** Checks a parsed manifest.json; every problem is named with the file and the key. */
export function parseManifest(json: unknown, source: string): BuiltinManifest {
  const problems: string[] = [];
  const obj = (v: unknown, key: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      problems.push(`'${key}' must be an object`);
      return {};
    }
    return v as Record<string, unknown>;
  };
  const int = (v: unknown, key: string, min = 1): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) problems.push(`'${key}' must be an integer >= ${min}`);
    return v as number;
  };
  const str = (v: unknown, key: string): string => {
    if (typeof v !== 'string' || v.length === 0) problems.push(`'${key}' must be a non-empty string`);
    return v as string;
  };
  const root = obj(json, 'manifest');
  if (root['format'] !== MANIFEST_FORMAT) {
    throw new Error(`${source}: not a DefectForge model manifest (format is '${String(root['format'])}', expected '${MANIFEST_FORMAT}')`);
  }
  const version = int(root['formatVersion'], 'formatVersion');
  if (version > MANIFEST_VERSION) {
    throw new Error(`${source}: model format version ${version} is newer than this DefectForge reads (${MANIFEST_VERSION}); update DefectForge`);
  }
  if (root['kind'] !== 'builtin') problems.push(`'kind' must be 'builtin'`);
  const image = obj(root['imageSize'], 'imageSize');
  const latent = obj(root['latent'], 'latent');
  const tokens = obj(root['tokens'], 'tokens');
  const files = obj(root['files'], 'files');
  let schedule: ScheduleConfig | undefined;
  try {
    schedule = parseSchedulerConfig(root['schedule'], `${source} 'schedule'`);
  } catch (e) {
    problems.push((e as Error).message.replace(`${source} `, ''));
  }
  const vocabulary = obj(tokens['vocabulary'], 'tokens.vocabulary');
  for (const [k, v] of Object.entries(vocabulary)) int(v, `tokens.vocabulary.${k}`, 0);
  if (!('<null>' in vocabulary)) problems.push(`'tokens.vocabulary' has no '<null>' row`);
  const modelFile = (v: unknown, key: string): ModelFile => {
    const f = obj(v, key);
    const path = str(f['path'], `${key}.path`);
    if (typeof path === 'string' && (path.includes('..') || path.startsWith('/') || /^[a-zA-Z]:/.test(path) || path.includes('\\'))) {
      problems.push(`'${key}.path' must be a relative path inside the model folder with forward slashes`);
    }
    const sha = str(f['sha256'], `${key}.sha256`);
    if (typeof sha === 'string' && !/^[0-9a-f]{64}$/.test(sha)) problems.push(`'${key}.sha256' must be 64 lower-case hex digits`);
    return { path, sha256: sha, bytes: int(f['bytes'], `${key}.bytes`) };
  };
  const fileEntries: Partial<BuiltinManifest['files']> = {};
  for (const role of MODEL_FILE_ROLES) fileEntries[role] = modelFile(files[role], `files.${role}`);
  let externalData: ModelFile[] | undefined;
  if (root['externalData'] !== undefined) {
    if (Array.isArray(root['externalData'])) externalData = (root['externalData'] as unknown[]).map((f, i) => modelFile(f, `externalData[${i}]`));
    else problems.push(`'externalData' must be an array`);
  }
  if (root['unetMask'] !== undefined && typeof root['unetMask'] !== 'boolean') problems.push(`'unetMask' must be true or false`);
  const rescale = root['guidanceRescale'];
  if (rescale !== undefined && !(typeof rescale === 'number' && rescale >= 0 && rescale <= 1)) problems.push(`'guidanceRescale' must be a number in [0, 1]`);
  const grids = Array.isArray(root['attentionGrids']) ? (root['attentionGrids'] as unknown[]) : (problems.push(`'attentionGrids' must be an array`), []);
  const manifest: BuiltinManifest = {
    format: MANIFEST_FORMAT,
    formatVersion: version,
    name: str(root['name'], 'name'),
    kind: 'builtin',
    description: typeof root['description'] === 'string' ? root['description'] : '',
    imageSize: { width: int(image['width'], 'imageSize.width'), height: int(image['height'], 'imageSize.height') },
    latent: {
      channels: int(latent['channels'], 'latent.channels'),
      width: int(latent['width'], 'latent.width'),
      height: int(latent['height'], 'latent.height'),
      scale: typeof latent['scale'] === 'number' && latent['scale'] > 0 ? latent['scale'] : (problems.push(`'latent.scale' must be a positive number`), 1),
    },
    schedule: schedule!,
    tokens: {
      width: int(tokens['width'], 'tokens.width'),
      defectTokens: int(tokens['defectTokens'], 'tokens.defectTokens'),
      spatialTokens: int(tokens['spatialTokens'], 'tokens.spatialTokens'),
      vocabulary: vocabulary as Record<string, number>,
    },
    attentionGrids: grids.map((g, i) => {
      const o = obj(g, `attentionGrids[${i}]`);
      return { width: int(o['width'], `attentionGrids[${i}].width`), height: int(o['height'], `attentionGrids[${i}].height`) };
    }),
    ...(root['unetMask'] === true ? { unetMask: true } : {}),
    ...(typeof rescale === 'number' ? { guidanceRescale: rescale } : {}),
    files: fileEntries as BuiltinManifest['files'],
    ...(externalData ? { externalData } : {}),
    ...(root['training'] && typeof root['training'] === 'object' ? { training: root['training'] as Record<string, unknown> } : {}),
  };
  if (problems.length > 0) throw new Error(`${source}: ${problems.join('; ')}`);
  return manifest;
}

/** A schedule as diffusers' scheduler_config.json keys: the form manifest.json stores. */
export function scheduleToJson(s: ScheduleConfig): Record<string, unknown> {
  return {
    num_train_timesteps: s.numTrainTimesteps,
    beta_start: s.betaStart,
    beta_end: s.betaEnd,
    beta_schedule: s.betaSchedule,
    prediction_type: s.predictionType,
    timestep_spacing: s.timestepSpacing,
    steps_offset: s.stepsOffset,
    set_alpha_to_one: s.setAlphaToOne,
    // written only when on, so the manifests of eps-prediction packages keep their bytes
    ...(s.rescaleBetasZeroSnr ? { rescale_betas_zero_snr: true } : {}),
  };
}

/** The JSON object written as manifest.json (parseManifest reads it back to an equal manifest). */
export function manifestToJson(m: BuiltinManifest): Record<string, unknown> {
  return { ...m, schedule: scheduleToJson(m.schedule) };
}
