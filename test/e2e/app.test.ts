// Drives the built renderer in Debian's Chromium against the real IPC handlers (over the harness
// server): create a project, import a generated dataset, read the counts and a rejected file's
// reason, switch language and theme, reopen from the recent list, and check the CSP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureRendererBuilt, rendererOutDir } from './build-renderer';
import { writeTinyMvtec, type TinyDataset } from './dataset';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_SKIP } from './chromium';
import { startHarnessServer, type HarnessServer } from './server';

const skip = CHROMIUM_SKIP;


// A same-origin script (allowed by script-src 'self') that tries eval from page code, where the
// CSP applies; code evaluated through DevTools (page.evaluate) is exempt from the eval check.
const EVAL_PROBE_PATH = '/__test__/eval-probe.js';
const EVAL_PROBE = `let blocked = false;
try { (0, eval)('1 + 1'); } catch { blocked = true; }
document.documentElement.dataset.evalBlocked = String(blocked);`;

// Runs in the page (a string: the Node test project has no DOM types, and a transpiled function
// could reference helpers that do not exist in the page). Tries an inline script, eval (through
// the probe script) and a remote fetch, and records the CSP violations they raise.
const CSP_PROBE = `(async () => {
  const violations = [];
  document.addEventListener('securitypolicyviolation', (e) => violations.push(e.effectiveDirective));
  const inline = document.createElement('script');
  inline.textContent = 'window.__inlineRan = true;';
  document.head.append(inline);
  await new Promise((resolve, reject) => {
    const probe = document.createElement('script');
    probe.src = '${EVAL_PROBE_PATH}';
    probe.onload = resolve;
    probe.onerror = () => reject(new Error('the eval probe did not load'));
    document.head.append(probe);
  });
  let remoteBlocked = false;
  try { await fetch('http://example.invalid/'); } catch { remoteBlocked = true; }
  await new Promise((resolve) => setTimeout(resolve, 100));
  return {
    inlineRan: window.__inlineRan === true,
    evalBlocked: document.documentElement.dataset.evalBlocked === 'true',
    remoteBlocked,
    violations,
  };
})()`;

