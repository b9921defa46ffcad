// Debian's Chromium for the browser tests: where it is, how it is started on this machine, and the
// reason to skip when it is absent (CI installs it; DEFECTFORGE_CHROMIUM points elsewhere).
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env['DEFECTFORGE_CHROMIUM'] ?? '/usr/bin/chromium';

export const CHROMIUM_SKIP: string | false = existsSync(CHROMIUM)
  ? false
  : `Chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set DEFECTFORGE_CHROMIUM to run the browser tests`;

/** Headless, no sandbox (root), and none of the background connections a closed network refuses. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Polls a condition from Node (page-side string functions would need eval, which the CSP forbids). */
export async function until(what: string, condition: () => Promise<boolean>, timeoutMs: number, pollMs = 25): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
