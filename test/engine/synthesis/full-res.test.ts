// Pairs at the normal image's own resolution: a 300x120 normal image (not the 64x64 of the tiny
// model) gives a 300x120 pair whose mask is the mask source's full-resolution mask, whose
// background is the normal image byte for byte, generated on a square window at native scale (or,
// for a mask too large for one, on the whole image squeezed); a model-size image gives exactly
// what generateBlended gives; regenerate reproduces a full-resolution pair bit for bit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeTempDir } from '../../fixtures/temp-dir';
import { openProject, type Project } from '../../../src/main/store/project';
import { getSample, jobSamples } from '../../../src/main/store/samples';
import type { BuiltinModel } from '../../../src/engine/models/builtin/load';
import type { RgbImage } from '../../../src/engine/diffusion/image-tensor';
import { generateBlended } from '../../../src/engine/diffusion/blended';
import { DEFAULT_PASTE_BACK, pasteBackOf, restoreDetail, squaredDistanceToMask } from '../../../src/engine/diffusion/paste-back';
import { decodeImage, encodePng } from '../../../src/engine/imaging';
import { EmbeddingCache, resolveConditioning } from '../../../src/engine/synthesis/conditioning';
import { runSynthesis } from '../../../src/engine/synthesis/job';
import { makePair } from '../../../src/engine/synthesis/make-pair';
import { ProjectMasks, type MaskSpec } from '../../../src/engine/synthesis/mask-source';
import { normalFull } from '../../../src/engine/synthesis/pair-inputs';
import { pairWindow, resizeMaskToModel } from '../../../src/engine/synthesis/pair-window';
import { pairRecipe, type PairRecipe } from '../../../src/engine/synthesis/recipe';
import { regenerateSample } from '../../../src/engine/synthesis/regenerate';
import type { SourcedMask } from '../../../src/engine/anomaly/mask-sources';
import { loadPicture } from '../../../src/engine/eval/picture';
import { loadTiny, makeSynthesisFixture, newJob, planFor, withSynthesisFixture } from './fixture';

const tmp = makeTempDir('synthesis full res é');
let project: Project;
let model: BuiltinModel;
const W = 300;
const H = 120;
const reach = DEFAULT_PASTE_BACK.dilate + DEFAULT_PASTE_BACK.feather;

before(async () => {
  const fx = await makeSynthesisFixture(join(tmp.dir, 'wide'), { width: W, height: H });
  project = openProject(fx.projectDir);
  model = await loadTiny(fx.modelDir);
});
after(async () => {
  await model.release();
  project.close();
  tmp.cleanup();
});

const blobsOf = (p: Project) => ({ read: (h: string) => p.blobs.read(h), path: (h: string) => p.blobs.path(h) });

/** A mask source that always gives one rectangle (x0, y0, x1, y1 exclusive) at the request's size. */
class RectMasks extends ProjectMasks {
  constructor(
    p: Project,
    m: BuiltinModel,
    private readonly rect: [number, number, number, number],
  ) {
    super(p, m);
  }
  override async mask(spec: MaskSpec, normal: RgbImage): Promise<SourcedMask> {
    const data = new Uint8Array(normal.width * normal.height);
    const [x0, y0, x1, y1] = this.rect;
    for (let y = y0; y < y1; y++) data.fill(255, y * normal.width + x0, y * normal.width + x1);
    return { width: normal.width, height: normal.height, data, origin: { kind: 'drawn', seed: spec.seed } };
  }
}

async function recipeFor(p: Project, m: BuiltinModel, seed: number): Promise<PairRecipe> {
  return pairRecipe(await planFor(p, m, ['wood/scratch'], 1, seed), 0);
}

