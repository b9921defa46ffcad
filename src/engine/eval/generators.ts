// THE registry of training sources `defectforge eval --generators` accepts. 'none' trains the
// inspector on the real training defects only; every other entry is a DefectGenerator
// (./generator.ts). The diffusion generator plugs in here when the synthesis issue lands: replace
// its `create` with one that loads the project's trained anomaly embeddings and returns a
// DefectGenerator.
import { UserError } from '../../shared/errors';
import { createCutPaste, createPerlinAnomalies, renderTextures } from '../baselines';
import type { DefectGenerator, GeneratorContext } from './generator';

export interface SourceEntry {
  name: string;
  description: string;
  /** absent for 'none' (real training defects only) and for unavailable entries */
  create?: (ctx: GeneratorContext) => DefectGenerator | Promise<DefectGenerator>;
  /** why the entry cannot be used yet (a UserError when asked for) */
  unavailable?: string;
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
    description: 'AnomalyDiffusion (spatial anomaly embeddings + blended denoising)',
    unavailable:
      "generator 'diffusion' is not available yet: few-shot learning and synthesis land with the synthesis issue; it registers in src/engine/eval/generators.ts",
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
