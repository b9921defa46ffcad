import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeTempDir } from '../../fixtures/temp-dir';
import { openProject, type Project } from '../../../src/main/store/project';
import { jobSamples, getSample, type SampleWithLineage } from '../../../src/main/store/samples';
import { runSynthesis } from '../../../src/engine/synthesis/job';
import { cocoProblems, exportDataset, type ExportSet, type ExportWriter } from '../../../src/engine/export';
import { decodeRle } from '../../../src/engine/export/rle';
import { containsPixel, type Point } from '../../../src/engine/export/contours';
import { fsWriter } from '../../../src/engine/export/writer';
import { collectExportSet } from '../../../src/main/augment/collect';
import { resolveTypes } from '../../../src/main/augment/types';
import { binariseMask, decodeImage } from '../../../src/engine/imaging';
import { isUserError } from '../../../src/shared/errors';
import { loadTiny, makeSynthesisFixture, newJob, planFor } from '../synthesis/fixture';

const tmp = makeTempDir('export');
let project: Project;
let set: ExportSet;
let samples: SampleWithLineage[];

before(async () => {
  const fx = await makeSynthesisFixture(tmp.dir);
  project = openProject(fx.projectDir);
  const model = await loadTiny(fx.modelDir);
  try {
    const job = newJob(project);
    await runSynthesis(project, model, await planFor(project, model, ['wood/scratch', 'wood/hole'], 2), { runJobId: job, appVersion: 'test' });
    samples = jobSamples(project, job).map((s) => getSample(project, s.id));
  } finally {
    await model.release();
  }
  set = await collectExportSet(project, resolveTypes(project), samples);
});
after(() => {
  project.close();
  tmp.cleanup();
});

const storedMaskImage = async (hash: string): Promise<{ width: number; height: number; data: Uint8Array }> => binariseMask(await decodeImage(project.blobs.read(hash), 'mask')).mask;
const storedMask = async (hash: string): Promise<Uint8Array> => (await storedMaskImage(hash)).data;

test('the export set: synthetic pairs, real train normals, real test images of held-out defects only', () => {
  assert.equal(set.synthetic.length, 4);
  assert.equal(set.trainGood.length, 4);
  // test/good 2 + held-out scratch 4 + held-out hole 2; the training defects (2 + 1) are not test images
  assert.equal(set.test.length, 8);
  assert.equal(set.test.filter((r) => r.defectType !== null).every((r) => r.mask !== undefined), true);
  assert.deepEqual(set.types, [{ category: 'wood', name: 'hole' }, { category: 'wood', name: 'scratch' }]);
});

