// Shared helpers for the import tests.
import type { Project } from '../../../src/main/store/project';

export interface ImageRow {
  id: number;
  blob_hash: string;
  category: string;
  split: string;
  defect_type: string | null;
  defect_split: string | null;
  source_path: string;
  width: number;
  height: number;
  channels: number;
  mask_hash: string | null;
  area_px: number | null;
  media_type: string;
}

export function imageRows(p: Project): ImageRow[] {
  return p.db
    .prepare(
      `SELECT i.id, i.blob_hash, i.category, i.split, t.name AS defect_type, i.defect_split, i.source_path,
              i.width, i.height, i.channels, m.blob_hash AS mask_hash, m.area_px, b.media_type
         FROM images i LEFT JOIN defect_types t ON t.id = i.defect_type_id
         LEFT JOIN masks m ON m.image_id = i.id JOIN blobs b ON b.hash = i.blob_hash
        ORDER BY i.id`,
    )
    .all() as ImageRow[];
}

export function count(p: Project, table: string): number {
  return p.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
}