/** Checks the full-resolution pair against its normal image and mask; returns the changed pixels inside the mask. */
function checkBackground(image: RgbImage, normal: RgbImage, mask: Uint8Array): number {
  assert.deepEqual([image.width, image.height], [normal.width, normal.height]);
  const dist2 = squaredDistanceToMask(mask, normal.width, normal.height);
  let changedInside = 0;
  let untouched = 0;
  for (let p = 0; p < dist2.length; p++) {
    const same = [0, 1, 2].every((c) => image.data[p * 3 + c] === normal.data[p * 3 + c]);
    // paste-back's alpha is 0 from dilate + feather on: the normal image's bytes exactly
    if (dist2[p]! >= reach * reach) {
      assert.ok(same, `pixel ${p % normal.width},${Math.floor(p / normal.width)} beyond the feathered mask differs`);
      untouched++;
    }
    if (mask[p] === 255 && !same) changedInside++;
  }
  assert.ok(untouched > (normal.width * normal.height) / 2);
  return changedInside;
}

test('the window: native scale around a small mask, clamped in the image; the whole image for a mask too large or a non-square model', () => {
  const rect = (x0: number, y0: number, x1: number, y1: number): Uint8Array => {
    const m = new Uint8Array(W * H);
    for (let y = y0; y < y1; y++) m.fill(1, y * W + x0, y * W + x1);
    return m;
  };
  const full = { width: W, height: H };
  const model64 = { width: 64, height: 64 };
  // box 12x8 at (200, 50): margins max(25%, dilate + feather + 1 = 6) = 6 -> grown 24x20 at (194, 44);
  // side 64, centred: x = 194 - 20 = 174, y = 44 - 22 = 22
  assert.deepEqual(pairWindow(rect(200, 50, 212, 58), full, model64, DEFAULT_PASTE_BACK), { x: 174, y: 22, width: 64, height: 64, squeezed: false });
  // at the right border: clamped to x = 300 - 64
  assert.deepEqual(pairWindow(rect(290, 100, 298, 118), full, model64, DEFAULT_PASTE_BACK), { x: 236, y: 56, width: 64, height: 64, squeezed: false });
  // box 80x40: margins 20 and 10 -> grown 120x60, side 120 = min(W, H): x = 40 - 20 - 0 = 20, y = 0
  assert.deepEqual(pairWindow(rect(40, 30, 120, 70), full, model64, DEFAULT_PASTE_BACK), { x: 20, y: 0, width: 120, height: 120, squeezed: false });
  // box 100 wide: grown 150 > 120: the whole image
  assert.deepEqual(pairWindow(rect(20, 10, 120, 40), full, model64, DEFAULT_PASTE_BACK), { x: 0, y: 0, width: W, height: H, squeezed: true });
  assert.equal(pairWindow(rect(200, 50, 212, 58), full, { width: 64, height: 48 }, DEFAULT_PASTE_BACK).squeezed, true);
  assert.equal(pairWindow(new Uint8Array(W * H), full, model64, DEFAULT_PASTE_BACK).squeezed, true);
});

test('masks go to the model grid keeping every trace: a 1 px line survives a 2x reduction, same size is a copy', () => {
  const line = new Uint8Array(128 * 128);
  for (let y = 0; y < 128; y++) line[y * 128 + 37] = 1;
  const small = resizeMaskToModel(line, { width: 128, height: 128 }, { width: 64, height: 64 });
  for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) assert.equal(small[y * 64 + x], x === 18 ? 255 : 0, `${x},${y}`);
  const up = resizeMaskToModel(Uint8Array.from([0, 1, 0, 0]), { width: 2, height: 2 }, { width: 4, height: 4 });
  assert.deepEqual([...up], [0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...resizeMaskToModel(Uint8Array.from([0, 7, 0]), { width: 3, height: 1 }, { width: 3, height: 1 })], [0, 255, 0]);
});

