// A small project for synthesis tests: a tiny random model package (64x64) and a project with an
// MVTec-layout dataset imported: category 'wood' (a family the tiny model knows), 80x72 images
// (so they are resized to the model's size), defect types 'scratch' (6 images: 2 train) and
// 'hole' (3: 1 train), both known to the tiny model's token table.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeMvtecFixture } from '../../fixtures/datasets';
import { writeTinyPackage } from '../../fixtures/builtin/tiny-package';
import { createProject, openProject, type Project } from '../../../src/main/store/project';
import { importDataset } from '../../../src/main/import';
import { JobStore } from '../../../src/main/jobs/job-store';
import { loadBuiltinModel, type BuiltinModel } from '../../../src/engine/models/builtin/load';
import { resolveTypes, typeMaterial } from '../../../src/main/augment/types';
import { conditioningFor, readModelInfo } from '../../../src/main/augment/conditioning';
import type { SynthesisPlan, TypeMaskSource } from '../../../src/engine/synthesis/recipe';

export interface SynthesisFixture {
  modelDir: string;
  datasetDir: string;
  projectDir: string;
}

export async function makeSynthesisFixture(root: string, opts: { width?: number; height?: number } = {}): Promise<SynthesisFixture> {
  mkdirSync(root, { recursive: true });
  const modelDir = join(root, 'modèle tiny');
  const datasetDir = join(root, 'jeu de données');
  const projectDir = join(root, 'projet 1');
  await writeTinyPackage(modelDir, 7);
  await makeMvtecFixture(datasetDir, { category: 'wood', width: opts.width ?? 80, height: opts.height ?? 72, trainGood: 4, testGood: 2, defects: { scratch: 6, hole: 3 }, seed: 5 });
  const project = createProject(projectDir);
  try {
    await importDataset(project, datasetDir);
  } finally {
    project.close();
  }
  return { modelDir, datasetDir, projectDir };
}

/**
 * A plan of `count` pairs per named type ('wood/scratch'...) conditioned on the model's own defect
 * rows (or a learned embedding where the project has one), masks from `maskSource` (default real).
 */
export async function planFor(project: Project, model: BuiltinModel, types: string[], count: number, seed = 11, maskSource: TypeMaskSource = { kind: 'real', foreground: 'none' }): Promise<SynthesisPlan> {
  const info = await readModelInfo(model.dir);
  return {
    seed,
    sampler: { sampler: 'ddim', steps: 3, eta: 1 },
    guidance: 3,
    aar: { clamp: [1, 1.5], dilationRadius: 0 },
    types: resolveTypes(project, types).map((t) => {
      const m = typeMaterial(project, t);
      const conditioning = conditioningFor(project, t, info);
      if (!conditioning) throw new Error(`no conditioning for ${t.label}`);
      return { defectTypeId: t.id, label: t.label, count, aar: t.aar, normals: m.normals, maskSource, conditioning };
    }),
  };
}

/** A jobs row to hang samples on (samples.job_id references jobs). */
export function newJob(project: Project, params: unknown = {}): number {
  return new JobStore(project.db).insert('synthesize', params);
}

export async function loadTiny(dir: string): Promise<BuiltinModel> {
  return loadBuiltinModel(dir, { intraOpNumThreads: 1 });
}

/** Makes a fixture under `root`, opens its project and tiny model for `use`, and closes both after. */
export async function withSynthesisFixture<T>(root: string, opts: { width?: number; height?: number }, use: (project: Project, model: BuiltinModel, fx: SynthesisFixture) => Promise<T>): Promise<T> {
  const fx = await makeSynthesisFixture(root, opts);
  const project = openProject(fx.projectDir);
  try {
    const model = await loadTiny(fx.modelDir);
    try {
      return await use(project, model, fx);
    } finally {
      await model.release();
    }
  } finally {
    project.close();
  }
}
