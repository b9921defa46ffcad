// Generated pairs (samples) and their lineage (migration 0001): THE writer and reader of the
// samples and lineage tables, for every generator (the synthesis job, eval's baselines and its
// diffusion generator). Pairs are committed as units: the blob rows of their images and masks,
// the samples rows and the lineage rows are written in ONE transaction, so a crash or a cancel
// leaves either the whole pair (or batch) or nothing. The blob files are written before
// (content-addressed and atomic, a file without a row is harmless).
// samples.index_in_job is unique per job (UNIQUE(job_id, index_in_job)): a resumed synthesis run
// can never store the same pair twice.
import type { Database } from 'better-sqlite3';
import { UserError } from '../../shared/errors';
import { ensureModelRow, type ModelIdentity } from './artifacts';
import { nowIso } from './time';

interface HasDb {
  readonly db: Database;
}

export interface SampleLineage {
  normalImageId: number | null;
  /** where the mask came from: 'real', 'learned', 'perlin', 'drawn', 'cutpaste:...' */
  maskOrigin: string;
  /** enough to make the same mask again (JSON) */
  maskSource: Record<string, unknown>;
  artifactIds: number[];
  modelHash: string | null;
  seed: number;
  /** every generation setting (sampler, steps, guidance, AAR, paste-back, conditioning, resize) */
  sampler: Record<string, unknown>;
  executionProvider: string;
  onnxruntimeVersion: string;
  appVersion: string;
}

export interface NewSample {
  jobId: number;
  indexInJob: number;
  defectTypeId: number;
  image: { hash: string; size: number };
  mask: { hash: string; size: number };
  generator: string;
  lineage: SampleLineage;
}

export interface SampleRecord {
  id: number;
  jobId: number | null;
  defectTypeId: number | null;
  category: string | null;
  defectType: string | null;
  imageBlob: string;
  maskBlob: string;
  generator: string;
  indexInJob: number | null;
  createdAt: string;
}

export interface SampleWithLineage extends SampleRecord {
  lineage: SampleLineage | null;
}

const PNG = 'image/png';

/**
 * Inserts the pairs and their lineage in one transaction. Returns each new sample id, or null
 * where the job already holds a sample at that index (a pair finished by an earlier attempt).
 */