test('a 300x120 normal image with a small mask: a 300x120 pair, the full-resolution mask, the normal bytes outside it, native-scale generation inside', async () => {
  const blobs = blobsOf(project);
  const recipe = await recipeFor(project, model, 31);
  const masks = new RectMasks(project, model, [200, 50, 212, 58]);
  const pair = await makePair(model, blobs, recipe, new EmbeddingCache(blobs), masks);
  const normal = await normalFull(blobs, recipe.normal.blob);
  assert.deepEqual([pair.image.width, pair.image.height], [W, H]);
  const expectedMask = (await masks.mask(recipe.mask, normal)).data;
  assert.deepEqual(pair.mask, expectedMask);
  assert.deepEqual(pair.window, { x: 174, y: 22, width: 64, height: 64, squeezed: false });
  assert.ok(checkBackground(pair.image, normal, pair.mask) > 0);
  // native scale: inside the mask (alpha 1) the pair is the decoder's window pixel, unresized
  const decoded = pair.result.decoded!;
  for (let y = 50; y < 58; y++) {
    for (let x = 200; x < 212; x++) {
      for (let c = 0; c < 3; c++) assert.equal(pair.image.data[(y * W + x) * 3 + c], decoded.data[((y - 22) * 64 + (x - 174)) * 3 + c]);
    }
  }
  // the PNGs hold the same pixels
  const png = await decodeImage(pair.imagePng, 'pair');
  assert.deepEqual([png.width, png.height, png.channels], [W, H, 3]);
  assert.deepEqual(png.data, pair.image.data);
  const maskPng = await decodeImage(pair.maskPng, 'mask');
  assert.deepEqual(maskPng.data, expectedMask);
  // eval's working size (what generator-diffusion.ts hands the inspector): the pair resized as the
  // normal images are (loadPicture) equals the resized normal wherever lanczos3's reach (3 source
  // pixels per output pixel at this 3x reduction, 9 px) stays clear of the feathered mask
  const working = await loadPicture(pair.imagePng, 'pair', 100, 40);
  const normalWorking = await loadPicture(await encodePng(normal), 'normal', 100, 40);
  let differ = 0;
  for (let y = 0; y < 40; y++) {
    for (let x = 0; x < 100; x++) {
      const clear = (x + 1) * 3 + 9 + reach < 200 || x * 3 - 9 - reach > 212 || (y + 1) * 3 + 9 + reach < 50 || y * 3 - 9 - reach > 58;
      const same = [0, 1, 2].every((c) => working.data[(y * 100 + x) * 3 + c] === normalWorking.data[(y * 100 + x) * 3 + c]);
      if (clear) assert.ok(same, `working pixel ${x},${y}`);
      else if (!same) differ++;
    }
  }
  assert.ok(differ > 0);
  await masks.release();
});

test('with restoreDetail the full-resolution pair keeps the normal image\'s own detail inside the mask: decoded + normal - its reconstruction, per pixel', async () => {
  const blobs = blobsOf(project);
  const recipe = { ...(await recipeFor(project, model, 31)), restoreDetail: true };
  const masks = new RectMasks(project, model, [200, 50, 212, 58]);
  try {
    const pair = await makePair(model, blobs, recipe, new EmbeddingCache(blobs), masks);
    const normal = await normalFull(blobs, recipe.normal.blob);
    assert.equal(pair.result.settings.pasteBack.restoreDetail, true);
    assert.ok(checkBackground(pair.image, normal, pair.mask) > 0);
    // the window is at native scale (64x64 from (174, 22)): inside the mask the pair is the
    // decoder's pixel plus the normal image's detail layer there
    const decoded = pair.result.decoded!.data;
    const reconstruction = pair.result.decodedNormal!.data;
    let differsFromDecoder = 0;
    for (let y = 50; y < 58; y++) {
      for (let x = 200; x < 212; x++) {
        for (let c = 0; c < 3; c++) {
          const w = ((y - 22) * 64 + (x - 174)) * 3 + c;
          const want = restoreDetail(decoded.subarray(w, w + 1), reconstruction.subarray(w, w + 1), normal.data.subarray((y * W + x) * 3 + c, (y * W + x) * 3 + c + 1))[0];
          assert.equal(pair.image.data[(y * W + x) * 3 + c], want, `pixel ${x},${y} channel ${c}`);
          if (want !== decoded[w]) differsFromDecoder++;
        }
      }
    }
    assert.ok(differsFromDecoder > 0, 'the restored detail changes the decoder output');
  } finally {
    await masks.release();
  }
});

