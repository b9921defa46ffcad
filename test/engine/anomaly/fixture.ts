// A project with a few real defects per type (MVTec layout, imported the normal way) and a tiny
// random model package, in a folder whose path holds spaces and non-ASCII characters.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../../fixtures/temp-dir';
import { makeMvtecFixture } from '../../fixtures/datasets';
import { writeTinyPackage } from '../../fixtures/builtin/tiny-package';
import { createProject, type Project } from '../../../src/main/store/project';
import { importDataset } from '../../../src/main/import';

export interface LearnFixture {
  root: string;
  datasetDir: string;
  modelDir: string;
  /** a fresh project holding the dataset */
  newProject(name: string): Promise<Project>;
  cleanup(): void;
}

/** 'widget' with defect types 'crack' (6 images: 2 train) and 'scratch' (3 images: 1 train), 80x72 px. */
export async function makeLearnFixture(prefix: string): Promise<LearnFixture> {
  const tmp = makeTempDir(prefix);
  mkdirSync(tmp.dir, { recursive: true });
  const datasetDir = join(tmp.dir, 'jeu de données');
  await makeMvtecFixture(datasetDir, { category: 'widget', width: 80, height: 72, trainGood: 2, testGood: 1, defects: { crack: 6, scratch: 3 }, seed: 5 });
  const modelDir = join(tmp.dir, 'modèle tiny');
  await writeTinyPackage(modelDir, 7);
  return {
    root: tmp.dir,
    datasetDir,
    modelDir,
    async newProject(name) {
      const project = createProject(join(tmp.dir, name));
      await importDataset(project, datasetDir);
      return project;
    },
    cleanup: () => tmp.cleanup(),
  };
}