describe('the renderer in Chromium', { skip }, () => {
  let tmp: string;
  let server: HarnessServer;
  let browser: Browser;
  let page: Page;
  let dataset: TinyDataset;
  let projectDir: string;
  const pageErrors: string[] = [];

  before(async () => {
    await ensureRendererBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'df e2e 검사 '));
    dataset = await writeTinyMvtec(join(tmp, 'datasets'));
    projectDir = join(tmp, 'projects', 'Projekt déchets 결함');
    server = await startHarnessServer({ rendererDir: rendererOutDir, configDir: join(tmp, 'config') });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ locale: 'en-US', colorScheme: 'dark' });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('response', (r) => {
      if (r.status() >= 400) pageErrors.push(`HTTP ${r.status()} for ${r.url()}`);
    });
    const response = await page.goto(server.url);
    assert.equal(response?.status(), 200);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('the start screen offers create and open, with no recent projects yet', async () => {
    await page.getByTestId('create-project').waitFor();
    assert.equal(await page.getByTestId('create-project').textContent(), 'New project…');
    assert.equal(await page.getByText('No recent projects yet.').count(), 1);
  });

  test('opening a folder that is not a project shows the error with its code', async () => {
    const notAProject = join(tmp, 'empty folder');
    mkdirSync(notAProject);
    server.setPickedFolder(notAProject);
    await page.getByTestId('open-project').click();
    const banner = page.getByTestId('error');
    await banner.waitFor();
    assert.equal(await banner.getAttribute('data-code'), 'NOT_A_PROJECT');
    assert.match((await banner.textContent())!, /empty folder/);
    await banner.getByRole('button').click();
    await banner.waitFor({ state: 'detached' });
  });

  test('creating a project shows it, empty', async () => {
    server.setPickedFolder(projectDir);
    await page.getByTestId('create-project').click();
    await page.getByTestId('project-view').waitFor();
    assert.equal(await page.getByTestId('project-name').textContent(), 'Projekt déchets 결함');
    assert.ok(existsSync(join(projectDir, 'project.sqlite')));
    assert.match((await page.getByTestId('project-summary').textContent())!, /^0 categories · 0 images/);
  });

  test('importing a dataset shows the counts and the rejected file with its reason', async () => {
    server.setPickedFolder(dataset.root);
    // Progress events travel main -> page as they do for the app's own listener.
    await page.evaluate(`window.__progress = []; window.api.on('dataset:importProgress', (p) => window.__progress.push(p));`);
    await page.getByTestId('import-dataset').click();
    await page.getByTestId('import-report').waitFor({ timeout: 60_000 });

    const category = page.locator(`[data-testid="category"][data-category="${dataset.category}"]`);
    assert.equal(await category.getByTestId('train-good').textContent(), String(dataset.trainGood));
    assert.equal(await category.getByTestId('test-good').textContent(), String(dataset.testGood));
    const type = category.locator(`[data-testid="defect-type"][data-defect-type="${dataset.defectType}"]`);
    assert.equal(await type.getByTestId('images').textContent(), String(dataset.defects));
    assert.equal(await type.getByTestId('masks').textContent(), String(dataset.defects));
    // the first third (ceil(3/3) = 1) of the defect images learns the defect, the rest is held out
    assert.equal(await type.getByTestId('train').textContent(), '1');
    assert.equal(await type.getByTestId('holdout').textContent(), '2');

    assert.equal(await page.getByTestId('import-rejected').textContent(), 'Files rejected: 1');
    const rejected = page.locator('[data-testid="problem"][data-severity="error"]');
    assert.equal(await rejected.count(), 1);
    assert.equal(await rejected.getByTestId('problem-path').textContent(), dataset.corruptFile);
    assert.equal(await rejected.getAttribute('data-code'), 'UNREADABLE_IMAGE');
    const reason = (await rejected.getByTestId('problem-reason').textContent())!;
    assert.ok(reason.trim().length > 0, 'the rejected file has a reason');
    assert.equal(server.pickRequests.at(-1), 'importDataset');
    const progress = (await page.evaluate('window.__progress')) as { done: number; total: number }[];
    assert.ok(progress.length > 0, 'progress events reached the page');
    assert.deepEqual(progress.at(-1), { done: progress.at(-1)!.total, total: progress.at(-1)!.total });
  });

  test('switching to Korean relabels the UI at once; the choice survives a reload', async () => {
    await page.getByTestId('language').selectOption('ko');
    await page.getByRole('heading', { name: '데이터셋 가져오기' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'ko');
    assert.equal(await page.getByTestId('import-rejected').textContent(), '거부된 파일: 1개');
    assert.equal(await page.getByRole('columnheader', { name: '결함 유형' }).count(), 1);

    await page.getByTestId('theme').selectOption('light');
    assert.equal(await page.locator('html').getAttribute('data-theme'), 'light');
    const background = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    assert.equal(background, 'rgb(247, 248, 250)', 'the light surface colour applies');

    await page.reload();
    await page.getByTestId('create-project').waitFor();
    assert.equal(await page.getByTestId('create-project').textContent(), '새 프로젝트…');
    assert.equal(await page.locator('html').getAttribute('data-theme'), 'light');
  });

  test('the recent list reopens the project with its counts', async () => {
    const recent = page.getByTestId('recent-list').getByRole('button');
    assert.equal(await recent.count(), 1);
    await recent.first().click();
    await page.getByTestId('project-view').waitFor();
    const category = page.locator(`[data-testid="category"][data-category="${dataset.category}"]`);
    assert.equal(await category.getByTestId('train-good').textContent(), String(dataset.trainGood));
  });

  test('the CSP blocks inline scripts, eval and remote connections', async () => {
    await page.route(`**${EVAL_PROBE_PATH}`, (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: EVAL_PROBE }));
    const response = await page.goto(server.url);
    assert.match(response!.headers()['content-security-policy']!, /script-src 'self'/);
    await page.getByTestId('create-project').waitFor();
    const outcome = (await page.evaluate(CSP_PROBE)) as { inlineRan: boolean; evalBlocked: boolean; remoteBlocked: boolean; violations: string[] };
    assert.equal(outcome.inlineRan, false, 'the inline script must not run');
    assert.equal(outcome.evalBlocked, true, 'eval must throw');
    assert.equal(outcome.remoteBlocked, true);
    assert.ok(outcome.violations.includes('script-src-elem'), `violations seen: ${outcome.violations.join(', ')}`);
    assert.ok(outcome.violations.includes('connect-src'), `violations seen: ${outcome.violations.join(', ')}`);
    assert.ok(outcome.violations.includes('script-src'), `eval reports a script-src violation; seen: ${outcome.violations.join(', ')}`);
  });

  test('no uncaught errors and no failed requests in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
