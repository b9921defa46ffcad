// What adaptation reads from a project: its real train/good images (normal images of the training
// split), decoded, and a seeded split into the images it trains on and the held-out slice that
// decides early stopping and measures the effect. Only reads the project.

import { UserError } from '../../shared/errors';
import { Rng } from '../../shared/random';
import type { Project } from '../../main/store/project';
import { decodeImage, type RawImage } from '../imaging';

export interface NormalImage {
  imageId: number;
  /** the file it was imported from (or its blob), for messages */
  source: string;
  image: RawImage;
}

export interface NormalSplit {
  train: NormalImage[];
  heldOut: NormalImage[];
}

/** The project's real normal images of the training split, in id order (optionally one category). */
export async function loadTrainNormals(project: Project, category?: string): Promise<NormalImage[]> {
  const rows = project.db
    .prepare(
      `SELECT id, blob_hash AS hash, source_path AS source FROM images
        WHERE defect_type_id IS NULL AND split = 'train' AND origin = 'real' AND (? IS NULL OR category = ?) ORDER BY id`,
    )
    .all(category ?? null, category ?? null) as { id: number; hash: string; source: string | null }[];
  const out: NormalImage[] = [];
  for (const r of rows) {
    const source = r.source ?? `image ${r.id} (blob ${r.hash.slice(0, 12)})`;
    out.push({ imageId: r.id, source, image: await decodeImage(project.blobs.read(r.hash), source) });
  }
  return out;
}

/**
 * A seeded split: round(heldOutFraction * n) images, at least one, are held out; at least one
 * trains. Fewer than two normal images is a UserError (nothing to stop early on).
 */
export function splitNormals(project: Project, images: readonly NormalImage[], heldOutFraction: number, seed: number, category?: string): NormalSplit {
  const where = category ? `category '${category}' of ${project.dir}` : project.dir;
  if (images.length === 0) {
    throw new UserError('NO_NORMAL_IMAGES', `${where}: no train/good (normal) images; import a dataset with normal training images before adapting the model`);
  }
  if (images.length < 2) {
    throw new UserError('TOO_FEW_NORMAL_IMAGES', `${where}: adaptation needs at least 2 train/good images (one to train on, one held out), found ${images.length}`);
  }
  const order = new Rng(seed ^ 0x6a09e667).shuffle(images.map((_, i) => i));
  const held = Math.min(images.length - 1, Math.max(1, Math.round(heldOutFraction * images.length)));
  const heldSet = new Set(order.slice(0, held));
  return {
    train: images.filter((_, i) => !heldSet.has(i)),
    heldOut: images.filter((_, i) => heldSet.has(i)),
  };
}
