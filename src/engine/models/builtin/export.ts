// Writes a built-in model package: four ONNX graphs, the token table, manifest.json with the
// SHA-256 of every file. Everything is checked first (graph I/O against the contract, the
// vocabulary against the table) and written into a temporary sibling folder that is renamed into
// place at the end, so a crash never leaves a half package where a model is expected.

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { endianness } from 'node:os';
import path from 'node:path';
import { UserError } from '../../../shared/errors';
import type { ScheduleConfig } from '../../diffusion/schedule';
import { saveModel } from '../../onnx/io';
import type { Model } from '../../onnx/ir';
import { checkGraphContract, graphContract, GRAPH_ROLES, type GraphRole } from './contract';
import { packagePath, sha256File } from './files';
import { storeWeightsAsHalf } from './half-storage';
import { MANIFEST_FORMAT, MANIFEST_VERSION, manifestToJson, parseManifest, type BuiltinManifest, type ModelFile } from './manifest';
import { vocabularyProblems } from './token-table';

export interface BuiltinPackageSpec {
  name: string;
  description?: string;
  /** the four graphs, with the I/O of manifest.ts (batch symbolic: see symbolicBatch) */
  graphs: Record<GraphRole, Model>;
  /** float32 [vocabulary size, tokens.width] */
  tokenTable: Float32Array;
  vocabulary: Record<string, number>;
  latent: BuiltinManifest['latent'];
  schedule: ScheduleConfig;
  tokens: Omit<BuiltinManifest['tokens'], 'vocabulary'>;
  /** cross-attention grids, largest first */
  attentionGrids: BuiltinManifest['attentionGrids'];
  training?: Record<string, unknown>;
  /** manifest.guidanceRescale: the generations' default guidance rescale; absent: none (0) */
  guidanceRescale?: number;
  /**
   * 'inline' (default): weights inside each .onnx; 'external': initializers of 1 KiB or more in
   * '<graph>.onnx.data' beside it (listed and hashed in manifest.externalData)
   */
  weights?: 'inline' | 'external';
  /**
   * 'float32' (default) or 'float16': large weights stored as binary16 with a Cast back to
   * float32 in the graph (half the size; the model then computes with half-rounded weights)
   */
  precision?: 'float32' | 'float16';
  /** replace an existing package at `dir` (default: refuse) */
  overwrite?: boolean;
}

const TOKEN_TABLE_FILE = 'token_table.bin';
const EXTERNAL_THRESHOLD_BYTES = 1024;

