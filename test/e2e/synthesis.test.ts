// Training, one-click augmentation and the lineage gallery in Debian's Chromium against the real
// handlers, a real engine process and the tiny random model package: a small learning job shows
// its loss curve, progress to the end and a preview; an augmentation of 2 pairs per type fills the
// gallery; a pair's lineage shows its inputs and regenerating it is bit-identical; "use this mask
// again" adds the pair's mask to the type's drawn masks and generates pairs that carry it pixel for
// pixel; the Browse buttons of the model and output folders show what the folder dialog returned.
// Screenshots go to the test output folder and, with DEFECTFORGE_DOCS_SHOTS=1, to docs/screenshots/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { getSample, jobSamples } from '../../src/main/store/samples';
import { makeSynthesisFixture, type SynthesisFixture } from '../engine/synthesis/fixture';
import { ensureRendererBuilt, repoRoot, rendererOutDir } from './build-renderer';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_SKIP, until as pollUntil } from './chromium';
import { defaultModelDir } from '../../src/main/default-model';
import { startHarnessServer, type HarnessServer } from './server';

const skip = CHROMIUM_SKIP;
const SHOTS_DIR = join(repoRoot, '.tmp', 'e2e-screenshots');
const DOCS_SHOTS_DIR = join(repoRoot, 'docs', 'screenshots');
const REFRESH_DOCS_SHOTS = process.env['DEFECTFORGE_DOCS_SHOTS'] === '1';

