// What one synthetic pair is made from (its recipe), and how a job's plan turns a pair index into
// one. Everything random about a pair comes from one Rng seeded by (job seed, pair index), so a
// pair does not depend on which other pairs were made before it: a run stopped at pair 400 and
// resumed makes pairs 400.. exactly as an uninterrupted run would, and any single pair can be made
// again from its recipe alone (regenerate).
import { UserError } from '../../shared/errors';
import { Rng } from '../../shared/random';
import { deriveSeed } from '../corpus/seed';
import type { AarSettings } from '../diffusion/aar';
import type { SamplerSettings } from '../diffusion/schedulers';
import { checkImageSize } from '../models/load';
import type { Size2 } from '../models/types';
import { checkTypeMaskSource, type MaskSpec, type TypeMaskSource } from './mask-source';

export type { MaskSpec, TypeMaskSource } from './mask-source';
export { checkImageSize } from '../models/load';

/** Which vectors condition the generation of a defect type. */
export type ConditioningSpec =
  /** a learned anomaly embedding (e_a, optionally the project's spatial encoder) stored as an artifact blob */
  | { kind: 'embedding'; artifactId: number; blob: string; family?: string }
  /** a defect family the model's token table already knows ('defect:<name>:i' rows) */
  | { kind: 'model-defect'; defect: string; family?: string };

export interface NormalRef {
  imageId: number;
  blob: string;
}

/** Everything needed to make one pair, stored in its lineage. */
export interface PairRecipe {
  normal: NormalRef;
  /** the mask's source and seed (the mask is made from it; its origin goes to the lineage) */
  mask: MaskSpec;
  conditioning: ConditioningSpec;
  /** the generation seed (noise) */
  seed: number;
  sampler: SamplerSettings;
  guidance: number;
  aar: AarSettings;
  strength: number;
  /**
   * paste-back restores the normal image's detail (PasteBackSettings.restoreDetail); recipes
   * recorded before session 12 lack it and were made without: absent means off
   */
  restoreDetail?: boolean;
}

/** One defect type's share of a synthesis job: `count` pairs, indices [offset, offset + count). */
export interface SynthesisTypePlan {
  defectTypeId: number;
  /** 'category/name', for messages */
  label: string;
  count: number;
  aar: boolean;
  /** train/good images of the type's category */
  normals: NormalRef[];
  /** where the type's masks come from (its setting; learned masks pinned to one artifact) */
  maskSource: TypeMaskSource;
  conditioning: ConditioningSpec;
}

export interface SynthesisPlan {
  seed: number;
  /**
   * SD 1.x folders whose export leaves the pixel size symbolic: the size the run's model is
   * opened at (each pair's lineage records the size it was made at, for regenerate)
   */
  imageSize?: Size2;
  sampler: SamplerSettings;
  guidance: number;
  /** AAR settings apart from on/off, which is per type */
  aar: Omit<AarSettings, 'enabled'>;
  /**
   * paste-back restores the normal images' detail (PasteBackSettings.restoreDetail); new plans
   * set it, and a run stopped before it existed resumes as it began (absent: off)
   */
  restoreDetail?: boolean;
  types: SynthesisTypePlan[];
}

export function pairSeed(jobSeed: number, index: number): number {
  return deriveSeed(jobSeed, 'pair', index);
}

export function totalPairs(plan: SynthesisPlan): number {
  return plan.types.reduce((n, t) => n + t.count, 0);
}

/** The type a pair index belongs to (types take consecutive index ranges, in plan order). */
export function typeAt(plan: SynthesisPlan, index: number): SynthesisTypePlan {
  let start = 0;
  for (const t of plan.types) {
    if (index < start + t.count) return t;
    start += t.count;
  }
  throw new RangeError(`pair index ${index} is beyond the plan's ${start} pairs`);
}

/** Checks a plan before anything is generated; problems name the defect type. */
export function checkPlan(plan: SynthesisPlan): void {
  if (!Number.isInteger(plan.seed) || plan.seed < 0 || plan.seed > 0xffffffff) throw new UserError('BAD_PARAMS', `synthesis: seed must be a 32-bit unsigned integer (got ${plan.seed})`);
  if (plan.types.length === 0) throw new UserError('BAD_PARAMS', 'synthesis: no defect type to synthesize');
  if (plan.imageSize !== undefined) checkImageSize('synthesis: imageSize', plan.imageSize);
  for (const t of plan.types) {
    if (!Number.isInteger(t.count) || t.count < 1) throw new UserError('BAD_COUNT', `${t.label}: the number of pairs must be a whole number >= 1 (got ${t.count})`);
    if (t.normals.length === 0) throw new UserError('NO_NORMAL_IMAGES', `${t.label}: the category has no normal (good) training images to paint defects into`);
    checkTypeMaskSource(t.label, t.maskSource);
  }
}

/** The recipe of pair `index`: normal image, mask seed and noise seed drawn from one per-pair Rng. */
export function pairRecipe(plan: SynthesisPlan, index: number): PairRecipe {
  const type = typeAt(plan, index);
  const rng = new Rng(pairSeed(plan.seed, index));
  // fixed draw order: normal, mask seed, generation seed
  const normal = type.normals[rng.int(type.normals.length)]!;
  const maskSeed = rng.nextU32();
  const seed = rng.nextU32();
  return {
    normal,
    mask: { ...type.maskSource, defectTypeId: type.defectTypeId, seed: maskSeed },
    conditioning: type.conditioning,
    seed,
    sampler: plan.sampler,
    guidance: plan.guidance,
    aar: { ...plan.aar, enabled: type.aar },
    strength: 1,
    ...(plan.restoreDetail === true ? { restoreDetail: true } : {}),
  };
}
