// The evaluation data of one category, read from a project and brought to the working
// resolution: good training images (the inspector's normals), the first third of each defect
// type (training defects: the 'none' source and the cut-paste material) and the test set
// (test/good + each type's held-out two thirds).
import type { Database } from 'better-sqlite3';
import { UserError } from '../../shared/errors';
import type { DefectExample, ProjectPicture } from './generator';
import { loadMask, loadPicture, type Mask, type Picture } from './picture';

/** The blob reader of a project store (the subset evaluation needs). */
export interface BlobReader {
  read(hash: string): Uint8Array;
  path(hash: string): string;
}

export interface TestImage {
  imageId: number;
  /** null for good images */
  defectType: string | null;
  picture: Picture;
  /** empty for good images */
  mask: Mask;
  sourcePath: string;
}

export interface CategoryData {
  category: string;
  width: number;
  height: number;
  /** aspect ratio (width / height) of the source images */
  sourceAspect: number;
  trainGood: ProjectPicture[];
  trainDefects: DefectExample[];
  test: TestImage[];
  defectTypes: string[];
}

interface ImageRow {
  id: number;
  blob_hash: string;
  split: 'train' | 'test';
  type_name: string | null;
  defect_split: 'train' | 'holdout' | null;
  source_path: string | null;
  width: number;
  height: number;
}

export function listCategories(db: Database): string[] {
  return (db.prepare("SELECT DISTINCT category FROM images WHERE origin = 'real' ORDER BY category").pluck().all() as string[]);
}

/** The category to evaluate: the one asked for, or the project's only one. */
export function chooseCategory(db: Database, asked: string | undefined, projectDir: string): string {
  const categories = listCategories(db);
  if (categories.length === 0) throw new UserError('EVAL_NO_DATA', `${projectDir}: the project holds no images yet (defectforge import <project> <folder>)`);
  if (asked !== undefined) {
    if (!categories.includes(asked)) throw new UserError('EVAL_UNKNOWN_CATEGORY', `${projectDir}: no category '${asked}'; the project has ${categories.join(', ')}`);
    return asked;
  }
  if (categories.length > 1) throw new UserError('EVAL_CATEGORY_REQUIRED', `${projectDir}: the project has several categories (${categories.join(', ')}); choose one with --category`);
  return categories[0]!;
}

/**
 * The working resolution: about `pixels` pixels with the source images' aspect ratio, each side a
 * multiple of `multiple` (the inspector's downsampling steps need it).
 */
export function workingSize(aspect: number, pixels: number, multiple: number): { width: number; height: number } {
  const height = Math.max(multiple, Math.round(Math.sqrt(pixels / aspect) / multiple) * multiple);
  const width = Math.max(multiple, Math.round((height * aspect) / multiple) * multiple);
  return { width, height };
}

export async function loadCategory(
  db: Database,
  blobs: BlobReader,
  category: string,
  size: { pixels: number; multiple: number },
  onProgress?: (done: number, total: number) => void,
): Promise<CategoryData> {
  const rows = db
    .prepare(
      `SELECT i.id, i.blob_hash, i.split, t.name AS type_name, i.defect_split, i.source_path, i.width, i.height
         FROM images i LEFT JOIN defect_types t ON t.id = i.defect_type_id
        WHERE i.category = ? AND i.origin = 'real'
        ORDER BY i.id`,
    )
    .all(category) as ImageRow[];
  const goodTrain = rows.filter((r) => r.split === 'train' && r.type_name === null);
  const goodTest = rows.filter((r) => r.split === 'test' && r.type_name === null);
  const defects = rows.filter((r) => r.type_name !== null);
  if (goodTrain.length === 0) throw new UserError('EVAL_NO_NORMALS', `category '${category}' has no good training images (train/good) to train the inspector on`);
  if (defects.length === 0) throw new UserError('EVAL_NO_DEFECTS', `category '${category}' has no defect images to test on`);
  const aspect = goodTrain.reduce((a, r) => a + r.width / r.height, 0) / goodTrain.length;
  const { width, height } = workingSize(aspect, size.pixels, size.multiple);
  const maskOf = db.prepare('SELECT blob_hash FROM masks WHERE image_id = ? ORDER BY id').pluck();
  const total = rows.length;
  let done = 0;
  const describe = (r: ImageRow): string => r.source_path ?? blobs.path(r.blob_hash);

  const picture = async (r: ImageRow): Promise<Picture> => {
    const p = await loadPicture(blobs.read(r.blob_hash), describe(r), width, height);
    onProgress?.(++done, total);
    return p;
  };
  /** the union of an image's masks at the working resolution */
  const mask = async (r: ImageRow): Promise<Mask> => {
    const hashes = maskOf.all(r.id) as string[];
    if (hashes.length === 0) throw new UserError('EVAL_MASK_MISSING', `${describe(r)}: defect image of type '${r.type_name}' has no mask; pixel metrics need one`);
    const masks = await Promise.all(hashes.map((h) => loadMask(blobs.read(h), blobs.path(h), width, height)));
    const union = masks[0]!;
    for (const m of masks.slice(1)) for (let i = 0; i < union.data.length; i++) union.data[i] = union.data[i]! | m.data[i]!;
    return union;
  };
  const empty = (): Mask => ({ width, height, data: new Uint8Array(width * height) });

  const trainGood: ProjectPicture[] = [];
  for (const r of goodTrain) trainGood.push({ imageId: r.id, picture: await picture(r) });
  const trainDefects: DefectExample[] = [];
  const test: TestImage[] = [];
  for (const r of goodTest) test.push({ imageId: r.id, defectType: null, picture: await picture(r), mask: empty(), sourcePath: describe(r) });
  for (const r of defects) {
    const p = await picture(r);
    const m = await mask(r);
    if (r.defect_split === 'train') trainDefects.push({ imageId: r.id, defectType: r.type_name!, picture: p, mask: m });
    else test.push({ imageId: r.id, defectType: r.type_name, picture: p, mask: m, sourcePath: describe(r) });
  }
  const defectTypes = [...new Set(defects.map((r) => r.type_name!))].sort();
  for (const t of defectTypes) {
    if (!test.some((x) => x.defectType === t)) throw new UserError('EVAL_NO_HOLDOUT', `defect type '${category}/${t}' has no held-out images to test on (all of them are training defects)`);
  }
  return { category, width, height, sourceAspect: aspect, trainGood, trainDefects, test, defectTypes };
}
