// Records generated pairs in the project: image and mask blobs, a `samples` row and its `lineage`
// row (generator name and settings, the normal image, the source images, the pair's seed and
// sampled parameters, runtime and app versions). One transaction per batch of pairs.
import type { Database } from 'better-sqlite3';
import { nowIso } from '../../main/store/time';
import type { DefectGenerator, GeneratedPair } from './generator';
import { encodeMaskPng, encodePicturePng } from './picture';

export interface SampleStore {
  db: Database;
  blobs: { put(bytes: Uint8Array, mediaType: string): string };
}

export interface StoredPair {
  pair: GeneratedPair;
  defectTypeId: number;
  /** the seed of the Rng that made this pair */
  seed: number;
  indexInJob: number;
}

export interface Versions {
  onnxruntime: string;
  app: string;
  executionProvider: string;
}

/** Stores the pairs and returns their sample ids, in order. */
export async function storeSamples(store: SampleStore, jobId: number, generator: DefectGenerator, pairs: readonly StoredPair[], versions: Versions): Promise<number[]> {
  const encoded = await Promise.all(pairs.map(async (p) => ({ image: await encodePicturePng(p.pair.image), mask: await encodeMaskPng(p.pair.mask) })));
  const insertSample = store.db.prepare(
    'INSERT INTO samples (job_id, defect_type_id, image_blob, mask_blob, generator, index_in_job, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertLineage = store.db.prepare(
    `INSERT INTO lineage (sample_id, normal_image_id, mask_origin, mask_source_json, artifact_ids_json, model_hash, seed, sampler_json,
                          execution_provider, onnxruntime_version, app_version)
     VALUES (?, ?, ?, ?, '[]', NULL, ?, ?, ?, ?, ?)`,
  );
  const sampler = JSON.stringify({ generator: generator.name, settings: generator.settings });
  return store.db.transaction(() =>
    pairs.map((p, k) => {
      const imageHash = store.blobs.put(encoded[k]!.image, 'image/png');
      const maskHash = store.blobs.put(encoded[k]!.mask, 'image/png');
      const at = nowIso();
      const id = Number(insertSample.run(jobId, p.defectTypeId, imageHash, maskHash, generator.name, p.indexInJob, at).lastInsertRowid);
      const l = p.pair.lineage;
      insertLineage.run(
        id,
        l.normalImageId,
        l.maskOrigin,
        JSON.stringify({ sourceImageIds: l.sourceImageIds, sampled: l.sampled }),
        p.seed,
        sampler,
        versions.executionProvider,
        versions.onnxruntime,
        versions.app,
      );
      return id;
    }),
  )();
}
