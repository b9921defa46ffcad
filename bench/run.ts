// `npm run bench [filter]`: runs every bench/*.bench.ts (each exports `run(): Promise<BenchReport>`)
// and prints its numbers. Benchmarks report ratios against a baseline measured in the same process,
// since these machines are noisy. Results are also written to bench/results/<name>.json.
import { readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface BenchReport {
  name: string;
  /** human-readable lines */
  lines: string[];
  /** machine-readable numbers */
  values: Record<string, number | string>;
}

const dir = import.meta.dirname;
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
mkdirSync(join(dir, 'results'), { recursive: true });
for (const file of files) {
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as { run(): Promise<BenchReport> };
  const started = Date.now();
  const report = await mod.run();
  console.log(`\n== ${report.name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  for (const line of report.lines) console.log(`  ${line}`);
  writeFileSync(join(dir, 'results', `${file.replace(/\.bench\.ts$/, '')}.json`), JSON.stringify(report.values, null, 2));
}
