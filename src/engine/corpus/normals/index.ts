// The registry of normal (defect-free) families and `generateNormal`.

import type { Rng } from '../../../shared/random';
import { UserError } from '../../../shared/errors';
import { CAPSULE_FAMILY } from './capsule';
import { LABEL_FAMILY } from './label';
import { METAL_FAMILIES } from './metal';
import { NATURAL_FAMILIES } from './natural';
import { PART_FAMILIES } from './parts';
import { TEXTILE_FAMILIES } from './textiles';
import { TILE_FAMILY } from './tile';
import type { NormalFamilyDef, NormalSample } from './types';

export type { Material, NormalFamilyDef, NormalSample } from './types';

/** Image side in pixels of every corpus image. */
export const CORPUS_SIZE = 256;

const DEFS: NormalFamilyDef[] = [...TEXTILE_FAMILIES, ...NATURAL_FAMILIES, ...METAL_FAMILIES, TILE_FAMILY, LABEL_FAMILY, ...PART_FAMILIES, CAPSULE_FAMILY];

const BY_NAME = new Map(DEFS.map((d) => [d.name, d]));

export function normalFamilyDef(name: string): NormalFamilyDef {
  const def = BY_NAME.get(name);
  if (!def) throw new UserError('corpus-unknown-family', `unknown normal family '${name}'; known: ${[...BY_NAME.keys()].join(', ')}`);
  return def;
}

export const NORMAL_FAMILY_NAMES: readonly string[] = DEFS.map((d) => d.name);

/** Renders one defect-free image of `family` (256x256 RGB) from `rng`. */
export function generateNormal(family: string, rng: Rng): NormalSample {
  return normalFamilyDef(family).render(rng, CORPUS_SIZE);
}
