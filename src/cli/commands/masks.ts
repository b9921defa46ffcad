// defectforge masks <project> --type <category/name> [--learn [--steps N]] [--count N --out dir]
//   [--source learned|real|perlin|drawn] [--seed S] [--size WxH] [--model dir] [--json]
// --learn trains the type's mask embedding as a 'learn-mask' job (engine process, resumable with
// --resume); --count/--out writes N masks from the chosen source as PNGs (0/255) plus masks.json
// with each mask's origin. Mask i uses seed S + i, so one mask can be made again on its own.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../../shared/errors';
import type { LearnMaskMethodResult, LearnMaskParams } from '../../engine/host/methods/learn-protocol';
import { findDefectType } from '../../engine/anomaly/training-set';
import { MASK_SOURCE_KINDS, type MaskSourceKind } from '../../engine/anomaly/mask-sources';
import { openMaskSource } from '../../engine/anomaly/project-mask-source';
import { DEFAULT_MASK_SAMPLING } from '../../engine/anomaly/mask-sampling';
import { latestMaskEmbedding } from '../../engine/anomaly/learn-mask';
import { writeFileAtomic } from '../../engine/autodiff/checkpoint';
import { encodePng } from '../../engine/imaging';
import { readBuiltinManifest } from '../../engine/models/builtin/load';
import { openProject } from '../../main/store/project';
import type { CommandSpec } from '../command';
import { describeTrainingProgress, optionInteger, optionNumber, optionString, runProjectJob } from './train';
import { defaultModelDir } from '../../main/default-model';

export const masksCommand: CommandSpec = {
  name: 'masks',
  summary: 'learn a defect type\'s masks, or write new masks (learned, real, Perlin or drawn)',
  positionals: [{ name: 'project', description: 'project folder' }],
  options: {
    type: { type: 'string', valueName: 'category/name', description: 'the defect type [required]' },
    learn: { type: 'boolean', description: 'train the type\'s mask embedding' },
    steps: { type: 'string', valueName: 'n', description: 'with --learn: training steps (default 500)' },
    resume: { type: 'boolean', description: 'with --learn: continue the newest unfinished run' },
    count: { type: 'string', valueName: 'n', description: 'number of masks to write' },
    out: { type: 'string', valueName: 'dir', description: 'folder for the masks (with --count)' },
    source: { type: 'string', valueName: 'kind', choices: MASK_SOURCE_KINDS, description: 'where masks come from (default: learned when a mask embedding exists, else real)' },
    seed: { type: 'string', valueName: 'n', description: 'seed of the first mask (default 0)' },
    size: { type: 'string', valueName: 'WxH', description: 'mask size (default: the model\'s image size)' },
    'sampling-steps': { type: 'string', valueName: 'n', description: 'learned masks: DDIM steps (default 100)' },
    guidance: { type: 'string', valueName: 'x', description: 'learned masks: guidance scale (default 5)' },
    model: { type: 'string', valueName: 'dir', description: 'model package (default: the installed default model)' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  async run(args, io) {
    const typeSpec = optionString(args, 'type');
    if (!typeSpec) throw new UserError('BAD_ARGS', '--type is required (category/name; see defectforge masks --help)');
    const count = optionInteger(args, 'count', 1);
    const outArg = optionString(args, 'out');
    if (!args.options.learn && count === undefined) throw new UserError('BAD_ARGS', 'nothing to do: give --learn, or --count N --out <dir>');
    if (count !== undefined && !outArg) throw new UserError('BAD_ARGS', '--count needs --out <dir>');
    const project = openProject(resolve(io.cwd, args.positionals[0]!));
    try {
      const type = findDefectType(project, typeSpec);
      const modelOption = optionString(args, 'model');
      const modelDir = (): string => (modelOption ? resolve(io.cwd, modelOption) : defaultModelDir());
      const report: Record<string, unknown> = { defectType: type.label };
      if (args.options.learn) {
        const params: LearnMaskParams = { project: project.dir, type: type.label, model: modelDir() };
        const steps = optionInteger(args, 'steps', 1);
        if (steps !== undefined) params.steps = steps;
        const seed = optionInteger(args, 'seed', 0);
        if (seed !== undefined) params.seed = seed;
        if (args.options.resume) params.resume = true;
        const learned = await runProjectJob<LearnMaskMethodResult>(project, 'learn-mask', params, io, describeTrainingProgress);
        report['learned'] = learned;
        if (!args.options.json) io.stdout(`${type.label}: mask embedding version ${learned.version} (artifact ${learned.artifactId}), final loss ${learned.finalLoss.toFixed(5)}\n`);
      }
      if (count !== undefined) {
        const kind = (optionString(args, 'source') as MaskSourceKind | undefined) ?? (latestMaskEmbedding(project, type.id) ? 'learned' : 'real');
        const sizeText = optionString(args, 'size');
        const size = await maskSize(sizeText, sizeText === undefined ? modelDir() : undefined);
        const sampling = { ...DEFAULT_MASK_SAMPLING };
        const samplingSteps = optionInteger(args, 'sampling-steps', 1);
        if (samplingSteps !== undefined) sampling.steps = samplingSteps;
        const guidance = optionNumber(args, 'guidance');
        if (guidance !== undefined) sampling.guidance = guidance;
        const opened = await openMaskSource(project, type, kind, { ...(kind === 'learned' ? { modelDir: modelDir() } : {}), sampling });
        const out = resolve(io.cwd, outArg!);
        mkdirSync(out, { recursive: true });
        const first = optionInteger(args, 'seed', 0) ?? 0;
        const written: { file: string; origin: unknown }[] = [];
        try {
          for (let i = 0; i < count; i++) {
            if (io.signal.aborted) throw new UserError('CANCELLED', `cancelled after ${i} masks`);
            const mask = await opened.source.next({ width: size.width, height: size.height, seed: first + i, signal: io.signal });
            const file = join(out, `${type.name}-${String(i).padStart(4, '0')}.png`);
            await writeFileAtomic(file, await encodePng({ width: mask.width, height: mask.height, channels: 1, data: mask.data }));
            written.push({ file, origin: mask.origin });
          }
        } finally {
          await opened.release();
        }
        const listing = join(out, 'masks.json');
        await writeFileAtomic(listing, Buffer.from(JSON.stringify({ defectType: type.label, source: kind, size, masks: written }, null, 2)));
        report['written'] = { source: kind, count: written.length, folder: out, listing };
        if (!args.options.json) io.stdout(`${written.length} ${kind} mask(s) written to ${out}\n`);
      }
      if (args.options.json) io.stdout(JSON.stringify(report, null, 2) + '\n');
    } finally {
      project.close();
    }
  },
};

async function maskSize(text: string | undefined, modelDir: string | undefined): Promise<{ width: number; height: number }> {
  if (text !== undefined) {
    const m = /^(\d+)x(\d+)$/.exec(text.trim());
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UserError('BAD_ARGS', `--size must be WxH in pixels, e.g. 256x256 (got ${JSON.stringify(text)})`);
    return { width: Number(m[1]), height: Number(m[2]) };
  }
  return { ...(await readBuiltinManifest(modelDir!)).imageSize };
}
