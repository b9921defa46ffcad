// defectforge lineage <project> <sample> [--json]: where a synthetic sample came from.
import path from 'node:path';
import { openProject } from '../../main/store/project';
import { getSample } from '../../main/store/samples';
import type { CommandSpec } from '../command';
import { sampleIdArg } from './regenerate';

export const lineageCommand: CommandSpec = {
  name: 'lineage',
  summary: 'print the lineage of a synthetic sample (inputs, model, seed, settings, versions)',
  positionals: [
    { name: 'project', description: 'project folder' },
    { name: 'sample', description: 'sample id' },
  ],
  options: { json: { type: 'boolean', description: 'print it as JSON' } },
  async run({ positionals, options }, io) {
    const sampleId = sampleIdArg(positionals[1]!);
    const project = openProject(path.resolve(io.cwd, positionals[0]!));
    try {
      const s = getSample(project, sampleId);
      if (options.json) {
        io.stdout(JSON.stringify(s, null, 2) + '\n');
        return;
      }
      const l = s.lineage;
      const lines = [
        `sample ${s.id}: ${s.category}/${s.defectType}, job ${s.jobId} pair ${s.indexInJob}, ${s.generator}, ${s.createdAt}`,
        `image ${s.imageBlob}`,
        `mask  ${s.maskBlob}`,
      ];
      if (!l) lines.push('no lineage recorded');
      else {
        const sampler = l.sampler as { generation?: { sampler?: unknown; guidanceScale?: number; aar?: { enabled?: boolean } }; conditioning?: unknown; model?: { name?: string; path?: string } };
        lines.push(
          `normal image ${l.normalImageId}`,
          `mask ${l.maskOrigin} ${JSON.stringify(l.maskSource)}`,
          `artifacts ${l.artifactIds.length ? l.artifactIds.join(', ') : 'none'}; conditioning ${JSON.stringify(sampler.conditioning ?? null)}`,
          `model ${sampler.model?.name ?? '?'} ${l.modelHash ?? '?'} (${sampler.model?.path ?? 'path unknown'})`,
          `seed ${l.seed}; sampler ${JSON.stringify(sampler.generation?.sampler ?? null)}; guidance ${sampler.generation?.guidanceScale ?? '?'}; AAR ${sampler.generation?.aar?.enabled ? 'on' : 'off'}`,
          `${l.executionProvider}, onnxruntime ${l.onnxruntimeVersion}, app ${l.appVersion}`,
        );
      }
      io.stdout(lines.join('\n') + '\n');
    } finally {
      project.close();
    }
  },
};
