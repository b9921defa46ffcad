// defectforge regenerate <project> <sample> [--model dir] [--json]: makes a sample again from its
// lineage and says whether it is bit-identical to the stored one (exit 0), or not (exit 1).
import path from 'node:path';
import { appVersion } from '../../main/store/app-version';
import { openProject } from '../../main/store/project';
import { UserError } from '../../shared/errors';
import type { CommandSpec } from '../command';
import { wholeNumber } from './augment';

export function sampleIdArg(text: string): number {
  const id = wholeNumber('sample', text, 1);
  if (id === undefined) throw new UserError('BAD_ARGS', 'missing <sample>');
  return id;
}

export const regenerateCommand: CommandSpec = {
  name: 'regenerate',
  summary: 'make a synthetic sample again from its lineage and check that it is bit-identical',
  positionals: [
    { name: 'project', description: 'project folder' },
    { name: 'sample', description: 'sample id' },
  ],
  options: {
    model: { type: 'string', valueName: 'dir', description: 'the model folder (default: where the project last saw the recorded model)' },
    json: { type: 'boolean', description: 'print the report as JSON' },
  },
  async run({ positionals, options }, io) {
    const sampleId = sampleIdArg(positionals[1]!);
    const project = openProject(path.resolve(io.cwd, positionals[0]!));
    try {
      const { regenerateSample } = await import('../../engine/synthesis/regenerate');
      const report = await regenerateSample(project, sampleId, {
        appVersion: appVersion(),
        signal: io.signal,
        ...(typeof options.model === 'string' ? { model: path.resolve(io.cwd, options.model) } : {}),
      });
      if (options.json) io.stdout(JSON.stringify(report, null, 2) + '\n');
      else {
        io.stdout(
          [
            `sample ${sampleId}: ${report.identical ? 'bit-identical' : 'DIFFERENT'}`,
            `image ${report.image.identical ? 'same' : 'differs'}: stored ${report.image.stored.slice(0, 16)}, regenerated ${report.image.regenerated.slice(0, 16)}`,
            `mask  ${report.mask.identical ? 'same' : 'differs'}: stored ${report.mask.stored.slice(0, 16)}, regenerated ${report.mask.regenerated.slice(0, 16)}`,
            `model ${report.model.path} (${report.model.contentHash.slice(0, 12)}); ${report.seconds.toFixed(1)} s`,
            `recorded: ${report.recorded.executionProvider}, onnxruntime ${report.recorded.onnxruntime}, app ${report.recorded.app}; now: ${report.current.executionProvider}, onnxruntime ${report.current.onnxruntime}, app ${report.current.app}`,
          ].join('\n') + '\n',
        );
      }
      if (!report.identical) throw new UserError('NOT_IDENTICAL', `sample ${sampleId}: the regenerated ${report.image.identical ? 'mask' : 'image'} differs from the stored one`);
    } finally {
      project.close();
    }
  },
};
