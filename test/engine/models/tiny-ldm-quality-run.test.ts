// End to end on a tiny random package in a folder with spaces and non-ASCII characters: the
// script's main function runs every measurement (textual inversion included) and writes
// quality.json, the grid PNG and the card's section into --out, leaving the package untouched;
// blended generation hands back its pre-paste-back image on request.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { makeTempDir } from '../../fixtures/temp-dir';
import { writeTinyPackage } from '../../fixtures/builtin/tiny-package';
import { parseQualityArgs, runModelQuality } from '../../../scripts/model-quality';
import { QUALITY_BEGIN, QUALITY_END } from '../../../src/engine/models/tiny-ldm/quality/card';
import { qualitySample } from '../../../src/engine/models/tiny-ldm/quality/samples';
import { generateBlended } from '../../../src/engine/diffusion/blended';
import { pasteBackAlpha, restoreDetail } from '../../../src/engine/diffusion/paste-back';
import { loadBuiltinModel } from '../../../src/engine/models/builtin/load';
import { isUserError } from '../../../src/shared/errors';

let tmp: ReturnType<typeof makeTempDir>;
let pkg: string;
const CARD = '# tiny-random\n\nHand-written intro.\n';

before(async () => {
  tmp = makeTempDir('quality');
  mkdirSync(tmp.dir, { recursive: true });
  pkg = join(tmp.dir, 'paquet modèle');
  await writeTinyPackage(pkg, 7);
  writeFileSync(join(pkg, 'MODEL_CARD.md'), CARD);
});
after(() => tmp.cleanup());

test('blended generation returns the decoded images before paste-back only when asked', async () => {
  const model = await loadBuiltinModel(pkg, { intraOpNumThreads: 1 });
  try {
    const s = qualitySample(5, 'eval', 'hole', 0, 64);
    const request = { normal: s.normal, mask: s.mask, conditioning: { defect: 'hole' }, seed: 3, sampler: { sampler: 'ddim' as const, steps: 3 }, guidanceScale: 1 };
    const plain = await generateBlended(model, request);
    assert.equal(plain.decoded, undefined);
    const kept = await generateBlended(model, request, { keepDecoded: true });
    assert.deepEqual(kept.image.data, plain.image.data);
    const decoded = kept.decoded!;
    // by default paste-back composites the decoded image with the original's detail restored
    assert.equal(kept.settings.pasteBack.restoreDetail, true);
    assert.deepEqual(kept.unpasted!.data, restoreDetail(decoded.data, kept.decodedNormal!.data, s.normal.data));
    const alpha = pasteBackAlpha(s.mask, 64, 64, kept.settings.pasteBack);
    let differsOutside = 0;
    for (let p = 0; p < 64 * 64; p++) {
      for (let c = 0; c < 3; c++) {
        const k = p * 3 + c;
        if (alpha[p] === 1) assert.equal(kept.image.data[k], kept.unpasted!.data[k]);
        if (alpha[p] === 0) {
          assert.equal(kept.image.data[k], s.normal.data[k]);
          if (decoded.data[k] !== s.normal.data[k]) differsOutside++;
        }
      }
    }
    // a random VAE does not reproduce the image: the decoded output differs outside, paste-back hides it
    assert.ok(differsOutside > 0);
  } finally {
    await model.release();
  }
});

