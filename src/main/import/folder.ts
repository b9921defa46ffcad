// Plain folder layout, for datasets that are just a folder of pictures:
//   <folder>/a.png, b.png ...          category = the folder's name
//   <folder>/a_mask.png                a mask next to its image, or
//   <folder>/masks/a_mask.png          in a masks/ sub-folder (there `a.png` is accepted too)
//   <folder>/<type>/...                a sub-folder names a defect type; same mask rules inside
//   <folder>/good/...                  a sub-folder called good holds good images
// At the top level an image with a mask is a defect of type "defect" and one without is good.
// Inside a type folder every image is a defect of that type (a missing mask is a warning: it can
// be drawn in the app). Good images go to the train split, defect images to the test split (as in
// MVTec AD), and the defect images are then divided into train/holdout by defect_split.
import { basename, join } from 'node:path';
import { findDir, isImageFile, listDir, maskStem, stemOf } from './scan';
import { pairMasks, type ImportPlan, type PlannedImage } from './plan';
import { missingMaskWarnings } from './mvtec';

export const DEFAULT_DEFECT_TYPE = 'defect';

export function planFolder(folder: string, exclude: readonly string[] = []): ImportPlan {
  const category = basename(folder);
  const plan: ImportPlan = { layout: 'folder', categories: [category], images: [], problems: [], ignoredFiles: 0 };
  const top = listDir(folder, exclude);
  planGroup(folder, top.files, top.dirs, category, 'by-mask', plan, exclude);
  for (const sub of top.dirs) {
    const name = basename(sub);
    if (name.toLowerCase() === 'masks') continue;
    const inner = listDir(sub, exclude);
    planGroup(sub, inner.files, inner.dirs, category, name.toLowerCase() === 'good' ? 'good' : name, plan, exclude);
  }
  return plan;
}

/** `kind`: 'by-mask' (top level), 'good', or a defect type name. */
function planGroup(dir: string, files: readonly string[], dirs: readonly string[], category: string, kind: string, plan: ImportPlan, exclude: readonly string[]): void {
  const imageFiles: string[] = [];
  const masks: { path: string; stem: string }[] = [];
  for (const file of files) {
    if (!isImageFile(file)) plan.ignoredFiles++;
    else if (maskStem(file) !== null) masks.push({ path: file, stem: maskStem(file)! });
    else imageFiles.push(file);
  }
  const masksDir = findDir(dirs, 'masks');
  if (masksDir) {
    for (const file of listDir(masksDir, exclude).files) {
      if (isImageFile(file)) masks.push({ path: file, stem: maskStem(file) ?? stemOf(file) });
      else plan.ignoredFiles++;
    }
  }
  const expected = (stem: string): string => `${join(dir, stem)}.png (or .jpg, .bmp, .tif)`;
  const byStem = pairMasks(new Set(imageFiles.map(stemOf)), masks, plan.problems, expected);
  const images: PlannedImage[] = imageFiles.map((path) => {
    const maskPath = byStem.get(stemOf(path)) ?? null;
    const defectType = kind === 'good' ? null : kind === 'by-mask' ? (maskPath ? DEFAULT_DEFECT_TYPE : null) : kind;
    return { path, category, split: defectType === null ? 'train' : 'test', defectType, maskPath };
  });
  plan.problems.push(...missingMaskWarnings(images));
  plan.images.push(...images);
}