/** Writes the package into `dir` (created, with its parents) and returns its manifest. */
export async function writeBuiltinPackage(dir: string, spec: BuiltinPackageSpec): Promise<BuiltinManifest> {
  const target = path.resolve(dir);
  const imageSize = imageSizeOf(spec.graphs.vae_encoder);
  // a UNet with a 'mask' input is a mask-reading UNet (manifest.unetMask); the contract then wants it
  const unetMask = spec.graphs.unet.graph.inputs.some((i) => i.name === 'mask');
  const sizes = { imageSize, latent: spec.latent, tokens: { ...spec.tokens, vocabulary: spec.vocabulary }, ...(unetMask ? { unetMask } : {}) };
  const contract = graphContract(sizes);
  for (const role of GRAPH_ROLES) checkGraphContract(spec.graphs[role], role, contract[role]);
  if (spec.tokenTable.length % spec.tokens.width !== 0) {
    throw new UserError('MODEL_TOKENS', `token table of ${spec.tokenTable.length} values is not rows of width ${spec.tokens.width}`);
  }
  const vocabProblems = vocabularyProblems(spec.vocabulary, spec.tokenTable.length / spec.tokens.width, spec.tokens.defectTokens);
  if (vocabProblems.length) throw new UserError('MODEL_TOKENS', `model '${spec.name}': ${vocabProblems.join('; ')}`);
  if (spec.attentionGrids.length === 0) throw new UserError('MODEL_CONTRACT', `model '${spec.name}': attentionGrids is empty (AAR needs the cross-attention grids)`);
  if (endianness() !== 'LE') throw new Error('token tables are written as little-endian float32; this machine is big-endian');

  const exists = await fs.stat(target).catch(() => undefined);
  if (exists && !spec.overwrite) throw new UserError('MODEL_EXISTS', `${target}: already exists; pass overwrite to replace it`);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await fs.mkdir(path.dirname(target), { recursive: true });
  await fs.mkdir(temp);
  try {
    const files: Partial<BuiltinManifest['files']> = {};
    const externalData: ModelFile[] = [];
    for (const role of GRAPH_ROLES) {
      const file = `${role}.onnx`;
      const dataFile = `${file}.data`;
      const external = spec.weights === 'external';
      const graph = spec.precision === 'float16' ? storeWeightsAsHalf(spec.graphs[role]) : spec.graphs[role];
      await saveModel(graph, path.join(temp, file), external ? { externalData: { file: dataFile, thresholdBytes: EXTERNAL_THRESHOLD_BYTES } } : {});
      files[role] = await describe(temp, file);
      // a graph with no initializer over the threshold writes an empty data file: not worth listing
      if (external) {
        const data = await describe(temp, dataFile);
        if (data.bytes > 0) externalData.push(data);
        else await fs.rm(path.join(temp, dataFile));
      }
    }
    const table = spec.tokenTable;
    await fs.writeFile(path.join(temp, TOKEN_TABLE_FILE), new Uint8Array(table.buffer, table.byteOffset, table.byteLength));
    files.token_table = await describe(temp, TOKEN_TABLE_FILE);

    const manifest: BuiltinManifest = {
      format: MANIFEST_FORMAT,
      formatVersion: MANIFEST_VERSION,
      name: spec.name,
      kind: 'builtin',
      description: spec.description ?? '',
      imageSize,
      latent: { ...spec.latent },
      schedule: { ...spec.schedule },
      tokens: { ...spec.tokens, vocabulary: { ...spec.vocabulary } },
      attentionGrids: spec.attentionGrids.map((g) => ({ ...g })),
      ...(unetMask ? { unetMask } : {}),
      ...(spec.guidanceRescale !== undefined ? { guidanceRescale: spec.guidanceRescale } : {}),
      files: files as BuiltinManifest['files'],
      ...(externalData.length ? { externalData } : {}),
      ...(spec.training ? { training: spec.training } : {}),
    };
    const json = JSON.stringify(manifestToJson(manifest), null, 2) + '\n';
    parseManifest(JSON.parse(json), `${spec.name} manifest.json`); // what we write must read back
    await fs.writeFile(path.join(temp, 'manifest.json'), json);
    await moveIntoPlace(temp, target, Boolean(exists));
    return manifest;
  } catch (e) {
    await fs.rm(temp, { recursive: true, force: true });
    throw e;
  }
}

async function describe(dir: string, relative: string): Promise<ModelFile> {
  const { sha256, bytes } = await sha256File(packagePath(dir, relative));
  return { path: relative, sha256, bytes };
}

function imageSizeOf(encoder: Model): { width: number; height: number } {
  const shape = encoder.graph.inputs.find((i) => i.name === 'image')?.shape;
  const [, , h, w] = shape ?? [];
  if (typeof h !== 'number' || typeof w !== 'number') {
    throw new UserError('MODEL_CONTRACT', `vae_encoder graph '${encoder.graph.name}': input 'image' must have shape [batch, 3, H, W] with fixed H and W`);
  }
  return { width: w, height: h };
}

/** Renames the finished folder into place; an old package is moved aside first and removed after. */
async function moveIntoPlace(temp: string, target: string, replace: boolean): Promise<void> {
  if (!replace) {
    await fs.rename(temp, target);
    return;
  }
  const aside = `${temp}.old`;
  await fs.rename(target, aside);
  try {
    await fs.rename(temp, target);
  } catch (e) {
    await fs.rename(aside, target);
    throw e;
  }
  await fs.rm(aside, { recursive: true, force: true });
}
