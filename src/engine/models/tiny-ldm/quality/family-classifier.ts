// Does a generated defect look like its family? The defect-type classifier of the evaluation
// (eval/classifier.ts: it sees the image and the defect's mask) is trained on REAL procedural
// defects of every corpus defect family (its own sample stream) and tested on generated defects;
// accuracy is compared with chance (1 / number of families).
// The classifier is told where the defect is, and mask shapes differ between families (a
// scratch is a thin line, a hole a round blob), so a control is trained and tested the same way
// on the masks alone (the image planes a flat grey): the generated defects carry information
// about their family beyond the mask's shape where their accuracy exceeds the control's.

import { trainAndTestClassifier, type ClassifierOptions, type LabelledPair } from '../../../eval/classifier';
import { blankPicture, coverageResize, type Mask, type Picture } from '../../../eval/picture';
import { downscale } from '../train/data';
import type { RgbImage } from '../../../diffusion/image-tensor';

export interface ClassifierSettings {
  /** classifier resolution (divides the model's image size) */
  size: number;
  channels: number;
  batch: number;
  steps: number;
  lr: number;
  seed: number;
}

export const DEFAULT_CLASSIFIER: ClassifierSettings = { size: 64, channels: 8, batch: 16, steps: 400, lr: 3e-3, seed: 3 };

/** An RGB image (8-bit) and its 0/non-zero mask at the model's size, with its family's index. */
export interface ClassifierItem {
  image: RgbImage;
  mask: Uint8Array;
  label: number;
}

export interface FamilyClassification {
  accuracy: number;
  chance: number;
  /** confusion[true][predicted] */
  confusion: number[][];
  /** accuracy of the mask-only control on the same test masks */
  maskOnlyAccuracy: number;
  maskOnlyConfusion: number[][];
  trainItems: number;
  testItems: number;
}

/** Box-filter RGB to the classifier's size, values in [0, 1]; the mask by area coverage. */
export function toLabelledPair(item: ClassifierItem, size: number, maskOnly = false): LabelledPair {
  const { width, height } = item.image;
  if (width !== height || width % size !== 0) throw new RangeError(`classifier: a ${width}x${height} image does not reduce to ${size}x${size}`);
  const factor = width / size;
  const picture: Picture = blankPicture(size, size);
  if (maskOnly) picture.data.fill(0.5);
  else {
    const small = downscale(item.image.data, width, 3, factor);
    for (let i = 0; i < small.length; i++) picture.data[i] = small[i]! / 255;
  }
  const full: Mask = { width, height, data: Uint8Array.from(item.mask, (v) => (v > 0 ? 1 : 0)) };
  let mask = coverageResize(full, size, size);
  // a defect thinner than a quarter of a classifier pixel: any coverage (the classifier must see it)
  if (!mask.data.some((v) => v > 0)) mask = coverageResizeAny(full, size);
  return { picture, mask, label: item.label };
}

function coverageResizeAny(full: Mask, size: number): Mask {
  const factor = full.width / size;
  const data = new Uint8Array(size * size);
  for (let y = 0; y < full.height; y++) for (let x = 0; x < full.width; x++) if (full.data[y * full.width + x]) data[Math.floor(y / factor) * size + Math.floor(x / factor)] = 1;
  return { width: size, height: size, data };
}

function options(classes: number, s: ClassifierSettings): ClassifierOptions {
  return { classes, width: s.size, height: s.size, channels: s.channels, batch: s.batch, steps: s.steps, lr: s.lr, seed: s.seed };
}

/** Trains on `train` (real defects), tests on `test` (generated ones); then the mask-only control. */
export async function classifyFamilies(train: readonly ClassifierItem[], test: readonly ClassifierItem[], classes: number, settings: ClassifierSettings): Promise<FamilyClassification> {
  if (train.length === 0 || test.length === 0) throw new RangeError(`classifier: ${train.length} training and ${test.length} test items`);
  const o = options(classes, settings);
  const full = await trainAndTestClassifier(train.map((it) => toLabelledPair(it, settings.size)), test.map((it) => toLabelledPair(it, settings.size)), o);
  const control = await trainAndTestClassifier(train.map((it) => toLabelledPair(it, settings.size, true)), test.map((it) => toLabelledPair(it, settings.size, true)), o);
  return {
    accuracy: full.accuracy,
    chance: 1 / classes,
    confusion: full.confusion,
    maskOnlyAccuracy: control.accuracy,
    maskOnlyConfusion: control.confusion,
    trainItems: train.length,
    testItems: test.length,
  };
}

/** Share of the items of class k that were classified as k (NaN when there are none). */
export function recall(confusion: number[][], k: number): number {
  const row = confusion[k] ?? [];
  const total = row.reduce((a, v) => a + v, 0);
  return total ? row[k]! / total : Number.NaN;
}
