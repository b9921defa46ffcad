// defectforge init <dir> [--name N]: creates an empty project folder.
import { resolve } from 'node:path';
import { createProject } from '../../main/store/project';
import { projectInfo } from '../../main/store/info';
import type { CommandSpec } from '../command';

export const initCommand: CommandSpec = {
  name: 'init',
  summary: 'create a new project folder',
  positionals: [{ name: 'dir', description: 'folder to create the project in (created if missing; must not hold a project)' }],
  options: {
    name: { type: 'string', valueName: 'name', description: 'project name (default: the folder name)' },
  },
  async run({ positionals, options }, io) {
    const dir = resolve(io.cwd, positionals[0]!);
    const name = options.name as string | undefined;
    const project = createProject(dir, name !== undefined ? { name } : {});
    try {
      io.stdout(`created project "${projectInfo(project).name}" in ${project.dir}\n`);
    } finally {
      project.close();
    }
  },
};
