// Defect types as the workstation edits them: listing with per-type settings, creating, merging
// one type into another, and the settings kept in defect_types.settings_json (AAR on/off and the
// overlay colour). Renaming and the train count live in ../defect-types.ts and are reused.
import type { Database } from 'better-sqlite3';
import { UserError } from '../../../shared/errors';
import { FOREGROUNDS, MASK_SOURCES, type DefectTypeDetail, type DefectTypeSettings, type ForegroundKind, type MaskSourceKind } from '../../../shared/ipc';
import { listDefectTypes, rederiveDefectSplit } from '../defect-types';
import { nowIso } from '../time';

interface HasDb {
  readonly db: Database;
}

/** Distinct overlay colours (Okabe-Ito-like, readable on dark and light images); cycled by type id. */
export const TYPE_PALETTE = ['#ff4d4f', '#36cfc9', '#ffc53d', '#9254de', '#73d13d', '#ff85c0', '#40a9ff', '#ff7a45'] as const;
/** The colour of good images (no defect type) in the viewer, should they carry a mask. */
export const GOOD_COLOR = '#40a9ff';

const COLOR_PATTERN = /^#[0-9a-f]{6}$/;

export function defaultSettings(typeId: number): DefectTypeSettings {
  return { aar: true, color: TYPE_PALETTE[(typeId - 1) % TYPE_PALETTE.length]!, maskSource: 'real', foreground: 'none' };
}

/** The stored settings over the defaults; unknown or malformed fields fall back to the default. */
export function parseSettings(typeId: number, json: string): DefectTypeSettings {
  const settings = defaultSettings(typeId);
  let stored: unknown;
  try {
    stored = JSON.parse(json);
  } catch {
    return settings;
  }
  if (stored === null || typeof stored !== 'object') return settings;
  const { aar, color, maskSource, foreground } = stored as Record<string, unknown>;
  if (typeof aar === 'boolean') settings.aar = aar;
  if (typeof color === 'string' && COLOR_PATTERN.test(color)) settings.color = color;
  if ((MASK_SOURCES as readonly unknown[]).includes(maskSource)) settings.maskSource = maskSource as MaskSourceKind;
  if ((FOREGROUNDS as readonly unknown[]).includes(foreground)) settings.foreground = foreground as ForegroundKind;
  return settings;
}

function settingsJson(p: HasDb, typeId: number): string {
  const row = p.db.prepare('SELECT settings_json FROM defect_types WHERE id = ?').get(typeId) as { settings_json: string } | undefined;
  if (!row) throw new UserError('DEFECT_TYPE_NOT_FOUND', `There is no defect type with id ${typeId}.`);
  return row.settings_json;
}

export function typeColor(p: HasDb, typeId: number | null): string {
  return typeId === null ? GOOD_COLOR : parseSettings(typeId, settingsJson(p, typeId)).color;
}

export function listTypeDetails(p: HasDb): DefectTypeDetail[] {
  const settings = new Map(
    (p.db.prepare('SELECT id, settings_json FROM defect_types').all() as { id: number; settings_json: string }[]).map((r) => [r.id, r.settings_json]),
  );
  return listDefectTypes(p).map((t) => ({ ...t, settings: parseSettings(t.id, settings.get(t.id) ?? '{}') }));
}

export function typeDetail(p: HasDb, typeId: number): DefectTypeDetail {
  const found = listTypeDetails(p).find((t) => t.id === typeId);
  if (!found) throw new UserError('DEFECT_TYPE_NOT_FOUND', `There is no defect type with id ${typeId}.`);
  return found;
}

export function createDefectType(p: HasDb, category: string, name: string): number {
  const c = category.trim();
  const n = name.trim();
  if (c === '') throw new UserError('BAD_CATEGORY_NAME', 'A category name must not be empty.');
  if (n === '') throw new UserError('BAD_DEFECT_TYPE_NAME', 'A defect type name must not be empty.');
  if (p.db.prepare('SELECT id FROM defect_types WHERE category = ? AND name = ?').get(c, n)) {
    throw new UserError('DEFECT_TYPE_EXISTS', `Category "${c}" already has a defect type named "${n}".`);
  }
  return Number(p.db.prepare('INSERT INTO defect_types (category, name, created_at) VALUES (?, ?, ?)').run(c, n, nowIso()).lastInsertRowid);
}

