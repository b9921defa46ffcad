// MVTec AD layout:
//   <category>/train/good/*            good images for training
//   <category>/test/good/*             good images for evaluation
//   <category>/test/<type>/*           defect images of <type>
//   <category>/ground_truth/<type>/<stem>_mask.png   (or <stem>.png) the mask of test/<type>/<stem>.*
// The folder given is a category folder itself, or a parent holding several (other sub-folders
// of a parent are ignored). train/<type> folders other than good are accepted as defect images in
// the train split. Folder names match case-insensitively for train/test/good/ground_truth.
import { basename, join } from 'node:path';
import { UserError } from '../../shared/errors';
import type { ImportProblem } from '../../shared/dto';
import { findDir, isImageFile, listDir, maskStem, stemOf } from './scan';
import { pairMasks, type ImportPlan, type PlannedImage } from './plan';

export function isMvtecCategory(dir: string, exclude: readonly string[] = []): boolean {
  const { dirs } = listDir(dir, exclude);
  return findDir(dirs, 'train') !== undefined || findDir(dirs, 'test') !== undefined;
}

export function mvtecCategoryDirs(folder: string, exclude: readonly string[] = []): string[] {
  if (isMvtecCategory(folder, exclude)) return [folder];
  return listDir(folder, exclude).dirs.filter((d) => isMvtecCategory(d, exclude));
}

export function planMvtec(folder: string, exclude: readonly string[] = []): ImportPlan {
  const categoryDirs = mvtecCategoryDirs(folder, exclude);
  if (categoryDirs.length === 0) {
    throw new UserError('IMPORT_LAYOUT', `${folder} is not in MVTec AD layout: neither it nor any folder inside it has a train/ or test/ folder.`);
  }
  const plan: ImportPlan = { layout: 'mvtec', categories: [], images: [], problems: [], ignoredFiles: 0 };
  for (const dir of categoryDirs) planCategory(dir, plan, exclude);
  return plan;
}

function planCategory(dir: string, plan: ImportPlan, exclude: readonly string[]): void {
  const category = basename(dir);
  plan.categories.push(category);
  const top = listDir(dir, exclude);
  const images: PlannedImage[] = [];
  for (const split of ['train', 'test'] as const) {
    const splitDir = findDir(top.dirs, split);
    if (!splitDir) continue;
    const inSplit = listDir(splitDir, exclude);
    plan.ignoredFiles += inSplit.files.length;
    for (const typeDir of inSplit.dirs) {
      const typeName = basename(typeDir);
      const defectType = typeName.toLowerCase() === 'good' ? null : typeName;
      for (const file of listDir(typeDir, exclude).files) {
        if (isImageFile(file)) images.push({ path: file, category, split, defectType, maskPath: null });
        else plan.ignoredFiles++;
      }
    }
  }

  const truthDir = findDir(top.dirs, 'ground_truth');
  if (truthDir) {
    for (const typeDir of listDir(truthDir, exclude).dirs) {
      const typeName = basename(typeDir);
      const ofType = images.filter((img) => img.defectType === typeName);
      const masks: { path: string; stem: string }[] = [];
      for (const file of listDir(typeDir, exclude).files) {
        if (isImageFile(file)) masks.push({ path: file, stem: maskStem(file) ?? stemOf(file) });
        else plan.ignoredFiles++;
      }
      const expected = (stem: string): string => `${join(dir, 'test', typeName, stem)}.png (or .jpg, .bmp, .tif)`;
      const byStem = pairMasks(new Set(ofType.map((img) => stemOf(img.path))), masks, plan.problems, expected);
      for (const img of ofType) img.maskPath = byStem.get(stemOf(img.path)) ?? null;
    }
  }
  plan.problems.push(...missingMaskWarnings(images));
  plan.images.push(...images);
}

export function missingMaskWarnings(images: readonly PlannedImage[]): ImportProblem[] {
  return images
    .filter((img) => img.defectType !== null && img.maskPath === null)
    .map((img) => ({
      path: img.path,
      severity: 'warning' as const,
      code: 'IMAGE_WITHOUT_MASK' as const,
      message: `defect image of type "${img.defectType}" has no mask; it is imported, and a mask can be drawn in the app`,
    }));
}
