// Stores the pairs of an evaluation's generators in the project through the one samples/lineage
// writer (src/main/store/samples.ts): image and mask blobs, a samples row and a lineage row per
// pair, all pairs of a generator in one transaction. Baselines store their working-resolution
// pictures with their sampled parameters; a model-run generator stores its own output files and
// the lineage it recorded (so `defectforge regenerate` can make the pair again).
import type { Database } from 'better-sqlite3';
import { insertSamples, type NewSample } from '../../main/store/samples';
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
}

/** Stores the pairs and returns their sample ids, in order. */
export async function storeSamples(store: SampleStore, jobId: number, generator: DefectGenerator, pairs: readonly StoredPair[], versions: Versions): Promise<number[]> {
  const rows: NewSample[] = [];
  for (const p of pairs) {
    const files = p.pair.files ?? { imagePng: await encodePicturePng(p.pair.image), maskPng: await encodeMaskPng(p.pair.mask) };
    const image = { hash: store.blobs.put(files.imagePng, 'image/png'), size: files.imagePng.length };
    const mask = { hash: store.blobs.put(files.maskPng, 'image/png'), size: files.maskPng.length };
    const l = p.pair.lineage;
    const model = l.model;
    rows.push({
      jobId,
      indexInJob: p.indexInJob,
      defectTypeId: p.defectTypeId,
      image,
      mask,
      generator: generator.name,
      lineage: {
        normalImageId: l.normalImageId,
        maskOrigin: l.maskOrigin,
        maskSource: model ? model.maskSource : { sourceImageIds: l.sourceImageIds, sampled: l.sampled },
        artifactIds: model?.artifactIds ?? [],
        modelHash: model?.modelHash ?? null,
        seed: p.seed,
        sampler: { generator: generator.name, settings: generator.settings, ...(model ? { ...model.sampler, sourceImageIds: l.sourceImageIds, sampled: l.sampled } : {}) },
        // baselines run in plain TypeScript: no execution provider is involved
        executionProvider: model?.executionProvider ?? 'none',
        onnxruntimeVersion: versions.onnxruntime,
        appVersion: versions.app,
      },
    });
  }
  const ids = insertSamples(store, rows);
  return ids.map((id, k) => {
    if (id === null) throw new Error(`eval job ${jobId}: pair index ${pairs[k]!.indexInJob} stored twice`);
    return id;
  });
}