export function updateSettings(p: HasDb, typeId: number, change: Partial<DefectTypeSettings>): void {
  const current = settingsJson(p, typeId);
  let stored: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(current);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) stored = parsed as Record<string, unknown>;
  } catch {
    // a malformed value is replaced; parseSettings already treated it as the defaults
  }
  if (change.color !== undefined && !COLOR_PATTERN.test(change.color)) {
    throw new UserError('BAD_COLOR', `"${change.color}" is not a colour of the form #rrggbb.`);
  }
  // Other engineers' keys in settings_json are kept: only the changed fields are replaced.
  const next = { ...stored, ...change };
  p.db.prepare('UPDATE defect_types SET settings_json = ? WHERE id = ?').run(JSON.stringify(next), typeId);
}

/**
 * Moves every image of `sourceId` into `targetId` and deletes the source type. An image that is
 * already in the target (same content, category and split) is not duplicated: its masks move to
 * the target's copy and the source row goes. Types with trained artifacts are refused, since a
 * model trained on one type must not silently count as the other's.
 */
export function mergeDefectTypes(p: HasDb, sourceId: number, targetId: number): void {
  if (sourceId === targetId) throw new UserError('MERGE_SAME_TYPE', 'A defect type cannot be merged into itself.');
  const getType = p.db.prepare('SELECT id, category, name FROM defect_types WHERE id = ?');
  const source = getType.get(sourceId) as { id: number; category: string; name: string } | undefined;
  const target = getType.get(targetId) as { id: number; category: string; name: string } | undefined;
  if (!source) throw new UserError('DEFECT_TYPE_NOT_FOUND', `There is no defect type with id ${sourceId}.`);
  if (!target) throw new UserError('DEFECT_TYPE_NOT_FOUND', `There is no defect type with id ${targetId}.`);
  if (source.category !== target.category) {
    throw new UserError('MERGE_ACROSS_CATEGORIES', `"${source.name}" (${source.category}) and "${target.name}" (${target.category}) belong to different categories.`);
  }
  const artifacts = (p.db.prepare('SELECT count(*) AS n FROM artifacts WHERE defect_type_id = ?').get(sourceId) as { n: number }).n;
  if (artifacts > 0) {
    throw new UserError('MERGE_HAS_ARTIFACTS', `"${source.name}" has ${artifacts} trained artifact(s); delete them before merging it into "${target.name}".`);
  }
  p.db.transaction(() => {
    const duplicates = p.db
      .prepare(
        `SELECT s.id AS sourceImage, t.id AS targetImage FROM images s
           JOIN images t ON t.blob_hash = s.blob_hash AND t.category = s.category AND t.split = s.split AND t.defect_type_id = @target
          WHERE s.defect_type_id = @source`,
      )
      .all({ source: sourceId, target: targetId }) as { sourceImage: number; targetImage: number }[];
    for (const d of duplicates) {
      p.db
        .prepare(
          `INSERT OR IGNORE INTO masks (image_id, blob_hash, source, source_path, area_px, created_at)
           SELECT ?, blob_hash, source, source_path, area_px, created_at FROM masks WHERE image_id = ?`,
        )
        .run(d.targetImage, d.sourceImage);
      p.db.prepare('DELETE FROM images WHERE id = ?').run(d.sourceImage);
    }
    p.db.prepare('UPDATE images SET defect_type_id = ? WHERE defect_type_id = ?').run(targetId, sourceId);
    p.db.prepare('UPDATE samples SET defect_type_id = ? WHERE defect_type_id = ?').run(targetId, sourceId);
    p.db.prepare('DELETE FROM defect_types WHERE id = ?').run(sourceId);
    rederiveDefectSplit(p, targetId);
  })();
}
