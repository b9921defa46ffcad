// THE registry of training sources `defectforge eval --generators` accepts. 'none' trains the
// inspector on the real training defects only; every other entry is a DefectGenerator
// (./generator.ts): the baselines, and 'diffusion' (./generator-diffusion.ts), which learns from
// the project and is loaded only when asked for.
import { UserError } from '../../shared/errors';
import { createCutPaste, createPerlinAnomalies, renderTextures } from '../baselines';
import type { DefectGenerator, GeneratorContext, GeneratorRun } from './generator';
import { diffusionModelDir } from './generator-diffusion-model';

export interface SourceEntry {
  name: string;
  description: string;
  /** absent for 'none' (real training defects only) and for unavailable entries */
  create?: (ctx: GeneratorContext) => DefectGenerator | Promise<DefectGenerator>;
  /** why the entry cannot be used yet (a UserError when asked for) */
  unavailable?: string;
  /** checks what the generator needs from the run before any inspector trains (throws a UserError) */
  preflight?: (run: Pick<GeneratorRun, 'project' | 'category' | 'model'>) => void;
}

export const TRAINING_SOURCES: readonly SourceEntry[] = [
  { name: 'none', description: 'no synthesis: the few real training defects (first third of each type), mirrored' },
  {
    name: 'cutpaste',
    description: 'crop-and-paste: real defect regions cut by their masks, flipped, rotated, scaled and pasted with a feathered seam',
    create: (ctx) => createCutPaste(ctx.trainDefects),
  },
  {
    name: 'perlin',
    description: 'DRAEM-style Perlin anomalies: thresholded Perlin-noise masks filled with a foreign procedural texture, beta in [0.1, 1)',
    create: (ctx) => createPerlinAnomalies(renderTextures(['wood', 'fabric', 'carpet', 'concrete', 'leather', 'tile'], ctx.seed, ctx.width, ctx.height)),
  },
  {
    name: 'diffusion',
    description: "AnomalyDiffusion: each type's learned anomaly embedding + spatial encoder (learnt first where missing), its mask source, blended denoising with AAR",
    create: async (ctx) => (await import('./generator-diffusion')).createDiffusionGenerator(ctx),
    preflight: (run) => void diffusionModelDir(run),
  },
];

export function findSource(name: string): SourceEntry {
  const entry = TRAINING_SOURCES.find((s) => s.name === name);
  if (!entry) throw new UserError('BAD_ARGS', `unknown generator '${name}'; known: ${TRAINING_SOURCES.map((s) => s.name).join(', ')}`);
  return entry;
}

/** Parses a comma-separated list, checking names, duplicates and availability. */
export function parseSources(list: string): SourceEntry[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new UserError('BAD_ARGS', '--generators needs at least one name');
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new UserError('BAD_ARGS', `--generators lists '${dup}' twice`);
  const entries = names.map(findSource);
  for (const e of entries) if (e.unavailable) throw new UserError('GENERATOR_NOT_AVAILABLE', e.unavailable);
  return entries;
}
