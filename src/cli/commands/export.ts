// defectforge export <project> --out <dir> [--format ...] [--types ...] [--per-type N]: exports
// the synthetic pairs already in the project (no synthesis) with the real images they go with.
import path from 'node:path';
import { EXPORT_FORMATS, exportDataset, parseFormats } from '../../engine/export';
import { openProject } from '../../main/store/project';
import { typeSamples } from '../../main/store/samples';
import { UserError } from '../../shared/errors';
import type { CommandSpec } from '../command';
import { listOption, wholeNumber } from './augment';

export const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'export the synthetic pairs of a project (MVTec AD, anomalib Folder, COCO, YOLO) with a lineage manifest',
  positionals: [{ name: 'project', description: 'project folder' }],
  options: {
    out: { type: 'string', valueName: 'dir', description: 'output folder, must not exist [required]' },
    format: { type: 'string', valueName: 'list', description: `formats, comma-separated: ${EXPORT_FORMATS.join(', ')} (default mvtec)` },
    types: { type: 'string', valueName: 'list', description: 'defect types, comma-separated (default: all)' },
    'per-type': { type: 'string', valueName: 'n', description: 'at most this many pairs per type, oldest first (default: all)' },
    json: { type: 'boolean', description: 'print the summary as JSON' },
  },
  async run({ positionals, options }, io) {
    const out = typeof options.out === 'string' && options.out !== '' ? path.resolve(io.cwd, options.out) : undefined;
    if (out === undefined) throw new UserError('BAD_ARGS', '--out is required (see defectforge export --help)');
    const formats = parseFormats(typeof options.format === 'string' ? options.format : 'mvtec');
    const limit = wholeNumber('per-type', typeof options['per-type'] === 'string' ? options['per-type'] : undefined, 1) ?? -1;
    const project = openProject(path.resolve(io.cwd, positionals[0]!));
    try {
      const { collectExportSet, resolveTypes } = await import('../../main/augment');
      const types = resolveTypes(project, listOption(typeof options.types === 'string' ? options.types : undefined));
      const samples = types.flatMap((t) => typeSamples(project, t.id, null, limit));
      const summary = await exportDataset(await collectExportSet(project, types, samples), out, formats);
      io.stdout(
        options.json
          ? JSON.stringify(summary, null, 2) + '\n'
          : `exported ${summary.formats.join(', ')} to ${summary.out}: ${summary.synthetic} synthetic pairs, ${summary.trainGood} real normal and ${summary.test} real test images\n`,
      );
    } finally {
      project.close();
    }
  },
};
