// Defect types and their train/holdout split. Following the paper, a type's defect images are
// sorted by file name and the first `train_count` of them (default ceil(n/3)) are used to learn
// the defect; the rest are held out for evaluation. The split is stored per image (defect_split)
// and re-derived whenever the count or the set of images changes.
import { basename } from 'node:path';
import type { Database } from 'better-sqlite3';
import { UserError } from '../../shared/errors';
import type { DefectTypeInfo } from '../../shared/dto';
import { nowIso } from './time';

interface HasDb {
  readonly db: Database;
}

interface DefectTypeRow {
  id: number;
  category: string;
  name: string;
  train_count: number | null;
  images: number;
  masks: number;
  train: number;
  holdout: number;
}

/** Default number of training images for n defect images: the first third, rounded up. */
export function defaultTrainCount(n: number): number {
  return Math.ceil(n / 3);
}

export function listDefectTypes(p: HasDb, category?: string): DefectTypeInfo[] {
  const rows = p.db
    .prepare(
      `SELECT t.id, t.category, t.name, t.train_count,
              (SELECT count(*) FROM images i WHERE i.defect_type_id = t.id AND i.origin = 'real') AS images,
              (SELECT count(*) FROM masks m JOIN images i ON i.id = m.image_id WHERE i.defect_type_id = t.id) AS masks,
              (SELECT count(*) FROM images i WHERE i.defect_type_id = t.id AND i.defect_split = 'train') AS train,
              (SELECT count(*) FROM images i WHERE i.defect_type_id = t.id AND i.defect_split = 'holdout') AS holdout
         FROM defect_types t
        WHERE @category IS NULL OR t.category = @category
        ORDER BY t.category, t.name`,
    )
    .all({ category: category ?? null }) as DefectTypeRow[];
  return rows.map((r) => ({
    id: r.id,
    category: r.category,
    name: r.name,
    trainCount: r.train_count,
    images: r.images,
    masks: r.masks,
    train: r.train,
    holdout: r.holdout,
  }));
}

/** The id of the (category, name) type, created when missing. */
export function ensureDefectType(p: HasDb, category: string, name: string): number {
  const found = p.db.prepare('SELECT id FROM defect_types WHERE category = ? AND name = ?').get(category, name) as { id: number } | undefined;
  if (found) return found.id;
  return Number(p.db.prepare('INSERT INTO defect_types (category, name, created_at) VALUES (?, ?, ?)').run(category, name, nowIso()).lastInsertRowid);
}

function requireType(p: HasDb, typeId: number): { id: number; category: string; name: string; train_count: number | null } {
  const row = p.db.prepare('SELECT id, category, name, train_count FROM defect_types WHERE id = ?').get(typeId) as
    | { id: number; category: string; name: string; train_count: number | null }
    | undefined;
  if (!row) throw new UserError('DEFECT_TYPE_NOT_FOUND', `There is no defect type with id ${typeId}.`);
  return row;
}

/** Plain code-unit order: the same on every platform and locale, unlike localeCompare. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Rewrites defect_split for the type's real images: sorted by file name (then full path, then id,
 * so the order is total), the first min(train_count, n) are 'train', the rest 'holdout'.
 */
export function rederiveDefectSplit(p: HasDb, typeId: number): void {
  const type = requireType(p, typeId);
  const images = p.db
    .prepare("SELECT id, source_path FROM images WHERE defect_type_id = ? AND origin = 'real'")
    .all(typeId) as { id: number; source_path: string | null }[];
  const keyed = images.map((img) => ({ id: img.id, file: img.source_path === null ? '' : basename(img.source_path), path: img.source_path ?? '' }));
  keyed.sort((a, b) => compareText(a.file, b.file) || compareText(a.path, b.path) || a.id - b.id);
  const trainCount = Math.min(type.train_count ?? defaultTrainCount(keyed.length), keyed.length);
  const update = p.db.prepare('UPDATE images SET defect_split = ? WHERE id = ?');
  p.db.transaction(() => {
    keyed.forEach((img, i) => update.run(i < trainCount ? 'train' : 'holdout', img.id));
  })();
}

/**
 * Sets how many of the type's images are used for training (null = the default third) and
 * re-derives the split. A count above the number of images means "all of them" (and stays so as
 * more images are imported, up to the count).
 */
export function setTrainCount(p: HasDb, typeId: number, n: number | null): void {
  if (n !== null && (!Number.isInteger(n) || n < 0)) {
    throw new UserError('BAD_TRAIN_COUNT', `The number of training images must be a whole number >= 0 (got ${n}).`);
  }
  p.db.transaction(() => {
    requireType(p, typeId);
    p.db.prepare('UPDATE defect_types SET train_count = ? WHERE id = ?').run(n, typeId);
    rederiveDefectSplit(p, typeId);
  })();
}

export function renameDefectType(p: HasDb, typeId: number, newName: string): void {
  const name = newName.trim();
  if (name === '') throw new UserError('BAD_DEFECT_TYPE_NAME', 'A defect type name must not be empty.');
  const type = requireType(p, typeId);
  if (type.name === name) return;
  const clash = p.db.prepare('SELECT id FROM defect_types WHERE category = ? AND name = ?').get(type.category, name);
  if (clash) throw new UserError('DEFECT_TYPE_EXISTS', `Category "${type.category}" already has a defect type named "${name}".`);
  p.db.prepare('UPDATE defect_types SET name = ? WHERE id = ?').run(name, typeId);
}