test('all four formats are written; masks equal the stored blobs; COCO validates; YOLO polygons fill the masks; synthetic never in test', async () => {
  const out = join(tmp.dir, 'sortie export');
  const summary = await exportDataset(set, out, ['mvtec', 'anomalib', 'coco', 'yolo']);
  assert.deepEqual(summary.formats, ['mvtec', 'anomalib', 'coco', 'yolo']);
  assert.deepEqual(readdirSync(dirname(out)).filter((n) => n.includes('partial')), []);

  // MVTec: synthetic in train/<type> with ground_truth masks byte-equal to the blobs, test/ only real
  for (const s of samples) {
    const stem = `s${String(s.id).padStart(6, '0')}`;
    assert.deepEqual(readFileSync(join(out, 'mvtec', 'wood', 'train', s.defectType!, `${stem}.png`)), project.blobs.read(s.imageBlob));
    assert.deepEqual(readFileSync(join(out, 'mvtec', 'wood', 'ground_truth', s.defectType!, `${stem}_mask.png`)), project.blobs.read(s.maskBlob));
  }
  for (const folder of readdirSync(join(out, 'mvtec', 'wood', 'test'))) {
    for (const f of readdirSync(join(out, 'mvtec', 'wood', 'test', folder))) assert.match(f, /^r\d{6}\.png$/);
  }
  assert.equal(readdirSync(join(out, 'mvtec', 'wood', 'train', 'good')).length, 4);
  const manifest = JSON.parse(readFileSync(join(out, 'mvtec', 'manifest.json'), 'utf8'));
  assert.equal(manifest.format, 'defectforge-export');
  assert.equal(manifest.synthetic.length, 4);
  assert.equal(manifest.synthetic[0].lineage.modelHash, samples[0]!.lineage!.modelHash);
  assert.equal(manifest.synthetic[0].lineage.seed, samples[0]!.lineage!.seed);

  // COCO
  for (const split of ['train', 'test']) {
    const ds = JSON.parse(readFileSync(join(out, 'coco', 'annotations', `instances_${split}.json`), 'utf8'));
    assert.deepEqual(cocoProblems(ds), []);
    for (const im of ds.images) assert.ok(existsSync(join(out, 'coco', 'images', im.file_name)), im.file_name);
    if (split === 'test') assert.ok(ds.images.every((im: { file_name: string }) => im.file_name.startsWith('test/r')));
  }
  const train = JSON.parse(readFileSync(join(out, 'coco', 'annotations', 'instances_train.json'), 'utf8'));
  assert.equal(train.images.length, 8);
  assert.equal(train.annotations.length, 4);
  for (const s of samples) {
    const image = train.images.find((im: { file_name: string }) => im.file_name === `train/s${String(s.id).padStart(6, '0')}.png`);
    const ann = train.annotations.find((a: { image_id: number }) => a.image_id === image.id);
    assert.deepEqual(decodeRle(ann.segmentation), await storedMask(s.maskBlob));
    assert.equal(train.categories.find((c: { id: number }) => c.id === ann.category_id).name, `wood/${s.defectType}`);
  }
  assert.deepEqual(cocoProblems({ images: [{ id: 1, file_name: 'a', width: 2, height: 2 }], categories: [{ id: 1, name: 'x' }], annotations: [{ id: 1, image_id: 1, category_id: 2, segmentation: { size: [2, 2], counts: [3] }, area: 0, bbox: [0, 0, 1, 1], iscrowd: 0 }] }), [
    'annotation 1: no category 2',
    'annotation 1: RLE counts cover 3 pixels of 4',
  ]);

  // YOLO: classes in data.yaml; every label polygon, filled, gives back the (hole-free ellipse) mask
  const yaml = readFileSync(join(out, 'yolo', 'data.yaml'), 'utf8');
  assert.match(yaml, /names:\n {2}0: "wood\/hole"\n {2}1: "wood\/scratch"/);
  for (const s of samples) {
    const text = readFileSync(join(out, 'yolo', 'labels', 'train', `s${String(s.id).padStart(6, '0')}.txt`), 'utf8').trim();
    // pairs have the normal image's own size (not the model's)
    const { width: W, height: H, data: mask } = await storedMaskImage(s.maskBlob);
    const filled = new Uint8Array(W * H);
    for (const line of text.split('\n')) {
      const [cls, ...coords] = line.split(' ').map(Number);
      assert.equal(cls, s.defectType === 'hole' ? 0 : 1);
      assert.ok(coords.every((v) => v >= 0 && v <= 1));
      const poly: Point[] = [];
      for (let i = 0; i < coords.length; i += 2) poly.push([Math.round(coords[i]! * W), Math.round(coords[i + 1]! * H)]);
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (containsPixel(poly, x, y)) filled[y * W + x] = 255;
    }
    assert.deepEqual(filled, mask);
  }
  assert.equal(readFileSync(join(out, 'yolo', 'labels', 'train', readdirSync(join(out, 'yolo', 'labels', 'train')).find((f) => f.startsWith('r'))!), 'utf8'), '');

  // anomalib: synthetic in its own folders, the datamodule config reads only real ones
  assert.match(readFileSync(join(out, 'anomalib', 'wood', 'folder.yaml'), 'utf8'), /abnormal_dir: "abnormal"/);
  assert.equal(readdirSync(join(out, 'anomalib', 'wood', 'synthetic')).length, 4);
  assert.deepEqual(readdirSync(join(out, 'anomalib', 'wood', 'synthetic')), readdirSync(join(out, 'anomalib', 'wood', 'synthetic_mask')));
  assert.ok(readdirSync(join(out, 'anomalib', 'wood', 'abnormal')).every((f) => /__r\d{6}\.png$/.test(f)));
});

test('a full disk (ENOSPC from the writer) gives a clear error and leaves nothing half-written; an existing folder is refused', async () => {
  let writes = 0;
  const fullDisk: ExportWriter = {
    ...fsWriter,
    writeFile: async (file, bytes) => {
      if (++writes === 7) throw Object.assign(new Error(`ENOSPC: no space left on device, write '${file}'`), { code: 'ENOSPC' });
      await fsWriter.writeFile(file, bytes);
    },
  };
  const out = join(tmp.dir, 'plein');
  await assert.rejects(exportDataset(set, out, ['mvtec', 'coco'], fullDisk), (e: Error) => {
    assert.ok(isUserError(e));
    assert.equal((e as { code?: string }).code, 'EXPORT_DISK_FULL');
    assert.match(e.message, /plein: the disk is full \(ENOSPC while writing .*\.png\); nothing was exported/);
    return true;
  });
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(tmp.dir).filter((n) => n.startsWith('.plein')), []);
  await assert.rejects(exportDataset(set, join(tmp.dir, 'sortie export'), ['yolo']), /already exists; choose a new output folder/);
});