test('a mask too large for a square window: the whole image goes to the model squeezed, the pair is still full size', async () => {
  const blobs = blobsOf(project);
  const recipe = await recipeFor(project, model, 32);
  const masks = new RectMasks(project, model, [20, 10, 120, 40]);
  const pair = await makePair(model, blobs, recipe, new EmbeddingCache(blobs), masks);
  const normal = await normalFull(blobs, recipe.normal.blob);
  assert.deepEqual(pair.window, { x: 0, y: 0, width: W, height: H, squeezed: true });
  assert.deepEqual(pair.mask, (await masks.mask(recipe.mask, normal)).data);
  assert.ok(checkBackground(pair.image, normal, pair.mask) > 0);
  await masks.release();
});

test('real masks at full resolution: the stored pair is 300x120 with the source mask, and regenerate makes it again bit for bit (detail restored or not)', async () => {
  const plan = { ...(await planFor(project, model, ['wood/scratch', 'wood/hole'], 1, 12)), restoreDetail: true };
  const job = newJob(project);
  await runSynthesis(project, model, plan, { runJobId: job, appVersion: 'test' });
  const blobs = blobsOf(project);
  const masks = new ProjectMasks(project, model);
  try {
    for (const [index, sample] of jobSamples(project, job).entries()) {
      const stored = getSample(project, sample.id);
      const image = await decodeImage(project.blobs.read(stored.imageBlob), 'image');
      const mask = await decodeImage(project.blobs.read(stored.maskBlob), 'mask');
      assert.deepEqual([image.width, image.height, mask.width, mask.height], [W, H, W, H]);
      const recipe = pairRecipe(plan, index);
      const normal = await normalFull(blobs, recipe.normal.blob);
      const source = await masks.mask(recipe.mask, normal);
      assert.deepEqual(mask.data, source.data);
      checkBackground({ width: W, height: H, channels: 3, data: image.data }, normal, mask.data);
      const window = (stored.lineage!.sampler as { window: { width: number } }).window;
      assert.ok(window.width >= 64);
      const report = await regenerateSample(project, sample.id, { appVersion: 'test', load: { intraOpNumThreads: 1 } });
      assert.equal(report.identical, true, `sample ${sample.id}`);
    }
  } finally {
    await masks.release();
  }
});

test('a normal image of the model size: exactly the bytes generateBlended gives on it', async () => {
  await withSynthesisFixture(join(tmp.dir, 'model size'), { width: 64, height: 64 }, async (p, m) => {
    const masks = new ProjectMasks(p, m);
    try {
      const blobs = blobsOf(p);
      const recipe = await recipeFor(p, m, 33);
      const pair = await makePair(m, blobs, recipe, new EmbeddingCache(blobs), masks);
      assert.equal(pair.window, undefined);
      assert.equal(pair.resizedFrom, undefined);
      const normal = await normalFull(blobs, recipe.normal.blob);
      const mask = (await masks.mask(recipe.mask, normal)).data;
      const { conditioning } = await resolveConditioning(m, recipe.conditioning, mask, new EmbeddingCache(blobs));
      const direct = await generateBlended(m, { normal, mask, conditioning, seed: recipe.seed, sampler: recipe.sampler, strength: recipe.strength, guidanceScale: recipe.guidance, aar: recipe.aar, pasteBack: pasteBackOf(recipe.restoreDetail) });
      assert.deepEqual(pair.imagePng, await encodePng(direct.image));
      assert.deepEqual(pair.maskPng, await encodePng({ width: 64, height: 64, channels: 1, data: direct.mask }));
    } finally {
      await masks.release();
    }
  });
});
