// "Use this mask again" for a generated pair (samples:reuseMask).
//
// 1. The pair's mask joins its defect type's drawn masks, which is what the 'drawn' mask source
//    synthesizes from. A drawn mask belongs to an image of the type, and the image it truly marks
//    is the pair's synthetic image: that image becomes an images row of the type with origin
//    'synthetic' (no defect_split, so learning, evaluation and export, which take origin 'real'
//    only, never see it; the dataset grid shows it under "synthetic"), and the mask is stored
//    through the mask editor's own saveDrawnMask (same checks: exact size, binary, not empty).
// 2. "Generate N with this mask" is a synthesis plan of the same type with the pair's own
//    generation settings and conditioning (its recipe), the category's normal training images
//    (each pair picks one, seeded) and the 'drawn' mask source with no flips, scaling, shifting or
//    foreground cut: every new pair carries the mask pixel for pixel. The drawn source picks among
//    ALL the type's drawn masks, and a plan cannot name one of them yet, so the run is refused
//    while the type has other drawn masks (the message says so) rather than mixing them in.
import { randomInt } from 'node:crypto';
import sharp from 'sharp';
import { recipeOf } from '../../engine/synthesis/regenerate';
import { checkPlan, type SynthesisPlan, type TypeMaskSource } from '../../engine/synthesis/recipe';
import { UserError } from '../../shared/errors';
import { resolveTypes, typeMaterial, type AugmentType } from '../augment';
import type { Project } from '../store/project';
import { decodeBinaryMask, maskArea, saveDrawnMask } from '../store/queries/masks';
import { getSample, modelPathByHash, type SampleWithLineage } from '../store/samples';
import { nowIso } from '../store/time';

/** The synthesized pairs keep the mask exactly: the drawn source pinned to that one mask, without any move or cut. */
export function exactDrawnMask(maskId: number): TypeMaskSource {
  return { kind: 'drawn', foreground: 'none', maskIds: [maskId] };
}

export interface ReusedMask {
  imageId: number;
  maskId: number;
  added: boolean;
  type: AugmentType;
}

function sampleType(project: Project, sample: SampleWithLineage): AugmentType {
  if (sample.defectTypeId === null || sample.category === null || sample.defectType === null) {
    throw new UserError('SAMPLE_TYPE_DELETED', `sample ${sample.id}: its defect type was deleted, so its mask has no type to join`);
  }
  return resolveTypes(project, [`${sample.category}/${sample.defectType}`])[0]!;
}

/** The synthetic image's row for the type: found (a mask reused before) or inserted. */
async function syntheticImageRow(project: Project, sample: SampleWithLineage, type: AugmentType): Promise<{ id: number; inserted: boolean }> {
  const existing = project.db
    .prepare("SELECT id, origin FROM images WHERE blob_hash = ? AND category = ? AND split = 'train' AND defect_type_id = ?")
    .get(sample.imageBlob, type.category, type.id) as { id: number; origin: string } | undefined;
  if (existing) {
    // a drawn mask on a real image would change what the type learns from: never add one here
    if (existing.origin !== 'synthetic') throw new UserError('SAMPLE_IS_REAL_IMAGE', `sample ${sample.id}: its image is also real image ${existing.id} of ${type.label}; draw on that image instead`);
    return { id: existing.id, inserted: false };
  }
  const meta = await sharp(project.blobs.read(sample.imageBlob)).metadata();
  if (!meta.width || !meta.height) throw new UserError('IMAGE_UNREADABLE', `${project.blobs.path(sample.imageBlob)}: the synthetic image of sample ${sample.id} has no readable size`);
  const id = project.db
    .prepare(
      `INSERT INTO images (blob_hash, category, split, defect_type_id, defect_split, origin, source_path, width, height, channels, created_at)
       VALUES (?, ?, 'train', ?, NULL, 'synthetic', NULL, ?, ?, ?, ?)`,
    )
    .run(sample.imageBlob, type.category, type.id, meta.width, meta.height, meta.channels ?? 3, nowIso()).lastInsertRowid;
  return { id: Number(id), inserted: true };
}

/** Adds the sample's mask to its type's drawn masks (idempotent: a second call adds nothing). */
export async function addToDrawnMasks(project: Project, sampleId: number): Promise<ReusedMask> {
  const sample = getSample(project, sampleId);
  const type = sampleType(project, sample);
  const maskPng = project.blobs.read(sample.maskBlob);
  // checked before any row is written: a bad mask leaves the project as it was
  const mask = await decodeBinaryMask(maskPng, `mask of sample ${sampleId} (${project.blobs.path(sample.maskBlob)})`);
  if (maskArea(mask) === 0) throw new UserError('MASK_EMPTY', `mask of sample ${sampleId}: it marks no defect pixel, so there is nothing to reuse`);
  const image = await syntheticImageRow(project, sample, type);
  const drawnBefore = project.db.prepare("SELECT blob_hash FROM masks WHERE image_id = ? AND source = 'drawn'").pluck().all(image.id) as string[];
  try {
    const saved = await saveDrawnMask(project, image.id, maskPng);
    return { imageId: image.id, maskId: saved.mask.id, added: !drawnBefore.includes(saved.mask.blobHash), type };
  } catch (e) {
    if (image.inserted) project.db.prepare('DELETE FROM images WHERE id = ?').run(image.id);
    throw e;
  }
}

/**
 * The synthesis job's parameters for `count` pairs of the sample's type with exactly the mask
 * `maskId` (added by addToDrawnMasks): the sample's own settings and model.
 */
export function exactMaskRun(project: Project, sampleId: number, reused: ReusedMask, count: number, seed = randomInt(0, 2 ** 31)): { project: string; model: string; plan: SynthesisPlan } {
  const sample = getSample(project, sampleId);
  const lineage = sample.lineage;
  if (!lineage) throw new UserError('LINEAGE_MISSING', `sample ${sampleId} has no lineage record, so its generation settings are unknown`);
  const recipe = recipeOf(sampleId, lineage.sampler);
  const model = lineage.modelHash === null ? null : modelPathByHash(project, lineage.modelHash);
  if (model === null) throw new UserError('MODEL_NOT_FOUND', `sample ${sampleId}: the project has no folder for the model it was made with; it cannot be used again`);
  const plan: SynthesisPlan = {
    seed,
    sampler: recipe.sampler,
    guidance: recipe.guidance,
    aar: { clamp: recipe.aar.clamp, dilationRadius: recipe.aar.dilationRadius },
    ...(recipe.restoreDetail === true ? { restoreDetail: true } : {}),
    types: [
      {
        defectTypeId: reused.type.id,
        label: reused.type.label,
        count,
        aar: recipe.aar.enabled,
        normals: typeMaterial(project, reused.type).normals,
        maskSource: exactDrawnMask(reused.maskId),
        conditioning: recipe.conditioning,
      },
    ],
  };
  // names the problem (no normal image, a bad count...) before a job is queued
  checkPlan(plan);
  return { project: project.dir, model, plan };
}
