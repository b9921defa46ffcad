// What few-shot learning reads from a project: the defect type named on the command line or in a
// job, its training pairs (images with defect_split = 'train' and their masks, decoded and
// checked), a normal image of the same category for previews, and the masks users drew.
// Only reads: a bad pair fails with a UserError naming the image's file and the problem, before
// any training starts, so the project is left as it was.

import { UserError } from '../../shared/errors';
import type { Project } from '../../main/store/project';
import { binariseMask, decodeImage, type RawImage } from '../imaging';

export interface DefectTypeRef {
  id: number;
  category: string;
  name: string;
  /** 'category/name', as users write it */
  label: string;
}

export interface TrainingPair {
  imageId: number;
  /** the file the image was imported from (or its blob), for messages */
  source: string;
  image: RawImage;
  /** 0 / 255 at the image's size: the union of the image's masks */
  mask: Uint8Array;
  maskIds: number[];
}

/** 'category/name' (or a bare name when only one category has it) -> the type's row. */
export function findDefectType(project: Project, spec: string): DefectTypeRef {
  const text = spec.trim();
  if (text === '') throw new UserError('BAD_ARGS', 'a defect type is required (category/name)');
  const slash = text.lastIndexOf('/');
  const rows = (
    slash >= 0
      ? project.db.prepare('SELECT id, category, name FROM defect_types WHERE category = ? AND name = ?').all(text.slice(0, slash), text.slice(slash + 1))
      : project.db.prepare('SELECT id, category, name FROM defect_types WHERE name = ?').all(text)
  ) as { id: number; category: string; name: string }[];
  if (rows.length === 0) {
    const known = (project.db.prepare("SELECT category || '/' || name AS label FROM defect_types ORDER BY category, name").pluck().all() as string[]).join(', ');
    throw new UserError('DEFECT_TYPE_NOT_FOUND', `${project.dir}: no defect type '${text}'; known: ${known || 'none (import a dataset first)'}`);
  }
  if (rows.length > 1) throw new UserError('DEFECT_TYPE_AMBIGUOUS', `${project.dir}: '${text}' names a defect type in ${rows.length} categories (${rows.map((r) => r.category).join(', ')}); write category/name`);
  const r = rows[0]!;
  return { ...r, label: `${r.category}/${r.name}` };
}

async function decodeBlob(project: Project, hash: string, what: string): Promise<RawImage> {
  return decodeImage(project.blobs.read(hash), what);
}

/**
 * The type's training pairs, in image id order. Images of the training split without any mask
 * are skipped (reported in `skipped`); no pair at all, an empty mask, or a mask whose size is not
 * the image's are UserErrors.
 */
export async function loadTrainingPairs(project: Project, type: DefectTypeRef): Promise<{ pairs: TrainingPair[]; skipped: string[] }> {
  const images = project.db
    .prepare(
      `SELECT id, blob_hash AS hash, source_path AS source, width, height FROM images
        WHERE defect_type_id = ? AND defect_split = 'train' AND origin = 'real' ORDER BY id`,
    )
    .all(type.id) as { id: number; hash: string; source: string | null; width: number; height: number }[];
  if (images.length === 0) throw new UserError('NO_TRAINING_IMAGES', `${type.label}: the defect type has no training images (defect_split 'train'); import defect images or raise its training count`);
  const maskQuery = project.db.prepare("SELECT id, blob_hash AS hash, source_path AS source FROM masks WHERE image_id = ? AND source IN ('imported', 'drawn') ORDER BY id");
  const pairs: TrainingPair[] = [];
  const skipped: string[] = [];
  for (const img of images) {
    const source = img.source ?? `image ${img.id} (blob ${img.hash.slice(0, 12)})`;
    const masks = maskQuery.all(img.id) as { id: number; hash: string; source: string | null }[];
    if (masks.length === 0) {
      skipped.push(source);
      continue;
    }
    const image = await decodeBlob(project, img.hash, source);
    const union = new Uint8Array(image.width * image.height);
    for (const m of masks) {
      const maskSource = m.source ?? `mask ${m.id} of ${source}`;
      const { mask, areaPx } = binariseMask(await decodeBlob(project, m.hash, maskSource));
      if (mask.width !== image.width || mask.height !== image.height) {
        throw new UserError('MASK_SIZE', `${maskSource}: the mask is ${mask.width}x${mask.height} but its image ${source} is ${image.width}x${image.height}`);
      }
      if (areaPx === 0) throw new UserError('MASK_EMPTY', `${maskSource}: the mask of ${source} marks no defect pixel; redraw it or remove the image from the training split`);
      for (let k = 0; k < union.length; k++) if (mask.data[k]) union[k] = 255;
    }
    pairs.push({ imageId: img.id, source, image, mask: union, maskIds: masks.map((m) => m.id) });
  }
  if (pairs.length === 0) {
    throw new UserError('NO_MASKS', `${type.label}: none of its ${images.length} training images has a mask; draw or import masks first (learning needs to know where the defect is)`);
  }
  return { pairs, skipped };
}

/** The first good image of the category (training split first), or undefined. */
export async function loadNormalImage(project: Project, category: string): Promise<{ image: RawImage; imageId: number } | undefined> {
  const row = project.db
    .prepare("SELECT id, blob_hash AS hash, source_path AS source FROM images WHERE category = ? AND defect_type_id IS NULL ORDER BY split = 'train' DESC, id LIMIT 1")
    .get(category) as { id: number; hash: string; source: string | null } | undefined;
  if (!row) return undefined;
  return { image: await decodeBlob(project, row.hash, row.source ?? `image ${row.id}`), imageId: row.id };
}

/** Masks users drew for the type's images: 0 / 255 at their image's size. */
export async function loadDrawnMasks(project: Project, type: DefectTypeRef): Promise<{ maskId: number; width: number; height: number; data: Uint8Array }[]> {
  const rows = project.db
    .prepare(
      `SELECT m.id, m.blob_hash AS hash FROM masks m JOIN images i ON i.id = m.image_id
        WHERE i.defect_type_id = ? AND m.source = 'drawn' ORDER BY m.id`,
    )
    .all(type.id) as { id: number; hash: string }[];
  const out = [];
  for (const r of rows) {
    const { mask, areaPx } = binariseMask(await decodeBlob(project, r.hash, `drawn mask ${r.id}`));
    if (areaPx > 0) out.push({ maskId: r.id, width: mask.width, height: mask.height, data: mask.data });
  }
  return out;
}
