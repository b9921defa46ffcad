// Trained artifacts (the artifacts table of migration 0001): one row per saved result of a
// training job - a defect type's anomaly embedding (e_a + the project's spatial encoder), a mask
// embedding - pointing at the blob that holds it. Versions count up per (kind, defect type) from
// 1, so a new training never overwrites an older result and lineage can name the exact version
// a sample was made with. The models table gets a row per model an artifact was trained against.
import type { Database } from 'better-sqlite3';
import { UserError } from '../../shared/errors';
import { nowIso } from './time';

interface HasDb {
  readonly db: Database;
}

export const ARTIFACT_KINDS = ['anomaly-embedding', 'mask-embedding', 'adapted-model'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export interface ArtifactRecord {
  id: number;
  kind: ArtifactKind;
  defectTypeId: number | null;
  modelId: number | null;
  version: number;
  blobHash: string;
  config: Record<string, unknown>;
  metrics: Record<string, unknown>;
  jobId: number | null;
  createdAt: string;
}

export interface NewArtifact {
  kind: ArtifactKind;
  defectTypeId: number | null;
  modelId: number | null;
  /** a blob already stored in the project */
  blobHash: string;
  config: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  jobId?: number | null;
}

interface ArtifactRow {
  id: number;
  kind: ArtifactKind;
  defect_type_id: number | null;
  model_id: number | null;
  version: number;
  blob_hash: string;
  config_json: string;
  metrics_json: string;
  job_id: number | null;
  created_at: string;
}

function toRecord(r: ArtifactRow): ArtifactRecord {
  return {
    id: r.id,
    kind: r.kind,
    defectTypeId: r.defect_type_id,
    modelId: r.model_id,
    version: r.version,
    blobHash: r.blob_hash,
    config: JSON.parse(r.config_json) as Record<string, unknown>,
    metrics: JSON.parse(r.metrics_json) as Record<string, unknown>,
    jobId: r.job_id,
    createdAt: r.created_at,
  };
}

function checkKind(kind: string): asserts kind is ArtifactKind {
  if (!(ARTIFACT_KINDS as readonly string[]).includes(kind)) throw new UserError('UNKNOWN_ARTIFACT_KIND', `unknown artifact kind '${kind}'; known: ${ARTIFACT_KINDS.join(', ')}`);
}

/** Inserts the next version of (kind, defect type) in one transaction and returns the row. */
export function recordArtifact(p: HasDb, a: NewArtifact): ArtifactRecord {
  checkKind(a.kind);
  return p.db.transaction(() => {
    const hasBlob = p.db.prepare('SELECT 1 FROM blobs WHERE hash = ?').get(a.blobHash);
    if (!hasBlob) throw new UserError('BLOB_MISSING', `artifact ${a.kind}: blob ${a.blobHash} is not stored in the project`);
    // IS compares NULL with NULL as equal: project-wide artifacts (no type) are versioned too
    const { next } = p.db
      .prepare('SELECT coalesce(max(version), 0) + 1 AS next FROM artifacts WHERE kind = ? AND defect_type_id IS ?')
      .get(a.kind, a.defectTypeId) as { next: number };
    const info = p.db
      .prepare(
        `INSERT INTO artifacts (kind, defect_type_id, model_id, version, blob_hash, config_json, metrics_json, job_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(a.kind, a.defectTypeId, a.modelId, next, a.blobHash, JSON.stringify(a.config), JSON.stringify(a.metrics ?? {}), a.jobId ?? null, nowIso());
    return getArtifact(p, Number(info.lastInsertRowid))!;
  })();
}

export function getArtifact(p: HasDb, id: number): ArtifactRecord | undefined {
  const row = p.db.prepare('SELECT * FROM artifacts WHERE id = ?').get(id) as ArtifactRow | undefined;
  return row && toRecord(row);
}

/** The newest version of (kind, defect type), optionally only those trained against one model. */
export function latestArtifact(p: HasDb, kind: ArtifactKind, defectTypeId: number | null, modelId?: number): ArtifactRecord | undefined {
  checkKind(kind);
  const row = p.db
    .prepare(
      `SELECT * FROM artifacts WHERE kind = ? AND defect_type_id IS ? AND (? IS NULL OR model_id = ?)
        ORDER BY version DESC LIMIT 1`,
    )
    .get(kind, defectTypeId, modelId ?? null, modelId ?? null) as ArtifactRow | undefined;
  return row && toRecord(row);
}

/** Every artifact of a kind (any defect type), newest first; optionally for one model. */
export function listArtifacts(p: HasDb, kind: ArtifactKind, modelId?: number): ArtifactRecord[] {
  checkKind(kind);
  const rows = p.db
    .prepare('SELECT * FROM artifacts WHERE kind = ? AND (? IS NULL OR model_id = ?) ORDER BY id DESC')
    .all(kind, modelId ?? null, modelId ?? null) as ArtifactRow[];
  return rows.map(toRecord);
}

export interface ModelIdentity {
  name: string;
  kind: string;
  path: string;
  contentHash: string;
  manifest: unknown;
}

/** The models row of a model (by content hash), created when missing; returns its id. */
export function ensureModelRow(p: HasDb, m: ModelIdentity): number {
  return p.db.transaction(() => {
    const found = p.db.prepare('SELECT id FROM models WHERE content_hash = ?').get(m.contentHash) as { id: number } | undefined;
    if (found) return found.id;
    const info = p.db
      .prepare('INSERT INTO models (name, kind, path, content_hash, manifest_json, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(m.name, m.kind, m.path, m.contentHash, JSON.stringify(m.manifest ?? {}), nowIso());
    return Number(info.lastInsertRowid);
  })();
}