describe('training, augmentation and lineage in Chromium', { skip }, () => {
  let tmp: string;
  let fx: SynthesisFixture;
  let server: HarnessServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  async function shot(name: string): Promise<void> {
    await page.screenshot({ path: join(SHOTS_DIR, `${name}.png`), fullPage: true });
    if (REFRESH_DOCS_SHOTS) await page.screenshot({ path: join(DOCS_SHOTS_DIR, `${name}.png`), fullPage: true });
  }

  const until = (what: string, condition: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> => pollUntil(what, condition, timeoutMs, 50);

  before(async () => {
    mkdirSync(SHOTS_DIR, { recursive: true });
    mkdirSync(DOCS_SHOTS_DIR, { recursive: true });
    await ensureRendererBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'df synth 합성 '));
    fx = await makeSynthesisFixture(join(tmp, 'fx'));
    server = await startHarnessServer({ rendererDir: rendererOutDir, configDir: join(tmp, 'config'), withEngine: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ locale: 'en-US', colorScheme: 'dark', viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('response', (r) => {
      if (r.status() >= 400) pageErrors.push(`HTTP ${r.status()} for ${r.url()}`);
    });
    await page.goto(server.url);
    server.setPickedFolder(fx.projectDir);
    await page.getByTestId('open-project').click();
    await page.getByTestId('project-view').waitFor();
    // the hidden test settings: learning sized for the tiny model
    const settings = { learning: { defect: { steps: 6, variants: 2, previewSteps: 2 }, mask: { steps: 4, variants: 2 } }, maskSampling: { steps: 4, threshold: 0.2 } };
    server.api.session.current().db.prepare('UPDATE project SET settings_json = ? WHERE id = 1').run(JSON.stringify(settings));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('model Browse: the folder the dialog returns fills the field and becomes the model', async () => {
    await page.getByTestId('tab-training').click();
    await page.getByTestId('training-panel').waitFor();
    server.setPickedFolder(fx.modelDir);
    await page.getByTestId('model-browse').click();
    await until('the model is named', async () => /tiny-random/.test((await page.getByTestId('model-name').textContent()) ?? ''), 15_000);
    assert.equal(await page.getByTestId('model-dir').inputValue(), fx.modelDir);
    assert.equal(server.pickRequests.at(-1), 'model');
  });

  test('training: choose the model, learn 6 steps; progress reaches the end, the loss chart has every step, a preview shows', async () => {
    await page.getByTestId('tab-training').click();
    await page.getByTestId('training-panel').waitFor();
    await page.getByTestId('model-dir').fill(fx.modelDir);
    await page.getByTestId('model-save').click();
    await until('the model is named', async () => /tiny-random/.test((await page.getByTestId('model-name').textContent()) ?? ''), 15_000);
    await page.getByTestId('train-steps').fill('6');
    await page.getByTestId('train-start').click();
    const status = page.getByTestId('train-status');
    await until('the learning job succeeded', async () => (await status.getAttribute('data-state').catch(() => null)) === 'succeeded');
    assert.equal(await status.getAttribute('data-step'), '6');
    assert.equal(await status.getAttribute('data-total'), '6');
    assert.equal(await page.getByTestId('loss-chart').getAttribute('data-points'), '6');
    // uPlot drew its canvas
    assert.equal(await page.locator('[data-testid="loss-chart"] canvas').count(), 1);
    await page.getByTestId('train-preview').waitFor();
    assert.ok(await page.getByTestId('train-preview').evaluate((img) => { const i = img as unknown as { complete: boolean; naturalWidth: number }; return i.complete && i.naturalWidth > 0; }), 'the preview image loaded');
    await shot('training');
  });

  test('training that makes the fit worse (the embedded model, spatial encoder at lr 0.5) ends with its warning shown', async () => {
    const db = server.api.session.current().db;
    type Settings = Record<string, unknown> & { learning: { defect: Record<string, number> } };
    const read = (): Settings => JSON.parse(db.prepare('SELECT settings_json FROM project WHERE id = 1').pluck().get() as string) as Settings;
    const write = (settings: Settings): void => void db.prepare('UPDATE project SET settings_json = ? WHERE id = 1').run(JSON.stringify(settings));
    const before = read();
    write({ ...before, learning: { ...before.learning, defect: { ...before.learning.defect, encoderLr: 0.5 } } });
    try {
      await page.getByTestId('model-dir').fill(defaultModelDir());
      await page.getByTestId('model-save').click();
      await until('the embedded model is named', async () => /tiny-ldm/.test((await page.getByTestId('model-name').textContent()) ?? ''), 15_000);
      await page.getByTestId('train-steps').fill('30');
      await page.getByTestId('train-start').click();
      const status = page.getByTestId('train-status');
      await until('the learning job succeeded', async () => (await status.getAttribute('data-state').catch(() => null)) === 'succeeded', 120_000);
      assert.match((await page.getByTestId('train-warning').textContent())!, /learning made the fit of the training pairs worse .*diverged/);
    } finally {
      write({ ...read(), learning: before.learning });
      await page.getByTestId('model-dir').fill(fx.modelDir);
      await page.getByTestId('model-save').click();
      await until('the tiny model is named again', async () => /tiny-random/.test((await page.getByTestId('model-name').textContent()) ?? ''), 15_000);
    }
  });

  test('augmentation: 2 pairs per type with mvtec export; stages shown, the result folder at the end', async () => {
    const out = join(tmp, 'export 결과');
    await page.getByTestId('augment-count').fill('2');
    // this test is about stages and export: no model adaptation (a fine-tuning job) first
    await page.getByTestId('augment-adapt').uncheck();
    // the generated regions keep the normal images' detail unless unticked
    assert.equal(await page.getByTestId('augment-detail').isChecked(), true);
    // the output folder through Browse: the field shows what the dialog returned
    server.setPickedFolder(out);
    await page.getByTestId('augment-out-browse').click();
    await until('the output field shows the picked folder', async () => (await page.getByTestId('augment-out').inputValue()) === out, 5_000);
    assert.equal(server.pickRequests.at(-1), 'augmentOutput');
    await page.getByTestId('augment-start').click();
    const status = page.getByTestId('augment-status');
    await until('the augmentation finished', async () => ['succeeded', 'failed', 'cancelled'].includes((await status.getAttribute('data-state').catch(() => null)) ?? ''), 240_000);
    assert.equal(await status.getAttribute('data-state'), 'succeeded', (await page.getByTestId('augment-error').textContent().catch(() => '')) ?? '');
    assert.match((await page.getByTestId('augment-result').textContent())!, /export 결과/);
    assert.ok(existsSync(out));
    await shot('synthesis');
  });

  test('gallery: the pairs are listed; a lineage shows its inputs and regenerating is bit-identical', async () => {
    await page.getByTestId('tab-gallery').click();
    await page.getByTestId('gallery-panel').waitFor();
    await until('4 pairs', async () => (await page.getByTestId('sample').count()) === 4, 15_000);
    assert.equal((await page.getByTestId('sample-count').textContent())!.trim(), '4 generated pairs');
    await page.getByTestId('sample').first().click();
    await page.getByTestId('lineage').waitFor();
    assert.ok(((await page.getByTestId('lineage-mask-origin').textContent()) ?? '').length > 0);
    assert.match((await page.getByTestId('lineage-seed').textContent())!, /^\d+$/);
    await page.getByTestId('regenerate').click();
    await page.getByTestId('regenerate-result').waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('regenerate-result').getAttribute('data-identical'), 'true');
    // the difference canvas has the synthetic image's size
    const size = await page.getByTestId('difference').evaluate((c) => { const canvas = c as unknown as { width: number; height: number }; return canvas.width * canvas.height; });
    assert.ok(size > 0);
    await shot('lineage');
  });

  test('use this mask again: the mask joins the drawn masks; 2 pairs generated with it carry it pixel for pixel', async () => {
    const lineage = page.getByTestId('lineage');
    const sampleId = Number(await lineage.getAttribute('data-sample-id'));
    await page.getByTestId('reuse-add').click();
    const result = page.getByTestId('reuse-result');
    await result.waitFor();
    assert.equal(await result.getAttribute('data-added'), 'true');
    const project = server.api.session.current();
    const source = getSample(project, sampleId);
    const maskPixels = async (hash: string): Promise<Buffer> => (await sharp(project.blobs.read(hash)).extractChannel(0).raw().toBuffer());
    const lineageMask = await maskPixels(source.maskBlob);
    const drawn = project.db.prepare("SELECT source, blob_hash FROM masks WHERE id = ?").get(Number(await result.getAttribute('data-mask-id'))) as { source: string; blob_hash: string };
    assert.equal(drawn.source, 'drawn');
    assert.ok((await maskPixels(drawn.blob_hash)).equals(lineageMask), 'the drawn mask is the lineage mask, pixel for pixel');

    await page.getByTestId('reuse-count').fill('2');
    assert.equal((await page.getByTestId('reuse-generate').textContent())!.trim(), 'Generate 2 with this mask');
    await page.getByTestId('reuse-generate').click();
    const status = page.getByTestId('reuse-status');
    await until('the reuse job ended', async () => ['succeeded', 'failed', 'cancelled'].includes((await status.getAttribute('data-state').catch(() => null)) ?? ''), 120_000);
    assert.equal(await status.getAttribute('data-state'), 'succeeded', (await page.getByTestId('reuse-error').textContent().catch(() => '')) ?? '');
    const made = jobSamples(project, Number(await status.getAttribute('data-job-id')));
    assert.equal(made.length, 2);
    for (const s of made) {
      assert.ok((await maskPixels(s.maskBlob)).equals(lineageMask), `pair ${s.id} carries the reused mask, pixel for pixel`);
      assert.equal(s.defectTypeId, source.defectTypeId);
    }
    // the gallery reloaded with the new pairs; the newest one's lineage names the drawn mask
    await until('6 pairs', async () => (await page.getByTestId('sample').count()) === 6, 15_000);
    await shot('lineage-reuse');
    await page.getByTestId('sample').first().click();
    await until('the new pair is open', async () => (await lineage.getAttribute('data-sample-id')) === String(Math.max(...made.map((s) => s.id))), 15_000);
    assert.match((await page.getByTestId('lineage-mask-origin').textContent())!, /^drawn /);
  });

  test('no uncaught errors and no failed requests in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
