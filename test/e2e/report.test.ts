// The evaluation report in Chromium: report.html of a tiny run, opened from a file:// path with
// spaces and non-ASCII characters, shows one metrics row per (defect type, generator), its charts
// and pictures, and makes no request beyond the file itself and its data: URIs. All four
// generators run, 'diffusion' on the embedded default model (resources/models/tiny-ldm) with a
// few learning steps per defect type, so the report is the one the product makes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { writeMvtecCorpus } from '../../src/engine/corpus';
import { reportHtml } from '../../src/engine/eval/report/html';
import { EVAL_DEFAULTS, runEvaluation } from '../../src/engine/eval/run';
import { importDataset } from '../../src/main/import';
import { defaultModelDir } from '../../src/main/default-model';
import { createProject } from '../../src/main/store/project';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_SKIP } from './chromium';

const skip = CHROMIUM_SKIP;

describe('report.html in Chromium', { skip }, () => {
  let tmp: string;
  let browser: Browser;
  let reportFile: string;
  let types: string[];
  const generators = ['none', 'cutpaste', 'perlin', 'diffusion'];

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'df report 보고서 '));
    await writeMvtecCorpus(join(tmp, 'data'), { seed: 2, families: ['leather'], trainGood: 4, testGood: 2, defectsPerType: 3 });
    const project = createProject(join(tmp, 'projekt ä'));
    try {
      await importDataset(project, join(tmp, 'data'), { layout: 'mvtec' });
      project.db.prepare('UPDATE project SET settings_json = ? WHERE id = 1').run(JSON.stringify({ learning: { defect: { steps: 3, variants: 1, previewEvery: 0 }, mask: { steps: 3 } } }));
      const result = await runEvaluation(
        project,
        { ...EVAL_DEFAULTS, generators: generators.join(','), steps: 1, pairsPerType: 2, pixels: 32 * 32, seed: 1, classifierSteps: 3, model: defaultModelDir() },
        { appVersion: 'test' },
      );
      types = [...result.data.defectTypes];
      reportFile = join(tmp, 'rapport été', 'report.html');
      mkdirSync(join(tmp, 'rapport été'));
      writeFileSync(reportFile, await reportHtml(result));
    } finally {
      project.close();
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('every (defect type, generator) has a row, charts and pictures render, nothing remote is requested', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const url = pathToFileURL(reportFile).href;
    await page.goto(url);
    const rows = await page.locator('#metrics tbody tr').evaluateAll((trs) => trs.map((tr) => `${tr.getAttribute('data-type')}|${tr.getAttribute('data-generator')}|${tr.children.length}`));
    const expected = [...types, 'all'].flatMap((t) => generators.map((g) => `${t}|${g}|10`));
    assert.deepEqual(rows, expected);
    // every metric cell holds a number or n/a
    const cells = await page.locator('#metrics tbody td:nth-child(n+4)').allTextContents();
    for (const c of cells) assert.match(c, /^(\d\.\d{3}|n\/a)/);
    assert.equal(await page.locator('#quality tbody tr').count(), generators.length);
    assert.equal(await page.locator('table.confusion').count(), generators.length, 'one confusion matrix per generator');
    assert.equal(await page.locator('svg').count(), 4 * (types.length + 1) + 1);
    const images = await page.locator('img').evaluateAll((imgs) => imgs.map((i) => (i as unknown as { naturalWidth: number }).naturalWidth));
    assert.ok(images.length >= generators.length * 2, `${images.length} pictures`);
    assert.ok(images.every((w) => w === 32), `every picture decodes at the working size: ${images}`);
    assert.deepEqual(requests.filter((r) => !r.startsWith('data:') && r !== url), [], 'only the file itself and data: URIs');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
