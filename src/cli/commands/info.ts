// defectforge info <project> [--json]: what a project holds.
import { resolve } from 'node:path';
import type { ProjectInfo } from '../../shared/dto';
import { projectInfo } from '../../main/store/info';
import { openProject } from '../../main/store/project';
import type { CommandSpec } from '../command';

export const infoCommand: CommandSpec = {
  name: 'info',
  summary: 'show what a project holds (images, defect types, jobs)',
  positionals: [{ name: 'project', description: 'project folder' }],
  options: {
    json: { type: 'boolean', description: 'print the summary as JSON' },
  },
  async run({ positionals, options }, io) {
    const project = openProject(resolve(io.cwd, positionals[0]!));
    try {
      const info = projectInfo(project);
      io.stdout(options.json ? JSON.stringify({ dir: project.dir, ...info }, null, 2) + '\n' : formatInfo(project.dir, info));
    } finally {
      project.close();
    }
  },
};

export function formatInfo(dir: string, info: ProjectInfo): string {
  const lines = [
    `project     ${info.name}`,
    `folder      ${dir}`,
    `created     ${info.createdAt} (DefectForge ${info.appVersion}, schema ${info.schemaVersion})`,
    `blobs       ${info.blobs.count} files, ${formatBytes(info.blobs.bytes)}`,
    `jobs        ${Object.entries(info.jobs).map(([state, n]) => `${n} ${state}`).join(', ')}`,
  ];
  if (info.categories.length === 0) lines.push('categories  none yet (defectforge import <project> <folder>)');
  for (const c of info.categories) {
    lines.push(`category    ${c.name}: ${c.trainGood} good train, ${c.testGood} good test`);
    for (const t of c.defectTypes) {
      lines.push(`  defect    ${t.name}: ${t.images} images, ${t.masks} masks, ${t.train} train / ${t.holdout} holdout`);
    }
  }
  return lines.join('\n') + '\n';
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
