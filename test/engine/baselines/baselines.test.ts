// Crop-and-paste and Perlin anomalies: exact masks, determinism from the seed, and the normal
// image untouched outside the blended region.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chessboardDistance, createCutPaste, createPerlinAnomalies, renderTextures } from '../../../src/engine/baselines';
import type { DefectExample, GeneratedPair, ProjectPicture } from '../../../src/engine/eval/generator';
import { blankMask, blankPicture, maskArea, type Picture } from '../../../src/engine/eval/picture';
import { Rng } from '../../../src/shared/random';

const W = 64;
const H = 48;

/** A smooth gradient background (every pixel distinct from the defect colour). */
function normalPicture(seed: number): ProjectPicture {
  const p = blankPicture(W, H);
  const rng = new Rng(seed);
  for (let i = 0; i < W * H; i++) {
    p.data[i * 3] = 0.2 + 0.3 * ((i % W) / W);
    p.data[i * 3 + 1] = 0.25 + 0.01 * rng.uniform();
    p.data[i * 3 + 2] = 0.3;
  }
  return { imageId: 100 + seed, picture: p };
}

/** A training defect: a bright 6x4 rectangle plus a 1-pixel speck, on a mid-grey image. */
function trainingDefect(): DefectExample {
  const picture = blankPicture(W, H);
  picture.data.fill(0.5);
  const mask = blankMask(W, H);
  for (let y = 10; y < 14; y++) for (let x = 20; x < 26; x++) {
    mask.data[y * W + x] = 1;
    picture.data.fill(0.95, (y * W + x) * 3, (y * W + x) * 3 + 3);
  }
  mask.data[40 * W + 50] = 1;
  picture.data.fill(0.95, (40 * W + 50) * 3, (40 * W + 50) * 3 + 3);
  return { imageId: 7, defectType: 'scratch', picture, mask };
}

function samePicture(a: Picture, b: Picture): boolean {
  return a.data.every((v, i) => v === b.data[i]);
}

/** pixels farther than `radius` (chessboard) from the mask must equal the normal image exactly */
function assertUnchangedOutside(pair: GeneratedPair, normal: Picture, radius: number): void {
  const d = chessboardDistance(pair.mask, radius);
  for (let i = 0; i < d.length; i++) {
    if (d[i]! <= radius) continue;
    for (let c = 0; c < 3; c++) assert.equal(pair.image.data[i * 3 + c], normal.data[i * 3 + c], `pixel ${i} changed outside the blended region`);
  }
}

test('cutpaste without transforms pastes the real defect pixels exactly where the mask says', () => {
  const gen = createCutPaste([trainingDefect()], { maxRotationDeg: 0, minScale: 1, maxScale: 1, flips: false, featherPx: 2 });
  const normal = normalPicture(1);
  for (let seed = 0; seed < 20; seed++) {
    const pair = gen.generate(normal, 'scratch', new Rng(seed)) as GeneratedPair;
    const area = maskArea(pair.mask);
    assert.ok(area === 24 || area === 1, `the mask is one region of the source, got area ${area}`);
    for (let i = 0; i < W * H; i++) {
      if (!pair.mask.data[i]) continue;
      // inside the mask the defect replaces the normal image: the source colour
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(pair.image.data[i * 3 + c]! - 0.95) < 1e-6, `mask pixel ${i} is not the defect colour`);
    }
    assertUnchangedOutside(pair, normal.picture, 2);
    assert.equal(pair.lineage.normalImageId, normal.imageId);
    assert.deepEqual(pair.lineage.sourceImageIds, [7]);
  }
});

test('cutpaste with flips, rotation and scale: mask area follows the scale, seam bounded, deterministic', () => {
  const gen = createCutPaste([trainingDefect()]);
  const normal = normalPicture(2);
  let rotated = 0;
  for (let seed = 0; seed < 30; seed++) {
    const a = gen.generate(normal, 'scratch', new Rng(seed)) as GeneratedPair;
    const b = gen.generate(normal, 'scratch', new Rng(seed)) as GeneratedPair;
    assert.ok(samePicture(a.image, b.image) && a.mask.data.every((v, i) => v === b.mask.data[i]), `seed ${seed} is not deterministic`);
    assertUnchangedOutside(a, normal.picture, 2);
    const area = maskArea(a.mask);
    const scale = a.lineage.sampled.scale as number;
    if (area > 1) {
      // a 24-pixel rectangle scaled by s covers about 24 s^2 pixels (nearest sampling of the edges)
      assert.ok(Math.abs(area - 24 * scale * scale) < 10 * scale + 6, `area ${area} for scale ${scale}`);
      if (Math.abs(a.lineage.sampled.rotationDeg as number) > 10) rotated++;
    }
    assert.ok(area >= 1, 'the mask is never empty');
  }
  assert.ok(rotated > 0, 'some pairs are rotated');
  assert.throws(() => gen.generate(normal, 'crack', new Rng(1)), /defect type 'crack' has no training image/);
});

test('perlin anomalies: beta in [0.1, 1), the image changes only inside the mask, by the DRAEM blend', () => {
  const textures = renderTextures(['wood', 'fabric'], 5, W, H);
  const gen = createPerlinAnomalies(textures);
  const normal = normalPicture(3);
  const areas: number[] = [];
  for (let seed = 0; seed < 25; seed++) {
    const pair = gen.generate(normal, 'any', new Rng(seed)) as GeneratedPair;
    const again = gen.generate(normal, 'any', new Rng(seed)) as GeneratedPair;
    assert.ok(samePicture(pair.image, again.image), `seed ${seed} is not deterministic`);
    const beta = pair.lineage.sampled.beta as number;
    assert.ok(beta >= 0.1 && beta < 1, `beta ${beta}`);
    const texture = textures.find((t) => t.family === pair.lineage.sampled.texture)!;
    const { flipX, flipY } = pair.lineage.sampled as { flipX: boolean; flipY: boolean };
    for (let i = 0; i < W * H; i++) {
      const x = i % W, y = Math.floor(i / W);
      for (let c = 0; c < 3; c++) {
        const k = i * 3 + c;
        if (!pair.mask.data[i]) {
          assert.equal(pair.image.data[k], normal.picture.data[k], `pixel ${i} changed outside the mask`);
        } else {
          const t = texture.picture.data[((flipY ? H - 1 - y : y) * W + (flipX ? W - 1 - x : x)) * 3 + c]!;
          assert.ok(Math.abs(pair.image.data[k]! - ((1 - beta) * t + beta * normal.picture.data[k]!)) < 1e-6, `pixel ${i} is not the DRAEM blend`);
        }
      }
    }
    areas.push(maskArea(pair.mask));
  }
  assert.ok(Math.min(...areas) > 0, 'masks are never empty');
  assert.ok(new Set(areas).size > 10, 'masks vary in size');
});
