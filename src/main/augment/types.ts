// Choosing the defect types of an augmentation from the user's words ('category/name', or a bare
// name when only one category has it) and checking that each can be synthesized: it has masks on
// its training images, its category has normal training images to paint into, and its mask source
// has masks to give. A type's mask source and foreground constraint are its settings
// (defect_types.settings_json: "maskSource": learned | real | perlin | drawn, default real;
// "foreground": none | otsu, default none).
import { MASK_SOURCE_KINDS, type MaskSourceKind } from '../../engine/anomaly/mask-sources';
import { FOREGROUND_MODES, type ForegroundMode } from '../../engine/synthesis/mask-source';
import { UserError } from '../../shared/errors';
import type { Project } from '../store/project';
import { parseSettings } from '../store/queries/defect-types';

export interface AugmentType {
  id: number;
  category: string;
  name: string;
  /** 'category/name' */
  label: string;
  aar: boolean;
  maskSource: MaskSourceKind;
  foreground: ForegroundMode;
}

interface TypeRow {
  id: number;
  category: string;
  name: string;
  settings_json: string;
}

function allTypes(project: Project): TypeRow[] {
  return project.db.prepare('SELECT id, category, name, settings_json FROM defect_types ORDER BY category, name').all() as TypeRow[];
}

/** A stored setting among `allowed` (absent: the default); anything else is an error naming the type. */
function choice<T extends string>(label: string, stored: Record<string, unknown>, key: string, allowed: readonly T[], fallback: T): T {
  const v = stored[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    throw new UserError('BAD_TYPE_SETTINGS', `${label}: the setting ${key} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  }
  return v as T;
}

function storedSettings(json: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(json);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const toType = (r: TypeRow): AugmentType => {
  const label = `${r.category}/${r.name}`;
  const stored = storedSettings(r.settings_json);
  return {
    id: r.id,
    category: r.category,
    name: r.name,
    label,
    aar: parseSettings(r.id, r.settings_json).aar,
    maskSource: choice(label, stored, 'maskSource', MASK_SOURCE_KINDS, 'real'),
    foreground: choice(label, stored, 'foreground', FOREGROUND_MODES, 'none'),
  };
};

/** The named types (all types when `names` is undefined), in catalogue order, without repeats. */
export function resolveTypes(project: Project, names?: readonly string[]): AugmentType[] {
  const rows = allTypes(project);
  if (rows.length === 0) throw new UserError('NO_DEFECT_TYPES', `${project.dir}: the project has no defect types; import a dataset with defect images and masks first`);
  if (names === undefined) return rows.map(toType);
  if (names.length === 0) throw new UserError('BAD_ARGS', '--types names no defect type');
  const chosen = new Map<number, TypeRow>();
  for (const raw of names) {
    const name = raw.trim();
    const slash = name.lastIndexOf('/');
    const matches = slash >= 0 ? rows.filter((r) => r.category === name.slice(0, slash) && r.name === name.slice(slash + 1)) : rows.filter((r) => r.name === name);
    if (matches.length === 0) {
      throw new UserError('UNKNOWN_DEFECT_TYPE', `unknown defect type ${JSON.stringify(name)}; known: ${rows.map((r) => `${r.category}/${r.name}`).join(', ')}`);
    }
    if (matches.length > 1) {
      throw new UserError('AMBIGUOUS_DEFECT_TYPE', `defect type ${JSON.stringify(name)} exists in several categories (${matches.map((r) => r.category).join(', ')}); write it as category/name`);
    }
    chosen.set(matches[0]!.id, matches[0]!);
  }
  return rows.filter((r) => chosen.has(r.id)).map(toType);
}

export interface TypeMaterial {
  normals: { imageId: number; blob: string }[];
  masks: { maskId: number; imageId: number; blob: string }[];
  /** masks drawn on the type's images (the 'drawn' mask source) */
  drawnMasks: number;
}

/** The normal training images of the type's category and the masks of the type's training images, by id. */
export function typeMaterial(project: Project, type: AugmentType): TypeMaterial {
  const normals = project.db
    .prepare(
      `SELECT id AS imageId, blob_hash AS blob FROM images
        WHERE category = ? AND split = 'train' AND defect_type_id IS NULL AND origin = 'real' ORDER BY id`,
    )
    .all(type.category) as TypeMaterial['normals'];
  const masks = project.db
    .prepare(
      `SELECT m.id AS maskId, m.image_id AS imageId, m.blob_hash AS blob FROM masks m JOIN images i ON i.id = m.image_id
        WHERE i.defect_type_id = ? AND i.defect_split = 'train' AND i.origin = 'real' ORDER BY m.id`,
    )
    .all(type.id) as TypeMaterial['masks'];
  const drawnMasks = (
    project.db.prepare("SELECT count(*) AS n FROM masks m JOIN images i ON i.id = m.image_id WHERE i.defect_type_id = ? AND m.source = 'drawn'").get(type.id) as { n: number }
  ).n;
  return { normals, masks, drawnMasks };
}

/** Refuses types that cannot be synthesized, naming each problem. */
export function checkMaterial(type: AugmentType, material: TypeMaterial): void {
  if (material.masks.length === 0) {
    throw new UserError('NO_MASKS', `${type.label}: the defect type has no masks on its training images; import masks (MVTec ground_truth) or draw some first`);
  }
  if (material.normals.length === 0) {
    throw new UserError('NO_NORMAL_IMAGES', `${type.label}: category '${type.category}' has no normal (good) training images to paint defects into`);
  }
  if (type.maskSource === 'drawn' && material.drawnMasks === 0) {
    throw new UserError('NO_DRAWN_MASKS', `${type.label}: its mask source is 'drawn' but nobody drew a mask for it yet; draw some in the mask editor or choose another mask source`);
  }
}
