// Which conditioning a defect type gets with a given model: its newest learned anomaly embedding
// trained against that model (an artifact whose blob is in the embedding-file format, with e_a of
// the model's token layout), else a defect family the model's token table already knows under the
// type's name (the built-in model was pretrained on the procedural corpus' defect families), else
// nothing: the type's defect must be learned first. An SD 1.x folder knows no defect families:
// its types are always learned.
import path from 'node:path';
import { decodeEmbedding } from '../../engine/anomaly/embedding-file';
import { packageContentHash } from '../../engine/models/builtin/files';
import { readBuiltinManifest } from '../../engine/models/builtin/load';
import { detectModelFolder, type ModelFolderKind } from '../../engine/models/load';
import { hashFolder, readSd1Folder } from '../../engine/models/sd1/folder';
import { SD1_ANOMALY_TOKENS } from '../../engine/models/sd1/spatial-encoder';
import type { ConditioningSpec } from '../../engine/synthesis/recipe';
import type { Project } from '../store/project';
import type { AugmentType } from './types';

/** What the orchestration needs to know about a model, read from its manifest only (no session). */
export interface ModelInfo {
  dir: string;
  kind: ModelFolderKind;
  name: string;
  contentHash: string;
  defectTokens: number;
  /** null for SD 1.x folders (it lives in the text encoder; synthesis checks it) */
  tokenWidth: number | null;
  families: string[];
  defects: string[];
}

export async function readModelInfo(dir: string): Promise<ModelInfo> {
  if ((await detectModelFolder(dir)) === 'sd1') {
    // the layout and configs are checked (a broken folder fails before any job), then the hash
    // the adapter records (SHA-256 over the folder's files), without opening a session
    await readSd1Folder(dir);
    return { dir, kind: 'sd1', name: path.basename(path.resolve(dir)), contentHash: await hashFolder(dir), defectTokens: SD1_ANOMALY_TOKENS, tokenWidth: null, families: [], defects: [] };
  }
  const m = await readBuiltinManifest(dir);
  const labels = Object.keys(m.tokens.vocabulary);
  const families = labels.filter((l) => l.startsWith('family:')).map((l) => l.slice('family:'.length));
  const defects = [...new Set(labels.map((l) => /^defect:(.+):\d+$/.exec(l)?.[1]).filter((d): d is string => d !== undefined))];
  return { dir, kind: 'builtin', name: m.name, contentHash: packageContentHash(m), defectTokens: m.tokens.defectTokens, tokenWidth: m.tokens.width, families: families.sort(), defects: defects.sort() };
}

/** artifacts.kind of a learned e_a (src/main/store/artifacts.ts) */
export const ANOMALY_EMBEDDING = 'anomaly-embedding';

interface ArtifactRow {
  id: number;
  blob_hash: string;
}

/** The newest usable learned embedding of the type for this model, if any. */
export function learnedEmbedding(project: Project, type: AugmentType, model: ModelInfo): { artifactId: number; blob: string } | null {
  const rows = project.db
    .prepare('SELECT id, blob_hash FROM artifacts WHERE defect_type_id = ? AND kind = ? ORDER BY version DESC, id DESC')
    .all(type.id, ANOMALY_EMBEDDING) as ArtifactRow[];
  for (const row of rows) {
    if (!project.blobs.has(row.blob_hash)) continue;
    try {
      const e = decodeEmbedding(project.blobs.read(row.blob_hash), project.blobs.path(row.blob_hash));
      const [k, width] = e.anomaly.dims;
      if (e.modelHash === model.contentHash && k === model.defectTokens && (model.tokenWidth === null || width === model.tokenWidth)) return { artifactId: row.id, blob: row.blob_hash };
    } catch {
      // not an anomaly embedding (another artifact kind): keep looking
    }
  }
  return null;
}

export function conditioningFor(project: Project, type: AugmentType, model: ModelInfo): ConditioningSpec | null {
  const family = model.families.includes(type.category) ? { family: type.category } : {};
  const learned = learnedEmbedding(project, type, model);
  if (learned) return { kind: 'embedding', ...learned, ...family };
  if (model.defects.includes(type.name)) return { kind: 'model-defect', defect: type.name, ...family };
  return null;
}
