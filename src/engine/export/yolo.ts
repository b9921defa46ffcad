// YOLO segmentation (Ultralytics layout): images/{train,test}/<stem>.<ext> and
// labels/{train,test}/<stem>.txt, one line per outer contour of the mask:
//   <class> x1 y1 x2 y2 ...   (corners of the pixel grid, divided by width and height)
// normal images get an empty label file (background images). data.yaml names the classes (the
// defect types, 0-based) and points train at the synthetic pairs and real normals, val at the
// real test images.
import { maskContours } from './contours';
import { ManifestBuilder } from './manifest';
import { realStem, syntheticStem, type ExportMask, type ExportSet } from './types';
import type { TreeWriter } from './writer';

/** 6 decimals: sub-pixel exact for images up to 10^6 pixels wide; trailing zeros dropped. */
const coord = (v: number): string => String(Number(v.toFixed(6)));

export function yoloLines(mask: ExportMask, classId: number): string[] {
  return maskContours(mask.data, mask.width, mask.height).outer.map((poly) => [classId, ...poly.flatMap(([x, y]) => [coord(x / mask.width), coord(y / mask.height)])].join(' '));
}

export async function writeYolo(set: ExportSet, tree: TreeWriter, base: string): Promise<void> {
  const manifest = new ManifestBuilder('yolo');
  const classOf = new Map(set.types.map((t, i) => [`${t.category}/${t.name}`, i]));
  const label = (lines: string[]): string => (lines.length ? lines.join('\n') + '\n' : '');
  for (const r of set.trainGood) {
    const file = `images/train/${realStem(r)}${r.ext}`;
    await tree.write(`${base}/${file}`, r.image);
    await tree.write(`${base}/labels/train/${realStem(r)}.txt`, '');
    manifest.addReal(r, { file, split: 'train' });
  }
  for (const s of set.synthetic) {
    const stem = syntheticStem(s);
    const file = `images/train/${stem}.png`;
    await tree.write(`${base}/${file}`, s.image);
    await tree.write(`${base}/labels/train/${stem}.txt`, label(yoloLines(s.mask, classOf.get(`${s.category}/${s.defectType}`)!)));
    manifest.addSynthetic(s, { file, mask: `labels/train/${stem}.txt`, split: 'train' });
  }
  for (const r of set.test) {
    const stem = realStem(r);
    const file = `images/test/${stem}${r.ext}`;
    await tree.write(`${base}/${file}`, r.image);
    const lines = r.defectType !== null && r.mask ? yoloLines(r.mask, classOf.get(`${r.category}/${r.defectType}`)!) : [];
    await tree.write(`${base}/labels/test/${stem}.txt`, label(lines));
    manifest.addReal(r, { file, split: 'test' });
  }
  const names = set.types.map((t, i) => `  ${i}: ${JSON.stringify(`${t.category}/${t.name}`)}`);
  await tree.write(`${base}/data.yaml`, ['path: .', 'train: images/train', 'val: images/test', 'test: images/test', 'names:', ...names, ''].join('\n'));
  await tree.write(`${base}/manifest.json`, manifest.toJson(set));
}
