// The base package adaptation starts from (its four graphs as float32 training material, and its
// token table), and the adapted package it writes: the base's manifest facts with the new UNet and
// decoder, every file hashed again by writeBuiltinPackage, and training.adaptedFrom = the base's
// content hash. The base's storage choices (float16 weights, external data) carry over.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../shared/errors';
import { loadBuiltinModel, type BuiltinModel, type LoadBuiltinOptions } from '../models/builtin/load';
import { packagePath } from '../models/builtin/files';
import { writeBuiltinPackage } from '../models/builtin/export';
import type { GraphRole } from '../models/builtin/contract';
import type { BuiltinManifest } from '../models/builtin/manifest';
import { detectModelFolder } from '../models/load';
import { loadModel as loadOnnx } from '../onnx/io';
import type { Model } from '../onnx/ir';
import { materialiseFloatWeights } from '../anomaly/encoder-weights';

export interface BasePackage {
  model: BuiltinModel;
  /** the four graphs with float32 weights (half-stored ones materialised) */
  graphs: Record<GraphRole, Model>;
  tokenTable: Float32Array;
  /** the base stores weights as float16 */
  halfStored: boolean;
}

export async function openBasePackage(dir: string, load: LoadBuiltinOptions = {}): Promise<BasePackage> {
  const root = path.resolve(dir);
  if ((await detectModelFolder(root)) !== 'builtin') {
    throw new UserError('MODEL_UNSUPPORTED', `${root}: adapting Stable Diffusion 1.x folders is not supported (off by default for SD 1.x); use a DefectForge model package`);
  }
  const model = await loadBuiltinModel(root, load);
  try {
    const files = model.manifest.files;
    const graphs = {} as Record<GraphRole, Model>;
    let halfStored = false;
    for (const role of ['vae_encoder', 'vae_decoder', 'unet', 'spatial_encoder'] as const) {
      const raw = await loadOnnx(packagePath(root, files[role].path), { loadExternal: true });
      halfStored ||= [...raw.graph.initializers.values()].some((t) => t.dtype === 'float16');
      graphs[role] = materialiseFloatWeights(raw);
    }
    const bytes = await fs.readFile(packagePath(root, files.token_table.path));
    const tokenTable = new Float32Array(bytes.length / 4);
    new Uint8Array(tokenTable.buffer).set(bytes.subarray(0, tokenTable.length * 4));
    return { model, graphs, tokenTable, halfStored };
  } catch (e) {
    await model.release();
    throw e;
  }
}

export interface AdaptedPackageSpec {
  dir: string;
  name: string;
  base: BasePackage;
  unet: Model;
  decoder: Model;
  /** facts of the adaptation for the model card (merged into the base's training facts) */
  adaptation: Record<string, unknown>;
  /** replace a folder already at `dir` */
  overwrite?: boolean;
}

export function writeAdaptedPackage(spec: AdaptedPackageSpec): Promise<BuiltinManifest> {
  const m = spec.base.model.manifest;
  const baseHash = spec.base.model.facts.contentHash;
  return writeBuiltinPackage(spec.dir, {
    name: spec.name,
    description: `${m.name} adapted to a project's normal images${m.description ? ` (${m.description})` : ''}`,
    graphs: { vae_encoder: spec.base.graphs.vae_encoder, vae_decoder: spec.decoder, unet: spec.unet, spatial_encoder: spec.base.graphs.spatial_encoder },
    tokenTable: spec.base.tokenTable,
    vocabulary: m.tokens.vocabulary,
    latent: m.latent,
    schedule: m.schedule,
    tokens: { width: m.tokens.width, defectTokens: m.tokens.defectTokens, spatialTokens: m.tokens.spatialTokens },
    attentionGrids: m.attentionGrids,
    training: { ...(m.training ?? {}), adaptedFrom: baseHash, adaptation: spec.adaptation },
    weights: m.externalData?.length ? 'external' : 'inline',
    precision: spec.base.halfStored ? 'float16' : 'float32',
    overwrite: spec.overwrite ?? false,
  });
}
