// Writes a corpus in the MVTec AD layout and reads such a layout back.
//
//   <out>/<family>/train/good/000.png
//   <out>/<family>/test/good/000.png
//   <out>/<family>/test/<defect>/000.png
//   <out>/<family>/ground_truth/<defect>/000_mask.png      (8-bit grey, 0/255)
//   <out>/labels.json                                       (family and defect per file)
//
// Every file's pixels come from a seed derived from (corpus seed, family, split, defect, index),
// so asking for fewer families or fewer files never changes the files that are written.

import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '../../shared/random';
import { UserError } from '../../shared/errors';
import { NORMAL_FAMILIES, applyDefect } from './families';
import { CORPUS_SIZE, generateNormal } from './normals';
import { readPng, writeFileAtomic, writeMaskPng, writeRgbPng } from './png';
import { deriveSeed } from './seed';

export interface MvtecCorpusOptions {
  seed: number;
  /** normal families to write (default: all) */
  families?: readonly string[];
  trainGood: number;
  testGood: number;
  /** images per suitable defect family, per normal family */
  defectsPerType: number;
  /** called after every written image */
  onProgress?: (done: number, total: number) => void;
}

export interface LabelEntry {
  /** path relative to the corpus root, '/'-separated */
  file: string;
  family: string;
  split: 'train' | 'test';
  /** 'good' for defect-free images */
  defect: string;
  /** relative path of the mask for defect images */
  mask?: string;
  /** mask area as a fraction of the image (defect images) */
  area?: number;
  seed: number;
}

export interface CorpusLabels {
  version: 1;
  seed: number;
  size: number;
  families: { name: string; kind: 'texture' | 'object'; defects: string[] }[];
  files: LabelEntry[];
}

function indexName(i: number, count: number): string {
  return String(i).padStart(Math.max(3, String(count - 1).length), '0');
}

function checkCount(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new UserError('corpus-bad-option', `${name} must be a whole number >= 0; got ${v}`);
}

export async function writeMvtecCorpus(outDir: string, options: MvtecCorpusOptions): Promise<CorpusLabels> {
  checkCount('trainGood', options.trainGood);
  checkCount('testGood', options.testGood);
  checkCount('defectsPerType', options.defectsPerType);
  if (!Number.isInteger(options.seed)) throw new UserError('corpus-bad-option', `seed must be an integer; got ${options.seed}`);
  const known = new Map(NORMAL_FAMILIES.map((f) => [f.name, f]));
  const names = options.families ?? NORMAL_FAMILIES.map((f) => f.name);
  for (const n of names) if (!known.has(n)) throw new UserError('corpus-unknown-family', `unknown normal family '${n}'; known: ${[...known.keys()].join(', ')}`);
  const families = names.map((n) => known.get(n)!);
  const total = families.reduce((sum, f) => sum + options.trainGood + options.testGood + f.defects.length * options.defectsPerType, 0);
  const files: LabelEntry[] = [];
  let done = 0;
  const tick = (): void => {
    done++;
    options.onProgress?.(done, total);
  };
  for (const family of families) {
    const goods: ['train' | 'test', number][] = [
      ['train', options.trainGood],
      ['test', options.testGood],
    ];
    for (const [split, count] of goods) {
      for (let i = 0; i < count; i++) {
        const seed = deriveSeed(options.seed, family.name, split, 'good', i);
        const normal = generateNormal(family.name, new Rng(seed));
        const file = `${family.name}/${split}/good/${indexName(i, count)}.png`;
        await writeRgbPng(join(outDir, ...file.split('/')), normal.image);
        files.push({ file, family: family.name, split, defect: 'good', seed });
        tick();
      }
    }
    for (const defect of family.defects) {
      for (let i = 0; i < options.defectsPerType; i++) {
        const seed = deriveSeed(options.seed, family.name, 'test', defect, i);
        const rng = new Rng(seed);
        const normal = generateNormal(family.name, rng);
        const result = applyDefect(defect, normal, rng);
        const stem = indexName(i, options.defectsPerType);
        const file = `${family.name}/test/${defect}/${stem}.png`;
        const mask = `${family.name}/ground_truth/${defect}/${stem}_mask.png`;
        await writeRgbPng(join(outDir, ...file.split('/')), result.image);
        await writeMaskPng(join(outDir, ...mask.split('/')), result.mask, result.image.width, result.image.height);
        files.push({ file, family: family.name, split: 'test', defect, mask, area: Number(result.area.toFixed(6)), seed });
        tick();
      }
    }
  }
  const labels: CorpusLabels = {
    version: 1,
    seed: options.seed,
    size: CORPUS_SIZE,
    families: families.map((f) => ({ name: f.name, kind: f.kind, defects: [...f.defects] })),
    files,
  };
  await writeFileAtomic(join(outDir, 'labels.json'), JSON.stringify(labels, null, 1) + '\n');
  return labels;
}

export interface MvtecEntry {
  family: string;
  split: 'train' | 'test';
  defect: string;
  /** absolute path of the image */
  image: string;
  /** absolute path of the mask (test images of a defect type) */
  mask?: string;
}

async function pngsIn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.toLowerCase().endsWith('.png')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * Lists an MVTec-layout folder by walking it (labels.json is not needed): every
 * `<family>/train/good`, `<family>/test/<type>` image, with its `ground_truth/<type>/<stem>_mask.png`
 * for defect types. A defect image without its mask is an error that names the file.
 */
export async function readMvtecLayout(root: string): Promise<MvtecEntry[]> {
  const entries: MvtecEntry[] = [];
  const familyDirs = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  for (const family of familyDirs) {
    for (const f of await pngsIn(join(root, family, 'train', 'good'))) entries.push({ family, split: 'train', defect: 'good', image: join(root, family, 'train', 'good', f) });
    let types: string[] = [];
    try {
      types = (await readdir(join(root, family, 'test'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const type of types) {
      const masks = new Set(await pngsIn(join(root, family, 'ground_truth', type)));
      for (const f of await pngsIn(join(root, family, 'test', type))) {
        const image = join(root, family, 'test', type, f);
        if (type === 'good') {
          entries.push({ family, split: 'test', defect: 'good', image });
          continue;
        }
        const maskName = f.replace(/\.png$/i, '_mask.png');
        if (!masks.has(maskName)) throw new UserError('corpus-missing-mask', `${image}: no mask ${join(root, family, 'ground_truth', type, maskName)}`);
        entries.push({ family, split: 'test', defect: type, image, mask: join(root, family, 'ground_truth', type, maskName) });
      }
    }
  }
  return entries;
}

export async function readCorpusLabels(root: string): Promise<CorpusLabels> {
  const path = join(root, 'labels.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new UserError('corpus-bad-labels', `${path}: ${(e as Error).message}`);
  }
  const labels = parsed as Partial<CorpusLabels>;
  if (labels.version !== 1 || !Array.isArray(labels.files)) throw new UserError('corpus-bad-labels', `${path}: not a version-1 corpus labels file`);
  return labels as CorpusLabels;
}

export { readPng };
