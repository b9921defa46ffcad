// The public catalogue: which normal families exist, which defect families exist, and which
// defects suit which surfaces (as in MVTec AD, where each category has its own defect types).

import type { Rng } from '../../shared/random';
import { UserError } from '../../shared/errors';
import { BLOB_DEFECTS } from './defects/blobs';
import { LINE_DEFECTS } from './defects/lines';
import { applyDefectFamily, makeContext } from './defects/pipeline';
import type { DefectInput } from './defects/pipeline';
import { STRUCTURAL_DEFECTS } from './defects/structural';
import type { DefectFamilyDef, DefectResult } from './defects/types';
import { NORMAL_FAMILY_NAMES, normalFamilyDef } from './normals';
import type { Material } from './normals';

const DEFECT_DEFS: DefectFamilyDef[] = [...LINE_DEFECTS, ...BLOB_DEFECTS, ...STRUCTURAL_DEFECTS];
const DEFECT_BY_NAME = new Map(DEFECT_DEFS.map((d) => [d.name, d]));

/** Defect families per normal family. */
const SUITS: Record<string, readonly string[]> = {
  fabric: ['hole', 'stain', 'color_spot', 'cut', 'fold', 'glue'],
  carpet: ['hole', 'stain', 'color_spot', 'cut', 'bent_wire'],
  wire_mesh: ['bent_wire', 'glue', 'color_spot', 'stain'],
  wood: ['scratch', 'crack', 'hole', 'stain', 'color_spot', 'glue'],
  leather: ['scratch', 'cut', 'fold', 'stain', 'color_spot', 'glue', 'hole'],
  concrete: ['crack', 'hole', 'stain', 'color_spot', 'scratch'],
  brushed_metal: ['scratch', 'stain', 'glue', 'color_spot', 'hole'],
  cast_metal: ['scratch', 'crack', 'hole', 'glue', 'color_spot'],
  tile: ['crack', 'scratch', 'stain', 'glue', 'color_spot', 'hole'],
  label: ['print_defect', 'stain', 'fold', 'scratch', 'color_spot'],
  screw_head: ['scratch', 'cut', 'color_spot', 'stain'],
  bottle_top: ['crack', 'cut', 'stain', 'glue', 'color_spot'],
  hex_nut: ['scratch', 'cut', 'color_spot', 'glue'],
  capsule: ['crack', 'cut', 'color_spot', 'print_defect', 'scratch'],
};

export interface NormalFamilyInfo {
  name: string;
  kind: 'texture' | 'object';
  /** defect families that suit this surface */
  defects: readonly string[];
}

export interface DefectFamilyInfo {
  name: string;
  defaultArea: readonly [number, number];
  /** normal families this defect suits */
  suits: readonly string[];
}

export const NORMAL_FAMILIES: readonly NormalFamilyInfo[] = NORMAL_FAMILY_NAMES.map((name) => ({ name, kind: normalFamilyDef(name).kind, defects: SUITS[name] ?? [] }));

export const DEFECT_FAMILIES: readonly DefectFamilyInfo[] = DEFECT_DEFS.map((d) => ({
  name: d.name,
  defaultArea: d.defaultArea,
  suits: NORMAL_FAMILY_NAMES.filter((n) => (SUITS[n] ?? []).includes(d.name)),
}));

export function defectFamilyDef(name: string): DefectFamilyDef {
  const def = DEFECT_BY_NAME.get(name);
  if (!def) throw new UserError('corpus-unknown-defect', `unknown defect family '${name}'; known: ${[...DEFECT_BY_NAME.keys()].join(', ')}`);
  return def;
}

export interface ApplyDefectOptions {
  /** [min, max] area of the defect as fractions of the image; default: the family's range */
  areaRange?: readonly [number, number];
}

const DEFAULT_MATERIAL: Material = { scratchTone: 'bright', gloss: 0.3 };

/**
 * Paints a defect of `defectFamily` into a normal image. Returns the new image and the mask
 * (0/255) of exactly the pixels that visibly changed; outside the mask the image equals the
 * input byte for byte. With a foreground mask, the defect stays on the object. `normal.family`
 * (when it names a known family) selects material-aware looks, e.g. bright vs dark scratches.
 */
export function applyDefect(defectFamily: string, normal: DefectInput & { family?: string }, rng: Rng, options: ApplyDefectOptions = {}): DefectResult {
  const def = defectFamilyDef(defectFamily);
  const material = normal.family !== undefined && NORMAL_FAMILY_NAMES.includes(normal.family) ? normalFamilyDef(normal.family).material : DEFAULT_MATERIAL;
  const ctx = makeContext(normal, material);
  return applyDefectFamily(def, ctx, normal.image.data, rng, options.areaRange ?? def.defaultArea);
}
