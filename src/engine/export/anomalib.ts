// anomalib's Folder layout, one dataset folder per category, with a config for anomalib's Folder
// datamodule (class_path anomalib.data.Folder: normal_dir, abnormal_dir, normal_test_dir,
// mask_dir, relative to root). anomalib puts abnormal images in its test split, so the real
// held-out defects are the abnormal set; the synthetic pairs sit in their own folders for
// supervised models and are never in a folder the config reads as test data.
//   <category>/normal/r<id>.<ext>          real normal training images
//   <category>/normal_test/r<id>.<ext>     real normal test images
//   <category>/abnormal/<type>__r<id>.<ext>, <category>/mask/<type>__r<id>.png   real defects
//   <category>/synthetic/<type>__s<id>.png, <category>/synthetic_mask/<type>__s<id>.png
//   <category>/folder.yaml
import { ManifestBuilder } from './manifest';
import { realStem, syntheticStem, type ExportSet } from './types';
import type { TreeWriter } from './writer';

const yamlString = (s: string): string => JSON.stringify(s);

export async function writeAnomalib(set: ExportSet, tree: TreeWriter, base: string): Promise<void> {
  const manifest = new ManifestBuilder('anomalib');
  const categories = [...new Set(set.types.map((t) => t.category))];
  for (const r of set.trainGood) {
    const file = `${r.category}/normal/${realStem(r)}${r.ext}`;
    await tree.write(`${base}/${file}`, r.image);
    manifest.addReal(r, { file, split: 'train' });
  }
  for (const s of set.synthetic) {
    const name = `${s.defectType}__${syntheticStem(s)}.png`;
    const file = `${s.category}/synthetic/${name}`;
    const mask = `${s.category}/synthetic_mask/${name}`;
    await tree.write(`${base}/${file}`, s.image);
    await tree.write(`${base}/${mask}`, s.mask.png);
    manifest.addSynthetic(s, { file, mask, split: 'train' });
  }
  for (const r of set.test) {
    if (r.defectType === null) {
      const file = `${r.category}/normal_test/${realStem(r)}${r.ext}`;
      await tree.write(`${base}/${file}`, r.image);
      manifest.addReal(r, { file, split: 'test' });
      continue;
    }
    const stem = `${r.defectType}__${realStem(r)}`;
    const file = `${r.category}/abnormal/${stem}${r.ext}`;
    const mask = `${r.category}/mask/${stem}.png`;
    await tree.write(`${base}/${file}`, r.image);
    if (r.mask) await tree.write(`${base}/${mask}`, r.mask.png);
    manifest.addReal(r, { file, ...(r.mask ? { mask } : {}), split: 'test' });
  }
  for (const category of categories) {
    const yaml = [
      '# anomalib Folder datamodule for this category (paths relative to this file\'s folder).',
      '# Synthetic defect pairs for supervised training: synthetic/ and synthetic_mask/ (same file names).',
      'class_path: anomalib.data.Folder',
      'init_args:',
      `  name: ${yamlString(category)}`,
      '  root: "."',
      '  normal_dir: "normal"',
      '  abnormal_dir: "abnormal"',
      '  normal_test_dir: "normal_test"',
      '  mask_dir: "mask"',
      '',
    ].join('\n');
    await tree.write(`${base}/${category}/folder.yaml`, yaml);
  }
  await tree.write(`${base}/manifest.json`, manifest.toJson(set));
}
