// A tiny MVTec-AD-style dataset written with sharp for the browser tests: one category with good
// train/test images, one defect type with masks, and one corrupt file the import must reject.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

export interface TinyDataset {
  root: string;
  category: string;
  defectType: string;
  trainGood: number;
  testGood: number;
  defects: number;
  /** The file the import must reject (not a decodable image). */
  corruptFile: string;
}

const SIZE = 32;

function grayImage(seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(SIZE * SIZE);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + seed * 31) % 200;
  return sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 1 } }).png().toBuffer();
}

function squareMask(offset: number): Promise<Buffer> {
  const pixels = Buffer.alloc(SIZE * SIZE);
  for (let y = offset; y < offset + 8; y++) for (let x = offset; x < offset + 8; x++) pixels[y * SIZE + x] = 255;
  return sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 1 } }).png().toBuffer();
}

export async function writeTinyMvtec(parent: string): Promise<TinyDataset> {
  const category = '나사 screw';
  const defectType = 'scratch';
  const root = join(parent, category);
  const dirs = {
    trainGood: join(root, 'train', 'good'),
    testGood: join(root, 'test', 'good'),
    defect: join(root, 'test', defectType),
    masks: join(root, 'ground_truth', defectType),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  const ds: TinyDataset = { root, category, defectType, trainGood: 3, testGood: 2, defects: 3, corruptFile: join(dirs.defect, '999 broken.png') };
  let seed = 0;
  for (let i = 0; i < ds.trainGood; i++) writeFileSync(join(dirs.trainGood, `00${i}.png`), await grayImage(seed++));
  for (let i = 0; i < ds.testGood; i++) writeFileSync(join(dirs.testGood, `00${i}.png`), await grayImage(seed++));
  for (let i = 0; i < ds.defects; i++) {
    writeFileSync(join(dirs.defect, `00${i}.png`), await grayImage(seed++));
    writeFileSync(join(dirs.masks, `00${i}_mask.png`), await squareMask(4 + 4 * i));
  }
  // A PNG signature followed by garbage: a file that claims to be an image but cannot be decoded.
  writeFileSync(ds.corruptFile, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('not really a png')]));
  return ds;
}
