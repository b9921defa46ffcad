// A small MVTec-style dataset for the workstation browser tests, with images big enough for the
// mask editor's area check: 480x360 RGB, textured so the thumbnails and the viewer show something.
// One defect type has masks, another has none (its images are what the editor test draws on).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

export interface WorkstationDataset {
  root: string;
  category: string;
  width: number;
  height: number;
  trainGood: number;
  testGood: number;
  /** Defect type with one mask per image. */
  masked: { name: string; images: number };
  /** Defect type whose images have no mask yet. */
  unmasked: { name: string; images: number };
}

const W = 480;
const H = 360;

function texture(seed: number): Promise<Buffer> {
  const px = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      const stripe = ((x + seed * 13) >> 4) % 2 === 0 ? 30 : 0;
      px[i] = 90 + stripe + ((x * 3 + y * 5 + seed * 17) % 40);
      px[i + 1] = 100 + stripe + ((x * 7 + y * 2 + seed * 11) % 30);
      px[i + 2] = 110 + ((x + y + seed) % 25);
    }
  }
  return sharp(px, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
}

function blobMask(cx: number, cy: number, r: number): Promise<Buffer> {
  const px = Buffer.alloc(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if ((x - cx) ** 2 + ((y - cy) * 1.6) ** 2 <= r * r) px[y * W + x] = 255;
  return sharp(px, { raw: { width: W, height: H, channels: 1 } }).png().toBuffer();
}

export async function writeWorkstationDataset(parent: string): Promise<WorkstationDataset> {
  const ds: WorkstationDataset = {
    root: join(parent, '기판 board'),
    category: '기판 board',
    width: W,
    height: H,
    trainGood: 3,
    testGood: 2,
    masked: { name: 'scratch', images: 3 },
    unmasked: { name: 'dent 찍힘', images: 2 },
  };
  const dir = (...parts: string[]) => {
    const d = join(ds.root, ...parts);
    mkdirSync(d, { recursive: true });
    return d;
  };
  let seed = 0;
  for (let i = 0; i < ds.trainGood; i++) writeFileSync(join(dir('train', 'good'), `good ${i}.png`), await texture(seed++));
  for (let i = 0; i < ds.testGood; i++) writeFileSync(join(dir('test', 'good'), `good ${i}.png`), await texture(seed++));
  for (let i = 0; i < ds.masked.images; i++) {
    writeFileSync(join(dir('test', ds.masked.name), `00${i}.png`), await texture(seed++));
    writeFileSync(join(dir('ground_truth', ds.masked.name), `00${i}_mask.png`), await blobMask(120 + 80 * i, 150, 50 + 10 * i));
  }
  for (let i = 0; i < ds.unmasked.images; i++) writeFileSync(join(dir('test', ds.unmasked.name), `00${i}.png`), await texture(seed++));
  return ds;
}
