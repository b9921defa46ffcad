// MVTec AD layout, one folder per category:
//   <category>/train/good/r<id>.<ext>            real normal training images
//   <category>/train/<type>/s<id>.png            synthetic defect images (never under test/)
//   <category>/test/good/r<id>.<ext>             real normal test images
//   <category>/test/<type>/r<id>.<ext>           real held-out defect images
//   <category>/ground_truth/<type>/<stem>_mask.png   masks of both (s... synthetic, r... real)
import { ManifestBuilder } from './manifest';
import { realStem, syntheticStem, type ExportSet } from './types';
import type { TreeWriter } from './writer';

export async function writeMvtec(set: ExportSet, tree: TreeWriter, base: string): Promise<void> {
  const manifest = new ManifestBuilder('mvtec');
  for (const r of set.trainGood) {
    const file = `${r.category}/train/good/${realStem(r)}${r.ext}`;
    await tree.write(`${base}/${file}`, r.image);
    manifest.addReal(r, { file, split: 'train' });
  }
  for (const s of set.synthetic) {
    const stem = syntheticStem(s);
    const file = `${s.category}/train/${s.defectType}/${stem}.png`;
    const mask = `${s.category}/ground_truth/${s.defectType}/${stem}_mask.png`;
    await tree.write(`${base}/${file}`, s.image);
    await tree.write(`${base}/${mask}`, s.mask.png);
    manifest.addSynthetic(s, { file, mask, split: 'train' });
  }
  for (const r of set.test) {
    const folder = r.defectType ?? 'good';
    const file = `${r.category}/test/${folder}/${realStem(r)}${r.ext}`;
    await tree.write(`${base}/${file}`, r.image);
    let mask: string | undefined;
    if (r.defectType !== null && r.mask) {
      mask = `${r.category}/ground_truth/${r.defectType}/${realStem(r)}_mask.png`;
      await tree.write(`${base}/${mask}`, r.mask.png);
    }
    manifest.addReal(r, { file, ...(mask ? { mask } : {}), split: 'test' });
  }
  await tree.write(`${base}/manifest.json`, manifest.toJson(set));
}
