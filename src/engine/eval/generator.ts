// What a defect generator is: the contract the baselines and the diffusion generator
// (generator-diffusion.ts) implement to take part in `defectforge eval`.
//
// A generator is created once per category from the few real training defects (the first third
// of each type), then asked for pairs: given a normal image, a defect type and a seeded Rng, it
// returns a defect image, its pixel-exact mask and what the lineage table must record. The same
// (inputs, rng state) must always give the same pair.
import type { Database } from 'better-sqlite3';
import type { Rng } from '../../shared/random';
import type { Mask, Picture } from './picture';

/** A real image of the project at the working resolution. */
export interface ProjectPicture {
  /** images.id */
  imageId: number;
  picture: Picture;
}

/** A real training defect: one of the first third of its type. */
export interface DefectExample extends ProjectPicture {
  defectType: string;
  mask: Mask;
}

export interface GeneratorContext {
  width: number;
  height: number;
  /** the training defects of every type of the category */
  trainDefects: readonly DefectExample[];
  /** the seed of the run (generators derive any fixed state, e.g. textures, from it) */
  seed: number;
  /** what generators that learn from the project need (the diffusion generator) */
  run?: GeneratorRun;
}

/** The evaluation run a generator is created in. */
export interface GeneratorRun {
  project: { dir: string; db: Database };
  category: string;
  /** model package folder, when the user named one */
  model?: string;
  /** seconds the generator may spend learning before it generates (undefined: no limit) */
  budgetSeconds?: number;
  /** true when results must not depend on timing (a fixed step count was asked for) */
  reproducible: boolean;
  appVersion: string;
  signal?: AbortSignal;
  log?: (message: string) => void;
}

/** What the lineage row of a generated sample records (besides versions, filled in by the store). */
export interface PairLineage {
  /** the normal image the defect was painted into (null when none was used) */
  normalImageId: number | null;
  /** images the defect's appearance or mask came from */
  sourceImageIds: number[];
  /** where the mask came from, e.g. 'cutpaste:transformed-real', 'perlin' */
  maskOrigin: string;
  /** the sampled parameters of this pair (rotation, scale, beta, texture, ...) */
  sampled: Record<string, number | string | boolean>;
  /** generators that run a model record the rest of the lineage themselves */
  model?: ModelLineage;
}

/** The lineage of a pair a model made: enough to make it again (`defectforge regenerate`). */
export interface ModelLineage {
  /** the mask source's origin record */
  maskSource: Record<string, unknown>;
  artifactIds: number[];
  modelHash: string;
  /** the recipe and every generation setting */
  sampler: Record<string, unknown>;
  executionProvider: string;
}

export interface GeneratedPair {
  image: Picture;
  mask: Mask;
  lineage: PairLineage;
  /** the files to store instead of the working-resolution picture (a model's own output) */
  files?: { imagePng: Uint8Array; maskPng: Uint8Array };
}

export interface DefectGenerator {
  readonly name: string;
  /** the generator's fixed settings, recorded in every sample's lineage */
  readonly settings: Readonly<Record<string, unknown>>;
  generate(normal: ProjectPicture, defectType: string, rng: Rng): GeneratedPair | Promise<GeneratedPair>;
  /** frees what the generator holds (model sessions); called once after its last pair */
  release?(): Promise<void>;
}
