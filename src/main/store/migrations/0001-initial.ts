// Schema version 1: the first cut of the project store.
//
// Differences from the schema sketched in the issue (the rest is as written there):
// - images: the table-level UNIQUE(blob_hash, category, split, defect_type_id) would never fire
//   for good images, because SQLite treats NULLs in a unique constraint as distinct; re-importing a
//   folder would then duplicate every good image. It is replaced by a unique index over
//   ifnull(defect_type_id, 0) (row ids start at 1, so 0 never names a real type).
// - masks: UNIQUE(image_id, blob_hash), so the same mask is never attached to one image twice.
// - indexes on the foreign keys that lists and cascades walk (images by type, masks by image,
//   job_events by job, samples by job and type).
// jobs and job_events are exactly as specified: the job manager is written against them.
import type { Database } from 'better-sqlite3';

export const version = 1;
export const name = 'initial';

export function up(db: Database): void {
  db.exec(`
CREATE TABLE project (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  app_version TEXT NOT NULL,
  settings_json TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE blobs (
  hash TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  media_type TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE defect_types (
  id INTEGER PRIMARY KEY,
  category TEXT NOT NULL,
  name TEXT NOT NULL,
  train_count INTEGER CHECK (train_count IS NULL OR train_count >= 0), -- NULL = ceil(n/3), as the paper
  settings_json TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  UNIQUE (category, name)
);

CREATE TABLE images (
  id INTEGER PRIMARY KEY,
  blob_hash TEXT NOT NULL REFERENCES blobs(hash),
  category TEXT NOT NULL,
  split TEXT NOT NULL CHECK (split IN ('train','test')),
  defect_type_id INTEGER REFERENCES defect_types(id),                 -- NULL = good
  defect_split TEXT CHECK (defect_split IN ('train','holdout')),       -- for defect images
  origin TEXT NOT NULL DEFAULT 'real' CHECK (origin IN ('real','synthetic')),
  source_path TEXT,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  channels INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX images_identity ON images (blob_hash, category, split, ifnull(defect_type_id, 0));
CREATE INDEX images_by_type ON images (defect_type_id);
CREATE INDEX images_by_category ON images (category, split);

CREATE TABLE masks (
  id INTEGER PRIMARY KEY,
  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  blob_hash TEXT NOT NULL REFERENCES blobs(hash),
  source TEXT NOT NULL CHECK (source IN ('imported','drawn','generated')),
  source_path TEXT,
  area_px INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (image_id, blob_hash)
);

CREATE TABLE models (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  content_hash TEXT NOT NULL UNIQUE,
  manifest_json TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE artifacts (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  defect_type_id INTEGER REFERENCES defect_types(id),
  model_id INTEGER REFERENCES models(id),
  version INTEGER NOT NULL,
  blob_hash TEXT NOT NULL REFERENCES blobs(hash),
  config_json TEXT NOT NULL,
  metrics_json TEXT NOT NULL DEFAULT '{}',
  job_id INTEGER REFERENCES jobs(id),
  created_at TEXT NOT NULL,
  UNIQUE (kind, defect_type_id, version)
);

CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued','running','succeeded','failed','cancelled')),
  params_json TEXT NOT NULL,
  progress_json TEXT,
  result_json TEXT,
  error TEXT,
  checkpoint_blob TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  updated_at TEXT NOT NULL
);

CREATE TABLE job_events (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  at TEXT NOT NULL,
  level TEXT NOT NULL CHECK (level IN ('info','warn','error')),
  message TEXT NOT NULL
);
CREATE INDEX job_events_by_job ON job_events (job_id);

CREATE TABLE samples (
  id INTEGER PRIMARY KEY,
  job_id INTEGER REFERENCES jobs(id),
  defect_type_id INTEGER REFERENCES defect_types(id),
  image_blob TEXT NOT NULL REFERENCES blobs(hash),
  mask_blob TEXT NOT NULL REFERENCES blobs(hash),
  generator TEXT NOT NULL,
  index_in_job INTEGER,
  created_at TEXT NOT NULL,
  UNIQUE (job_id, index_in_job)
);
CREATE INDEX samples_by_type ON samples (defect_type_id);

CREATE TABLE lineage (
  sample_id INTEGER PRIMARY KEY REFERENCES samples(id) ON DELETE CASCADE,
  normal_image_id INTEGER REFERENCES images(id),
  mask_origin TEXT NOT NULL,
  mask_source_json TEXT NOT NULL,
  artifact_ids_json TEXT NOT NULL,
  model_hash TEXT,
  seed INTEGER NOT NULL,
  sampler_json TEXT NOT NULL,
  execution_provider TEXT NOT NULL,
  onnxruntime_version TEXT NOT NULL,
  app_version TEXT NOT NULL
);
`);
}
