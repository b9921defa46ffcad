// The saved anomaly embedding of one defect type: e_a [k, width] (METHOD.md, spatial anomaly
// embedding), optionally the spatial encoder's trained parameters (by the initializer names of
// the model's spatial encoder graph), the training config, and the content hash of the model it
// was learnt against (an embedding only means something in that model's token space).
// Stored in the checkpoint file format (src/engine/autodiff/checkpoint.ts: one file, SHA-256 of
// the data, atomic write), with tensors 'e_a' and 'spatial_encoder/<name>'.

import { UserError } from '../../shared/errors';
import { readFile } from 'node:fs/promises';
import { decodeCheckpoint, encodeCheckpoint, writeFileAtomic, type ParamTensor } from '../autodiff/checkpoint';

export const EMBEDDING_FORMAT = 'defectforge-embedding';
export const EMBEDDING_VERSION = 1;
const ANOMALY = 'e_a';
const ENCODER_PREFIX = 'spatial_encoder/';

export interface AnomalyEmbedding {
  defectType: string;
  /** e_a: dims [k, width] */
  anomaly: ParamTensor;
  /** trained spatial encoder parameters by initializer name */
  spatialEncoder?: Record<string, ParamTensor>;
  /** training settings and facts (steps, lr, loss...), free-form JSON */
  config: Record<string, unknown>;
  /** contentHash of the model the embedding was trained against */
  modelHash: string;
}

export function encodeEmbedding(e: AnomalyEmbedding): Uint8Array {
  if (e.anomaly.dims.length !== 2 || e.anomaly.dims[0]! * e.anomaly.dims[1]! !== e.anomaly.data.length) {
    throw new RangeError(`embedding '${e.defectType}': e_a must be [k, width] with k*width values, got dims [${e.anomaly.dims}] and ${e.anomaly.data.length} values`);
  }
  const params: Record<string, ParamTensor> = { [ANOMALY]: e.anomaly };
  for (const [name, t] of Object.entries(e.spatialEncoder ?? {})) params[ENCODER_PREFIX + name] = t;
  return encodeCheckpoint({
    params,
    optimizer: { kind: 'none', step: 0, slots: {}, hyper: {} },
    meta: { format: EMBEDDING_FORMAT, version: EMBEDDING_VERSION, defectType: e.defectType, config: e.config, modelHash: e.modelHash },
  });
}

export function decodeEmbedding(bytes: Uint8Array, source: string): AnomalyEmbedding {
  const ckpt = decodeCheckpoint(bytes, source);
  const bad = (problem: string): UserError => new UserError('EMBEDDING_INVALID', `${source}: ${problem}`);
  const meta = ckpt.meta;
  if (meta['format'] !== EMBEDDING_FORMAT) throw bad(`not an anomaly embedding (a checkpoint of format '${String(meta['format'])}')`);
  const version = meta['version'];
  if (typeof version !== 'number' || version > EMBEDDING_VERSION) throw bad(`embedding format version ${String(version)} is newer than this DefectForge reads (${EMBEDDING_VERSION})`);
  if (typeof meta['defectType'] !== 'string' || meta['defectType'] === '') throw bad(`no defect type recorded`);
  if (typeof meta['modelHash'] !== 'string' || !/^[0-9a-f]{64}$/.test(meta['modelHash'])) throw bad(`no valid model hash recorded`);
  const anomaly = ckpt.params[ANOMALY];
  if (!anomaly || anomaly.dims.length !== 2) throw bad(`no e_a tensor of dims [k, width]`);
  const spatialEncoder: Record<string, ParamTensor> = {};
  for (const [name, t] of Object.entries(ckpt.params)) {
    if (name === ANOMALY) continue;
    if (!name.startsWith(ENCODER_PREFIX)) throw bad(`unexpected tensor '${name}'`);
    spatialEncoder[name.slice(ENCODER_PREFIX.length)] = t;
  }
  const config = meta['config'];
  return {
    defectType: meta['defectType'],
    anomaly,
    ...(Object.keys(spatialEncoder).length ? { spatialEncoder } : {}),
    config: typeof config === 'object' && config !== null && !Array.isArray(config) ? (config as Record<string, unknown>) : {},
    modelHash: meta['modelHash'],
  };
}

export async function writeEmbedding(path: string, e: AnomalyEmbedding): Promise<void> {
  await writeFileAtomic(path, encodeEmbedding(e));
}

export async function readEmbedding(path: string): Promise<AnomalyEmbedding> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError('EMBEDDING_NOT_FOUND', `${path}: embedding file not found`);
    throw new UserError('EMBEDDING_UNREADABLE', `${path}: cannot read (${code ?? (e as Error).message})`);
  }
  return decodeEmbedding(bytes, path);
}