export function insertSamples(p: HasDb, samples: readonly NewSample[]): (number | null)[] {
  const at = nowIso();
  const taken = p.db.prepare('SELECT id FROM samples WHERE job_id = ? AND index_in_job = ?');
  const blob = p.db.prepare('INSERT OR IGNORE INTO blobs (hash, size, media_type, created_at) VALUES (?, ?, ?, ?)');
  const sample = p.db.prepare('INSERT INTO samples (job_id, defect_type_id, image_blob, mask_blob, generator, index_in_job, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const lineage = p.db.prepare(
    `INSERT INTO lineage (sample_id, normal_image_id, mask_origin, mask_source_json, artifact_ids_json, model_hash, seed,
                          sampler_json, execution_provider, onnxruntime_version, app_version)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  return p.db.transaction((): (number | null)[] =>
    samples.map((s) => {
      if (taken.get(s.jobId, s.indexInJob)) return null;
      blob.run(s.image.hash, s.image.size, PNG, at);
      blob.run(s.mask.hash, s.mask.size, PNG, at);
      const id = Number(sample.run(s.jobId, s.defectTypeId, s.image.hash, s.mask.hash, s.generator, s.indexInJob, at).lastInsertRowid);
      const l = s.lineage;
      lineage.run(
        id,
        l.normalImageId,
        l.maskOrigin,
        JSON.stringify(l.maskSource),
        JSON.stringify(l.artifactIds),
        l.modelHash,
        l.seed,
        JSON.stringify(l.sampler),
        l.executionProvider,
        l.onnxruntimeVersion,
        l.appVersion,
      );
      return id;
    }),
  )();
}

/** One pair: see insertSamples. */
export function insertSample(p: HasDb, s: NewSample): number | null {
  return insertSamples(p, [s])[0]!;
}

/** The indices a job (a synthesis run) has already committed, ascending. */
export function committedIndices(p: HasDb, jobId: number): number[] {
  return p.db.prepare('SELECT index_in_job FROM samples WHERE job_id = ? AND index_in_job IS NOT NULL ORDER BY index_in_job').pluck().all(jobId) as number[];
}

interface SampleRow {
  id: number;
  job_id: number | null;
  defect_type_id: number | null;
  category: string | null;
  defect_type: string | null;
  image_blob: string;
  mask_blob: string;
  generator: string;
  index_in_job: number | null;
  created_at: string;
}

interface LineageRow {
  normal_image_id: number | null;
  mask_origin: string;
  mask_source_json: string;
  artifact_ids_json: string;
  model_hash: string | null;
  seed: number;
  sampler_json: string;
  execution_provider: string;
  onnxruntime_version: string;
  app_version: string;
}

const SELECT_SAMPLE = `SELECT s.id, s.job_id, s.defect_type_id, t.category, t.name AS defect_type, s.image_blob, s.mask_blob, s.generator,
       s.index_in_job, s.created_at
  FROM samples s LEFT JOIN defect_types t ON t.id = s.defect_type_id`;

function toRecord(r: SampleRow): SampleRecord {
  return {
    id: r.id,
    jobId: r.job_id,
    defectTypeId: r.defect_type_id,
    category: r.category,
    defectType: r.defect_type,
    imageBlob: r.image_blob,
    maskBlob: r.mask_blob,
    generator: r.generator,
    indexInJob: r.index_in_job,
    createdAt: r.created_at,
  };
}

function toLineage(r: LineageRow): SampleLineage {
  return {
    normalImageId: r.normal_image_id,
    maskOrigin: r.mask_origin,
    maskSource: JSON.parse(r.mask_source_json) as Record<string, unknown>,
    artifactIds: JSON.parse(r.artifact_ids_json) as number[],
    modelHash: r.model_hash,
    seed: r.seed,
    sampler: JSON.parse(r.sampler_json) as Record<string, unknown>,
    executionProvider: r.execution_provider,
    onnxruntimeVersion: r.onnxruntime_version,
    appVersion: r.app_version,
  };
}

export function sampleLineage(p: HasDb, sampleId: number): SampleLineage | null {
  const row = p.db.prepare('SELECT * FROM lineage WHERE sample_id = ?').get(sampleId) as LineageRow | undefined;
  return row ? toLineage(row) : null;
}

/** One sample with its lineage; an unknown id is a UserError naming it. */
export function getSample(p: HasDb, sampleId: number): SampleWithLineage {
  const row = p.db.prepare(`${SELECT_SAMPLE} WHERE s.id = ?`).get(sampleId) as SampleRow | undefined;
  if (!row) throw new UserError('SAMPLE_NOT_FOUND', `There is no sample with id ${sampleId} in this project.`);
  return { ...toRecord(row), lineage: sampleLineage(p, sampleId) };
}

/** The samples of one job, in index order. */
export function jobSamples(p: HasDb, jobId: number): SampleRecord[] {
  return (p.db.prepare(`${SELECT_SAMPLE} WHERE s.job_id = ? ORDER BY s.index_in_job, s.id`).all(jobId) as SampleRow[]).map(toRecord);
}

/**
 * Samples of a defect type, oldest first, at most `limit` (-1: all); with `modelHash`, only those
 * generated with that model (lineage.model_hash): what an export of N pairs per type takes.
 */
export function typeSamples(p: HasDb, defectTypeId: number, modelHash: string | null, limit = -1): SampleWithLineage[] {
  const rows = p.db
    .prepare(`${SELECT_SAMPLE} LEFT JOIN lineage l ON l.sample_id = s.id WHERE s.defect_type_id = @type AND (@model IS NULL OR l.model_hash = @model) ORDER BY s.id LIMIT @limit`)
    .all({ type: defectTypeId, model: modelHash, limit }) as SampleRow[];
  return rows.map((r) => ({ ...toRecord(r), lineage: sampleLineage(p, r.id) }));
}

export function countTypeSamples(p: HasDb, defectTypeId: number, modelHash: string): number {
  return (
    p.db
      .prepare('SELECT count(*) AS n FROM samples s JOIN lineage l ON l.sample_id = s.id WHERE s.defect_type_id = ? AND l.model_hash = ?')
      .get(defectTypeId, modelHash) as { n: number }
  ).n;
}

/** Records the model a sample was made with (models table), once per content hash; returns its id. */
export function recordModel(p: HasDb, m: ModelIdentity): number {
  return ensureModelRow(p, m);
}

/** Where the model with this content hash was last seen (models.path), if it was ever recorded. */
export function modelPathByHash(p: HasDb, contentHash: string): string | null {
  const row = p.db.prepare('SELECT path FROM models WHERE content_hash = ?').get(contentHash) as { path: string } | undefined;
  return row?.path ?? null;
}
