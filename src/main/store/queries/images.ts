// Read queries behind the dataset browser and the image viewer: one page of images matching the
// grid's filters in the chosen order, with the total count, and one image with its masks.
// Filters and sort keys are turned into SQL from fixed fragments only; every value is a bound
// parameter, never text spliced into the statement.
import { basename } from 'node:path';
import type { Database } from 'better-sqlite3';
import { UserError } from '../../../shared/errors';
import type { ImageDetail, ImageFilter, ImageListItem, ImagePage, ImageQuery, ImageSort, MaskInfo } from '../../../shared/ipc';
import { typeColor } from './defect-types';

interface HasDb {
  readonly db: Database;
}

interface ImageRow {
  id: number;
  blob_hash: string;
  category: string;
  split: 'train' | 'test';
  defect_type_id: number | null;
  defect_type: string | null;
  defect_split: 'train' | 'holdout' | null;
  origin: 'real' | 'synthetic';
  source_path: string | null;
  width: number;
  height: number;
  mask_count: number;
}

const MASK_COUNT = '(SELECT count(*) FROM masks m WHERE m.image_id = i.id)';
const MASK_AREA = '(SELECT coalesce(max(m.area_px), 0) FROM masks m WHERE m.image_id = i.id)';

// Each sort ends with the id so the order is total (stable pages while scrolling).
const ORDER_BY: Record<ImageSort, (dir: string) => string> = {
  added: (dir) => `i.id ${dir}`,
  name: (dir) => `i.source_path COLLATE NOCASE ${dir}, i.id ${dir}`,
  type: (dir) => `i.category ${dir}, t.name ${dir} NULLS FIRST, i.id ${dir}`,
  maskArea: (dir) => `${MASK_AREA} ${dir}, i.id ${dir}`,
};

function whereClause(filter: ImageFilter): { sql: string; params: Record<string, string | number> } {
  const parts: string[] = [];
  const params: Record<string, string | number> = {};
  if (filter.category !== undefined) {
    parts.push('i.category = @category');
    params['category'] = filter.category;
  }
  if (filter.split !== undefined) {
    parts.push('i.split = @split');
    params['split'] = filter.split;
  }
  if (filter.label === 'good') parts.push('i.defect_type_id IS NULL');
  if (filter.label === 'defect') parts.push('i.defect_type_id IS NOT NULL');
  if (filter.defectTypeId !== undefined) {
    parts.push('i.defect_type_id = @defectTypeId');
    params['defectTypeId'] = filter.defectTypeId;
  }
  if (filter.origin !== undefined) {
    parts.push('i.origin = @origin');
    params['origin'] = filter.origin;
  }
  if (filter.hasMask === true) parts.push('EXISTS (SELECT 1 FROM masks m WHERE m.image_id = i.id)');
  if (filter.hasMask === false) parts.push('NOT EXISTS (SELECT 1 FROM masks m WHERE m.image_id = i.id)');
  return { sql: parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`, params };
}

function toItem(row: ImageRow): ImageListItem {
  return {
    id: row.id,
    blobHash: row.blob_hash,
    category: row.category,
    split: row.split,
    defectTypeId: row.defect_type_id,
    defectType: row.defect_type,
    defectSplit: row.defect_split,
    origin: row.origin,
    fileName: row.source_path === null ? null : basename(row.source_path.replaceAll('\\', '/')),
    width: row.width,
    height: row.height,
    maskCount: row.mask_count,
  };
}

const SELECT_ITEM = `SELECT i.id, i.blob_hash, i.category, i.split, i.defect_type_id, t.name AS defect_type, i.defect_split,
       i.origin, i.source_path, i.width, i.height, ${MASK_COUNT} AS mask_count
  FROM images i LEFT JOIN defect_types t ON t.id = i.defect_type_id`;

export function listImages(p: HasDb, query: ImageQuery): ImagePage {
  const { sql: where, params } = whereClause(query);
  const total = (p.db.prepare(`SELECT count(*) AS n FROM images i ${where}`).get(params) as { n: number }).n;
  const order = ORDER_BY[query.sort ?? 'added'](query.descending ? 'DESC' : 'ASC');
  const rows = p.db
    .prepare(`${SELECT_ITEM} ${where} ORDER BY ${order} LIMIT @limit OFFSET @offset`)
    .all({ ...params, limit: query.limit, offset: query.offset }) as ImageRow[];
  return { total, offset: query.offset, items: rows.map(toItem) };
}

export function imageMasks(p: HasDb, imageId: number): MaskInfo[] {
  return p.db
    .prepare('SELECT id, blob_hash AS blobHash, source, area_px AS areaPx, created_at AS createdAt FROM masks WHERE image_id = ? ORDER BY id')
    .all(imageId) as MaskInfo[];
}

export function getImage(p: HasDb, id: number): ImageDetail {
  const row = p.db.prepare(`${SELECT_ITEM} WHERE i.id = ?`).get(id) as ImageRow | undefined;
  if (!row) throw new UserError('IMAGE_NOT_FOUND', `There is no image with id ${id} in this project.`);
  const item = toItem(row);
  return { ...item, masks: imageMasks(p, id), color: typeColor(p, item.defectTypeId) };
}

/** Blob hash and size of an image (for thumbnails and mask checks). */
export function imageBlob(p: HasDb, id: number): { hash: string; width: number; height: number } {
  const row = p.db.prepare('SELECT blob_hash AS hash, width, height FROM images WHERE id = ?').get(id) as
    | { hash: string; width: number; height: number }
    | undefined;
  if (!row) throw new UserError('IMAGE_NOT_FOUND', `There is no image with id ${id} in this project.`);
  return row;
}
