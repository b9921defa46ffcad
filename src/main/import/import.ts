// importDataset: plans the import from the folder layout, then decodes and checks the files
// several at a time (sharp works on libuv's thread pool), writes their blobs, and inserts the rows
// one batch per transaction. A bad file becomes a problem in the report and the rest goes on.
// Re-importing adds nothing twice: images are identified by (content hash, category, split,
// defect type) and masks by (image, content hash).
//
// Cancellation (signal) is checked between files; batches already committed stay (they are
// complete and consistent; importing again picks up the rest), and defect splits are re-derived
// for every type touched before the cancellation is reported.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Statement } from 'better-sqlite3';
import { UserError } from '../../shared/errors';
import type { ImportLayout, ImportProblem, ImportReport } from '../../shared/dto';
import type { Project } from '../store/project';
import { ensureDefectType, rederiveDefectSplit } from '../store/defect-types';
import { nowIso } from '../store/time';
import { planFolder } from './folder';
import { mvtecCategoryDirs, planMvtec } from './mvtec';
import type { ImportPlan } from './plan';
import { prepareImage, type PreparedImage } from './prepare';

export interface ImportOptions {
  layout?: ImportLayout | 'auto';
  onProgress?(done: number, total: number): void;
  signal?: AbortSignal;
  /** Images per transaction (default 200). */
  batchSize?: number;
}

/** Files decoded at once: enough to keep libuv's 4 pool threads busy while JS hashes and writes. */
const CONCURRENCY = 8;
/** Images per transaction: large enough to amortise commits, small enough to lose little on a cancel. */
const DEFAULT_BATCH = 200;

export function detectLayout(folder: string, exclude: readonly string[] = []): ImportLayout {
  return mvtecCategoryDirs(folder, exclude).length > 0 ? 'mvtec' : 'folder';
}

export function planImport(folder: string, layout: ImportLayout | 'auto', exclude: readonly string[] = []): ImportPlan {
  const chosen = layout === 'auto' ? detectLayout(folder, exclude) : layout;
  return chosen === 'mvtec' ? planMvtec(folder, exclude) : planFolder(folder, exclude);
}

export async function importDataset(project: Project, folder: string, opts: ImportOptions = {}): Promise<ImportReport> {
  const started = performance.now();
  const root = resolve(folder);
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    throw new UserError('IMPORT_NOT_FOUND', `${root} does not exist.`);
  }
  if (!isDir) throw new UserError('IMPORT_NOT_A_FOLDER', `${root} is not a folder.`);
  opts.signal?.throwIfAborted();

  // A project kept inside the dataset folder must not import its own exports.
  const plan = planImport(root, opts.layout ?? 'auto', [project.dir]);
  const problems: ImportProblem[] = [...plan.problems];
  const report: ImportReport = {
    folder: root,
    layout: plan.layout,
    categories: plan.categories,
    images: { imported: 0, alreadyPresent: 0 },
    masks: { imported: 0, alreadyPresent: 0 },
    rejected: 0,
    ignoredFiles: plan.ignoredFiles,
    problems,
    seconds: 0,
  };
  const writer = createRowWriter(project);
  const touchedTypes = new Set<number>();
  const total = plan.images.length;
  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive whole number (got ${batchSize})`);
  let done = 0;
  opts.onProgress?.(0, total);
  try {
    for (let start = 0; start < total; start += batchSize) {
      const batch = plan.images.slice(start, start + batchSize);
      const prepared: (StoredImage | null)[] = new Array(batch.length).fill(null);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < batch.length) {
          opts.signal?.throwIfAborted();
          const i = next++;
          const result = await prepareImage(batch[i]!);
          if (result.ok) {
            const { image, mask } = result.value;
            const imageHash = await project.blobs.writeFile(image.bytes);
            const maskHash = mask ? await project.blobs.writeFile(mask.bytes) : null;
            prepared[i] = { ...result.value, imageHash, maskHash };
          } else {
            problems.push(...result.problems);
          }
          opts.onProgress?.(++done, total);
        }
      };
      // allSettled: on a cancel or failure, wait for every worker to finish its blob write before
      // rethrowing, so no file appears after the caller believes the import has stopped
      const settled = await Promise.allSettled(Array.from({ length: Math.min(CONCURRENCY, batch.length) }, worker));
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      // Rows in plan order (sorted file names), so ids are the same on every run.
      project.db.transaction(() => {
        for (const item of prepared) {
          if (!item) continue;
          problems.push(...item.problems);
          const result = writer.insert(item);
          if (result.typeId !== null) touchedTypes.add(result.typeId);
          report.images[result.imageInserted ? 'imported' : 'alreadyPresent']++;
          if (result.maskInserted !== null) report.masks[result.maskInserted ? 'imported' : 'alreadyPresent']++;
        }
      })();
    }
  } finally {
    project.db.transaction(() => {
      for (const typeId of touchedTypes) rederiveDefectSplit(project, typeId);
    })();
  }
  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  report.rejected = problems.filter((p) => p.severity === 'error').length;
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

/** A prepared image whose blobs are on disk (rows not yet inserted). */
interface StoredImage extends PreparedImage {
  imageHash: string;
  maskHash: string | null;
}

interface InsertResult {
  typeId: number | null;
  imageInserted: boolean;
  /** null when the image came without a (valid) mask */
  maskInserted: boolean | null;
}

function createRowWriter(project: Project): { insert(item: StoredImage): InsertResult } {
  const db = project.db;
  const typeIds = new Map<string, number>();
  const insertImage: Statement = db.prepare(
    `INSERT OR IGNORE INTO images (blob_hash, category, split, defect_type_id, origin, source_path, width, height, channels, created_at)
     VALUES (?, ?, ?, ?, 'real', ?, ?, ?, ?, ?)`,
  );
  const findImage: Statement = db.prepare('SELECT id FROM images WHERE blob_hash = ? AND category = ? AND split = ? AND ifnull(defect_type_id, 0) = ?');
  const insertMask: Statement = db.prepare(
    "INSERT OR IGNORE INTO masks (image_id, blob_hash, source, source_path, area_px, created_at) VALUES (?, ?, 'imported', ?, ?, ?)",
  );
  return {
    insert(item) {
      const { planned, image, mask, imageHash, maskHash } = item;
      const now = nowIso();
      let typeId: number | null = null;
      if (planned.defectType !== null) {
        const key = `${planned.category}\u0000${planned.defectType}`;
        typeId = typeIds.get(key) ?? ensureDefectType(project, planned.category, planned.defectType);
        typeIds.set(key, typeId);
      }
      project.blobs.record(imageHash, image.bytes.length, image.mediaType);
      const inserted = insertImage.run(imageHash, planned.category, planned.split, typeId, planned.path, image.width, image.height, image.channels, now).changes > 0;
      const imageId = (findImage.get(imageHash, planned.category, planned.split, typeId ?? 0) as { id: number }).id;
      let maskInserted: boolean | null = null;
      if (mask && maskHash) {
        project.blobs.record(maskHash, mask.bytes.length, mask.mediaType);
        maskInserted = insertMask.run(imageId, maskHash, planned.maskPath, mask.areaPx, now).changes > 0;
      }
      return { typeId, imageInserted: inserted, maskInserted };
    },
  };
}
