// defectforge import <project> <folder> [--layout mvtec|folder|auto]: adds a dataset to a
// project. Progress goes to stderr, the report to stdout; the user's files are only read.
import { resolve } from 'node:path';
import type { ImportReport } from '../../shared/dto';
import { throttleProgress } from '../../main/api/throttle';
import { openProject } from '../../main/store/project';
import type { CliIO, CommandSpec } from '../command';

const LAYOUTS = ['auto', 'mvtec', 'folder'] as const;

export const importCommand: CommandSpec = {
  name: 'import',
  summary: 'import a dataset folder (MVTec AD layout or one folder per class) into a project',
  positionals: [
    { name: 'project', description: 'project folder' },
    { name: 'folder', description: 'dataset folder to import (read only)' },
  ],
  options: {
    layout: { type: 'string', valueName: 'layout', choices: LAYOUTS, description: 'how the folder is organised (default auto: detect)' },
    json: { type: 'boolean', description: 'print the report as JSON' },
  },
  async run({ positionals, options }, io) {
    const project = openProject(resolve(io.cwd, positionals[0]!));
    try {
      const folder = resolve(io.cwd, positionals[1]!);
      const layout = (options.layout as (typeof LAYOUTS)[number] | undefined) ?? 'auto';
      const progress = progressPrinter(io);
      // loaded here, not at start-up: it pulls in the image codecs, which other commands never need
      const { importDataset } = await import('../../main/import');
      const report = await importDataset(project, folder, { layout, onProgress: progress.update, signal: io.signal });
      progress.done();
      io.stdout(options.json ? JSON.stringify(report, null, 2) + '\n' : formatImportReport(report));
    } finally {
      project.close();
    }
  },
};

/** On a terminal one line is redrawn; otherwise (a log file, CI) a line at most every 2 s. */
function progressPrinter(io: CliIO): { update: (done: number, total: number) => void; done: () => void } {
  let drawn = false;
  const update = throttleProgress(
    (done, total) => {
      const text = `importing ${done}/${total} files`;
      if (io.stderrIsTTY) {
        io.stderr(`\r${text}`);
        drawn = true;
      } else io.stderr(`${text}\n`);
    },
    io.stderrIsTTY ? 100 : 2000,
  );
  return {
    update,
    done: () => {
      if (drawn) io.stderr('\n');
    },
  };
}

export function formatImportReport(r: ImportReport): string {
  const lines = [
    `imported ${r.images.imported} images and ${r.masks.imported} masks from ${r.folder} (layout ${r.layout}, ${r.seconds.toFixed(1)} s)`,
    `already present: ${r.images.alreadyPresent} images, ${r.masks.alreadyPresent} masks`,
    `rejected: ${r.rejected} files`,
    `categories: ${r.categories.length ? r.categories.join(', ') : 'none'}`,
  ];
  if (r.problems.length) {
    lines.push(`problems (${r.problems.length}):`);
    for (const p of r.problems) lines.push(`  ${p.severity} ${p.code} ${p.path}: ${p.message}`);
  }
  return lines.join('\n') + '\n';
}
