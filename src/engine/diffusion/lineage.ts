// The lineage record of one generated sample: everything needed to know where it came from and
// to make it again bit for bit on the same execution provider (ARCHITECTURE.md, Data: lineage):
// every input file by SHA-256, the conditioning, the model's content hash, seed, sampler and
// every generation setting, the execution provider and the onnxruntime and app versions.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../autodiff/checkpoint';
import type { BlendedResult } from './blended';

export const LINEAGE_FORMAT = 'defectforge-lineage';
export const LINEAGE_VERSION = 1;

export interface FileRef {
  /** absolute path when recorded */
  path: string;
  sha256: string;
  bytes: number;
}

export interface LineageInputs {
  normal: FileRef;
  mask: FileRef;
  embedding?: FileRef & { defectType: string };
}

export interface LineageConditioning {
  /** family label of the model's token table, when one was used */
  family?: string;
  /** defect family of the model's token table, when its rows were used */
  defect?: string;
  /** learned vectors injected into the context */
  injectedVectors: number;
  /** where the spatial tokens came from */
  spatialTokens: 'injected' | 'embedding-encoder' | 'model-encoder' | 'none';
}

export interface LineageRecord {
  format: typeof LINEAGE_FORMAT;
  version: number;
  createdAt: string;
  outputs: { image: FileRef; mask: FileRef };
  inputs: LineageInputs;
  conditioning: LineageConditioning;
  model: { name: string; kind: string; contentHash: string; path?: string };
  generation: BlendedResult['settings'];
  runtime: { executionProvider: string; fallbackReason?: string; onnxruntime: string };
  app: { version: string; platform: string; arch: string; node: string };
}

export interface LineageParts {
  inputs: LineageInputs;
  outputs: { image: FileRef; mask: FileRef };
  conditioning: LineageConditioning;
  model: LineageRecord['model'];
  result: BlendedResult;
  runtime: LineageRecord['runtime'];
  appVersion: string;
  /** defaults to now */
  createdAt?: Date;
}

export function buildLineage(p: LineageParts): LineageRecord {
  if (p.result.settings.modelHash !== p.model.contentHash) {
    throw new Error(`lineage: the result was generated with model ${p.result.settings.modelHash}, not ${p.model.contentHash}`);
  }
  return {
    format: LINEAGE_FORMAT,
    version: LINEAGE_VERSION,
    createdAt: (p.createdAt ?? new Date()).toISOString(),
    outputs: p.outputs,
    inputs: p.inputs,
    conditioning: p.conditioning,
    model: p.model,
    generation: p.result.settings,
    runtime: p.runtime,
    app: { version: p.appVersion, platform: process.platform, arch: process.arch, node: process.versions.node },
  };
}

export function describeBytes(path: string, bytes: Uint8Array): FileRef {
  return { path, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}

export async function describeFile(path: string): Promise<FileRef> {
  return describeBytes(path, await readFile(path));
}

export async function writeLineage(path: string, record: LineageRecord): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(record, null, 2) + '\n'));
}
