// What an import will bring in: each image with its category, split, defect type and mask file,
// worked out from the folder layout before any file is decoded.
import type { ImportLayout, ImportProblem } from '../../shared/dto';

export interface PlannedImage {
  path: string;
  category: string;
  split: 'train' | 'test';
  /** null = a good image */
  defectType: string | null;
  maskPath: string | null;
}

export interface ImportPlan {
  layout: ImportLayout;
  categories: string[];
  images: PlannedImage[];
  /** Problems found from names alone (e.g. a mask with no image); each 'error' is one rejected file. */
  problems: ImportProblem[];
  /** Files that are not images by extension (READMEs, CSVs...), left alone. */
  ignoredFiles: number;
}

/**
 * Pairs masks with images by stem: a mask `<stem>_mask.<ext>` (or, in a masks folder,
 * `<stem>.<ext>`) belongs to the image `<stem>.<ext>`. Masks that match no image are reported.
 * Returns the mask for each image stem.
 */
export function pairMasks(
  imageStems: ReadonlySet<string>,
  masks: readonly { path: string; stem: string }[],
  problems: ImportProblem[],
  describeImage: (stem: string) => string,
): Map<string, string> {
  const byStem = new Map<string, string>();
  for (const mask of masks) {
    if (!imageStems.has(mask.stem)) {
      problems.push({ path: mask.path, severity: 'error', code: 'MASK_WITHOUT_IMAGE', message: `no image for this mask (expected ${describeImage(mask.stem)})` });
      continue;
    }
    const first = byStem.get(mask.stem);
    if (first !== undefined) {
      problems.push({ path: mask.path, severity: 'error', code: 'MASK_DUPLICATE', message: `a second mask for the same image; using ${first}` });
      continue;
    }
    byStem.set(mask.stem, mask.path);
  }
  return byStem;
}
