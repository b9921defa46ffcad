// A project with ten normal training images (and one defect type) and a tiny random model
// package, in a folder whose path holds spaces and non-ASCII characters.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../../fixtures/temp-dir';
import { makeMvtecFixture } from '../../fixtures/datasets';
import { writeTinyPackage } from '../../fixtures/builtin/tiny-package';
import { createProject, type Project } from '../../../src/main/store/project';
import { importDataset } from '../../../src/main/import';

export interface AdaptFixture {
  root: string;
  modelDir: string;
  newProject(name: string): Promise<Project>;
  /** a project with no images at all */
  emptyProject(name: string): Project;
  cleanup(): void;
}

export async function makeAdaptFixture(prefix: string): Promise<AdaptFixture> {
  const tmp = makeTempDir(prefix);
  mkdirSync(tmp.dir, { recursive: true });
  const datasetDir = join(tmp.dir, 'jeu de données');
  await makeMvtecFixture(datasetDir, { category: 'widget', width: 80, height: 72, trainGood: 10, testGood: 1, defects: { crack: 1 }, seed: 3 });
  const modelDir = join(tmp.dir, 'modèle tiny');
  await writeTinyPackage(modelDir, 7);
  return {
    root: tmp.dir,
    modelDir,
    async newProject(name) {
      const project = createProject(join(tmp.dir, name));
      await importDataset(project, datasetDir);
      return project;
    },
    emptyProject: (name) => createProject(join(tmp.dir, name)),
    cleanup: () => tmp.cleanup(),
  };
}
