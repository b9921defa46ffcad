// COCO instance segmentation: images/train (real normals, no annotation, and synthetic pairs),
// images/test (real test images), annotations/instances_{train,test}.json. One annotation per
// defect image: its whole mask as uncompressed RLE (column-major counts, see rle.ts), with area
// and bbox; categories are the defect types (name 'category/type', supercategory the category).
import { ManifestBuilder } from './manifest';
import { encodeRle, maskBox, type CocoRle } from './rle';
import { realStem, syntheticStem, type ExportMask, type ExportSet } from './types';
import type { TreeWriter } from './writer';

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  segmentation: CocoRle;
  area: number;
  bbox: [number, number, number, number];
  iscrowd: 0;
}

export interface CocoDataset {
  info: { description: string; version: string; date_created: string };
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: { id: number; name: string; supercategory: string }[];
}

const typeKey = (category: string, name: string): string => `${category}/${name}`;

export async function writeCoco(set: ExportSet, tree: TreeWriter, base: string): Promise<void> {
  const manifest = new ManifestBuilder('coco');
  const categories = set.types.map((t, i) => ({ id: i + 1, name: typeKey(t.category, t.name), supercategory: t.category }));
  const categoryId = new Map(categories.map((c) => [c.name, c.id]));
  const created = new Date().toISOString();
  const make = (split: string): CocoDataset => ({ info: { description: `${set.projectName}: DefectForge export (${split})`, version: '1', date_created: created }, images: [], annotations: [], categories });
  const train = make('train');
  const test = make('test');
  const annotate = (ds: CocoDataset, imageId: number, category: string, type: string, mask: ExportMask): void => {
    const { bbox, area } = maskBox(mask.data, mask.width, mask.height);
    if (area === 0) return;
    ds.annotations.push({ id: ds.annotations.length + 1, image_id: imageId, category_id: categoryId.get(typeKey(category, type))!, segmentation: encodeRle(mask.data, mask.width, mask.height), area, bbox, iscrowd: 0 });
  };

  for (const r of set.trainGood) {
    const file = `images/train/${realStem(r)}${r.ext}`;
    await tree.write(`${base}/${file}`, r.image);
    train.images.push({ id: train.images.length + 1, file_name: file.slice('images/'.length), width: r.width, height: r.height });
    manifest.addReal(r, { file, split: 'train' });
  }
  for (const s of set.synthetic) {
    const file = `images/train/${syntheticStem(s)}.png`;
    await tree.write(`${base}/${file}`, s.image);
    const id = train.images.length + 1;
    train.images.push({ id, file_name: file.slice('images/'.length), width: s.width, height: s.height });
    annotate(train, id, s.category, s.defectType, s.mask);
    manifest.addSynthetic(s, { file, split: 'train' });
  }
  for (const r of set.test) {
    const file = `images/test/${realStem(r)}${r.ext}`;
    await tree.write(`${base}/${file}`, r.image);
    const id = test.images.length + 1;
    test.images.push({ id, file_name: file.slice('images/'.length), width: r.width, height: r.height });
    if (r.defectType !== null && r.mask) annotate(test, id, r.category, r.defectType, r.mask);
    manifest.addReal(r, { file, split: 'test' });
  }
  for (const [name, ds] of [['train', train], ['test', test]] as const) {
    const problems = cocoProblems(ds);
    if (problems.length) throw new Error(`COCO export (${name}): ${problems.slice(0, 3).join('; ')}`);
    await tree.write(`${base}/annotations/instances_${name}.json`, JSON.stringify(ds) + '\n');
  }
  await tree.write(`${base}/manifest.json`, manifest.toJson(set));
}

/** Checks a COCO instance-segmentation dataset's structure; returns its problems (none: valid). */
export function cocoProblems(ds: unknown): string[] {
  const problems: string[] = [];
  if (typeof ds !== 'object' || ds === null) return ['not an object'];
  const d = ds as Partial<CocoDataset>;
  for (const field of ['images', 'annotations', 'categories'] as const) if (!Array.isArray(d[field])) problems.push(`'${field}' is not a list`);
  if (problems.length) return problems;
  const images = new Map<number, CocoImage>();
  for (const im of d.images!) {
    if (!Number.isInteger(im.id) || typeof im.file_name !== 'string' || !(im.width > 0) || !(im.height > 0)) problems.push(`image ${JSON.stringify(im.id)}: needs id, file_name, width, height`);
    if (images.has(im.id)) problems.push(`image id ${im.id} is used twice`);
    images.set(im.id, im);
  }
  const categories = new Set<number>();
  for (const c of d.categories!) {
    if (!Number.isInteger(c.id) || typeof c.name !== 'string' || c.name === '') problems.push(`category ${JSON.stringify(c.id)}: needs id and name`);
    if (categories.has(c.id)) problems.push(`category id ${c.id} is used twice`);
    categories.add(c.id);
  }
  const annotationIds = new Set<number>();
  for (const a of d.annotations!) {
    const where = `annotation ${a.id}`;
    if (!Number.isInteger(a.id) || annotationIds.has(a.id)) problems.push(`${where}: id missing or used twice`);
    annotationIds.add(a.id);
    const im = images.get(a.image_id);
    if (!im) problems.push(`${where}: no image ${a.image_id}`);
    if (!categories.has(a.category_id)) problems.push(`${where}: no category ${a.category_id}`);
    if (a.iscrowd !== 0 && a.iscrowd !== 1) problems.push(`${where}: iscrowd must be 0 or 1`);
    const rle = a.segmentation as CocoRle | undefined;
    if (!rle || !Array.isArray(rle.size) || !Array.isArray(rle.counts)) {
      problems.push(`${where}: segmentation is not an RLE {size, counts}`);
      continue;
    }
    if (im && (rle.size[0] !== im.height || rle.size[1] !== im.width)) problems.push(`${where}: RLE size [${rle.size}] is not the image's [${im.height}, ${im.width}]`);
    const total = rle.counts.reduce((s, n) => s + n, 0);
    if (total !== rle.size[0] * rle.size[1]) problems.push(`${where}: RLE counts cover ${total} pixels of ${rle.size[0] * rle.size[1]}`);
    const ones = rle.counts.reduce((s, n, i) => (i % 2 === 1 ? s + n : s), 0);
    if (ones !== a.area) problems.push(`${where}: area ${a.area} but the RLE has ${ones} pixels`);
    const [x, y, w, h] = a.bbox ?? [];
    if (im && !(x! >= 0 && y! >= 0 && w! > 0 && h! > 0 && x! + w! <= im.width && y! + h! <= im.height)) problems.push(`${where}: bbox [${a.bbox}] is not inside the image`);
  }
  return problems;
}
