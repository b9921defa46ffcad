// Gathers an export set from the project: the chosen synthetic samples with their lineage, the
// real normal training images of the exported categories, and the real test images (test/good
// and the held-out defect images of the exported types, never their training defects, which the
// defect was learnt from). Masks are decoded here so the format writers get pixels.
import { binariseMask, decodeImage } from '../../engine/imaging';
import type { ExportMask, ExportReal, ExportSet, ExportSynthetic } from '../../engine/export/types';
import { encodePng } from '../../engine/imaging';
import type { Project } from '../store/project';
import type { SampleWithLineage } from '../store/samples';
import type { AugmentType } from './types';

const EXTENSIONS: Record<string, string> = { 'image/png': '.png', 'image/jpeg': '.jpg', 'image/bmp': '.bmp', 'image/tiff': '.tif' };

interface RealRow {
  id: number;
  category: string;
  defect_type: string | null;
  blob_hash: string;
  media_type: string;
  width: number;
  height: number;
  source_path: string | null;
}

async function maskFromPngs(project: Project, hashes: string[], width: number, height: number): Promise<ExportMask | undefined> {
  if (hashes.length === 0) return undefined;
  const union = new Uint8Array(width * height);
  for (const h of hashes) {
    const { mask } = binariseMask(await decodeImage(project.blobs.read(h), project.blobs.path(h)));
    if (mask.width !== width || mask.height !== height) continue; // import refuses such masks; be safe
    for (let i = 0; i < union.length; i++) if (mask.data[i]) union[i] = 255;
  }
  const png = hashes.length === 1 ? new Uint8Array(project.blobs.read(hashes[0]!)) : new Uint8Array(await encodePng({ width, height, channels: 1, data: union }));
  return { png, data: union, width, height };
}

async function realImages(project: Project, rows: RealRow[]): Promise<ExportReal[]> {
  const masksOf = project.db.prepare('SELECT blob_hash FROM masks WHERE image_id = ? ORDER BY id').pluck();
  const out: ExportReal[] = [];
  for (const r of rows) {
    const mask = r.defect_type === null ? undefined : await maskFromPngs(project, masksOf.all(r.id) as string[], r.width, r.height);
    out.push({
      imageId: r.id,
      category: r.category,
      defectType: r.defect_type,
      image: new Uint8Array(project.blobs.read(r.blob_hash)),
      ext: EXTENSIONS[r.media_type] ?? '.png',
      width: r.width,
      height: r.height,
      ...(mask ? { mask } : {}),
      sourcePath: r.source_path,
    });
  }
  return out;
}

const REAL = `SELECT i.id, i.category, t.name AS defect_type, i.blob_hash, b.media_type, i.width, i.height, i.source_path
  FROM images i JOIN blobs b ON b.hash = i.blob_hash LEFT JOIN defect_types t ON t.id = i.defect_type_id`;

export async function collectExportSet(project: Project, types: readonly AugmentType[], samples: readonly SampleWithLineage[]): Promise<ExportSet> {
  const categories = [...new Set(types.map((t) => t.category))];
  const typeIds = new Set(types.map((t) => t.id));
  const inCategories = `i.category IN (${categories.map(() => '?').join(', ')})`;
  const trainRows = project.db.prepare(`${REAL} WHERE ${inCategories} AND i.split = 'train' AND i.defect_type_id IS NULL AND i.origin = 'real' ORDER BY i.id`).all(...categories) as RealRow[];
  const testRows = (
    project.db
      .prepare(
        `${REAL} WHERE ${inCategories} AND i.origin = 'real' AND
           ((i.split = 'test' AND i.defect_type_id IS NULL) OR (i.defect_type_id IS NOT NULL AND i.defect_split = 'holdout'))
         ORDER BY i.id`,
      )
      .all(...categories) as (RealRow & { id: number })[]
  ).filter((r) => r.defect_type === null || types.some((t) => t.category === r.category && t.name === r.defect_type));

  const synthetic: ExportSynthetic[] = [];
  for (const s of samples) {
    if (s.defectTypeId === null || !typeIds.has(s.defectTypeId)) continue;
    const decodedMask = binariseMask(await decodeImage(project.blobs.read(s.maskBlob), project.blobs.path(s.maskBlob))).mask;
    const image = new Uint8Array(project.blobs.read(s.imageBlob));
    const info = await decodeImage(image, project.blobs.path(s.imageBlob));
    synthetic.push({
      sampleId: s.id,
      category: s.category!,
      defectType: s.defectType!,
      image,
      width: info.width,
      height: info.height,
      mask: { png: new Uint8Array(project.blobs.read(s.maskBlob)), data: decodedMask.data, width: decodedMask.width, height: decodedMask.height },
      lineage: { sampleId: s.id, jobId: s.jobId, indexInJob: s.indexInJob, generator: s.generator, imageBlob: s.imageBlob, maskBlob: s.maskBlob, ...(s.lineage ?? {}) },
    });
  }
  const name = (project.db.prepare('SELECT name FROM project WHERE id = 1').get() as { name: string }).name;
  return {
    projectName: name,
    types: types.map((t) => ({ category: t.category, name: t.name })),
    synthetic,
    trainGood: await realImages(project, trainRows),
    test: await realImages(project, testRows),
  };
}