test('the script measures a tiny package end to end and writes its three files into --out', { timeout: 600_000 }, async () => {
  const out = join(tmp.dir, 'résultats qualité');
  const argv = ['--package', pkg, '--out', out, '--smoke', '--samples', '2', '--inversion-pairs', '2', '--inversion-steps', '2', '--classifier-steps', '6', '--classifier-train', '1', '--seed', '9'];
  const lines: string[] = [];
  const overrides = { tokenFamilies: ['scratch', 'hole'], invertedFamilies: ['crack'], gridCell: 32, classifier: { size: 16, channels: 4, batch: 4, steps: 6, lr: 0.01, seed: 1 } };
  const { report, files } = await runModelQuality(argv, (l) => lines.push(l), overrides);

  assert.deepEqual(report.families.map((f) => [f.defect, f.conditioning, f.samples]), [
    ['scratch', 'token-rows', 2],
    ['hole', 'token-rows', 2],
    ['crack', 'textual-inversion', 2],
  ]);
  for (const f of report.families) {
    assert.ok(Number.isFinite(f.inside) && f.inside > 0 && Number.isFinite(f.outside) && f.outside > 0, JSON.stringify(f));
    assert.ok(Math.abs(f.ratio - f.inside / f.outside) < 1e-9);
    // the figure lies in its bootstrap interval
    assert.ok(f.ratioInterval[0] <= f.ratio && f.ratio <= f.ratioInterval[1], JSON.stringify(f));
    // generation restores the original's detail: its round trip with nothing generated is the
    // original itself, and the decoder-only figures (the earlier measure) keep the VAE's error
    assert.equal(report.settings.pasteBack.restoreDetail, true);
    assert.equal(f.vaeOutside, 0);
    const d = f.decoderOnly!;
    assert.ok(Number.isFinite(d.vaeOutside) && d.vaeOutside > 0 && d.outside > 0 && Math.abs(d.ratio - d.inside / d.outside) < 1e-9, JSON.stringify(d));
    // the real defect changes its mask (through the round trip) more than the VAE's error outside it
    assert.ok(Number.isFinite(d.realRatio) && d.realRatio > 1, JSON.stringify(f));
    // the real defect differs from the normal image inside its mask, and the output is an image
    assert.ok(f.untouchedToReal > 0 && f.toReal >= 0 && f.toReal <= 255, JSON.stringify(f));
  }
  assert.deepEqual(report.families[2]!.inversion && { pairs: report.families[2]!.inversion.pairs, steps: report.families[2]!.inversion.steps }, { pairs: 2, steps: 2 });
  assert.equal(report.settings.outsideDistancePx, 8 + 2 + 3);
  assert.equal(report.classifier.families.length, 10);
  assert.equal(report.classifier.chance, 0.1);
  assert.equal(report.classifier.testItems, 6);
  assert.equal(report.classifier.trainItems, 10);
  assert.equal(report.classifier.confusion.flat().reduce((a, v) => a + v, 0), 6);
  assert.ok(report.cpuSeconds > 0);
  assert.equal(report.command, `npm run model:quality -- ${argv.join(' ')}`);
  assert.ok(lines.some((l) => /^CPU time \d+\.\d s/.test(l)), lines.join('\n'));

  assert.deepEqual(readdirSync(out).sort(), ['MODEL_CARD.md', 'quality-grid.png', 'quality.json']);
  assert.deepEqual(JSON.parse(readFileSync(files.json, 'utf8')).families.length, 3);
  const meta = await sharp(files.grid).metadata();
  assert.deepEqual([meta.width, meta.height], [4 * 32 + 6, 3 * 32 + 4]);
  const card = readFileSync(files.card, 'utf8');
  assert.ok(card.startsWith(CARD));
  assert.match(card, /\| crack \| textual inversion/);
  assert.ok(card.includes('![quality grid](quality-grid.png)'));
  assert.match(card, /measured on the decoder's own output, without the detail restored/);
  assert.match(card, /\| scratch \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|/);
  // the package itself is untouched: its card as written, no quality files
  assert.equal(readFileSync(join(pkg, 'MODEL_CARD.md'), 'utf8'), CARD);
  assert.ok(!readdirSync(pkg).includes('quality.json'));

  // a second run replaces the section (one pair of markers, the intro unchanged); without the
  // detail restored the figures are the decoder's own, with its round trip as the floor
  const off = await runModelQuality([...argv, '--restore-detail', 'off'], () => {}, overrides);
  for (const f of off.report.families) {
    assert.equal(f.decoderOnly, undefined);
    assert.ok(f.vaeOutside > 0, JSON.stringify(f));
  }
  assert.deepEqual(off.report.families[0]!.inside, report.families[0]!.decoderOnly!.inside);
  const again = readFileSync(files.card, 'utf8');
  assert.doesNotMatch(again, /measured on the decoder's own output/);
  assert.ok(again.startsWith(CARD));
  assert.equal(again.split(QUALITY_BEGIN).length, 2);
  assert.equal(again.split(QUALITY_END).length, 2);
});

test('script arguments: defaults, smoke settings, clear errors', () => {
  const d = parseQualityArgs([]);
  assert.equal(d.command, 'npm run model:quality');
  assert.equal(d.samplesPerFamily, 32);
  assert.match(d.packageDir, /resources[\\/]models[\\/]tiny-ldm$/);
  const s = parseQualityArgs(['--smoke', '--samples', '3']);
  assert.equal(s.samplesPerFamily, 3);
  assert.equal(s.inversionSteps, 20);
  assert.equal(s.sampler.steps, 10);
  assert.throws(() => parseQualityArgs(['--samples', '0']), (e) => isUserError(e) && /--samples/.test(e.message));
  assert.throws(() => parseQualityArgs(['--bogus', '1']), (e) => isUserError(e) && /--bogus/.test(e.message));
  assert.throws(() => parseQualityArgs(['--seed']), (e) => isUserError(e) && /--seed needs a value/.test(e.message));
  assert.equal(d.guidanceRescale, undefined, 'by default the package decides');
  assert.equal(parseQualityArgs(['--guidance-rescale', '0.7']).guidanceRescale, 0.7);
  assert.throws(() => parseQualityArgs(['--guidance-rescale', '2']), (e) => isUserError(e) && /--guidance-rescale must be a number in \[0, 1\], got '2'/.test(e.message));
  assert.equal(parseQualityArgs(['--restore-detail', 'off']).pasteBack.restoreDetail, false);
  assert.equal(d.pasteBack.restoreDetail, true);
  assert.throws(() => parseQualityArgs(['--restore-detail', 'yes']), (e) => isUserError(e) && /--restore-detail must be 'on' or 'off', got 'yes'/.test(e.message));
});
