// Import throughput: 2,000 generated 256x256 RGB PNG defect images, each with a PNG mask, in MVTec
// AD layout (generation is not timed), imported into a fresh project. Goal: under 30 s on a
// 2-core machine. As a same-process baseline, the time to just read and SHA-256 every file is
// reported too, so the ratio says how much decoding, checking and storing costs over plain I/O.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchReport } from './run';
import { createProject } from '../src/main/store/project';
import { importDataset } from '../src/main/import/import';
import { makeMvtecFixture } from '../test/fixtures/datasets';

const PAIRS = Number(process.env.DEFECTFORGE_BENCH_PAIRS ?? 2000);
const SIZE = 256;

export async function run(): Promise<BenchReport> {
  const root = mkdtempSync(join(tmpdir(), 'df-bench-import-'));
  try {
    const genStart = performance.now();
    const fx = await makeMvtecFixture(join(root, 'data'), { category: 'bench', width: SIZE, height: SIZE, trainGood: 0, testGood: 0, defects: { defect: PAIRS } });
    const generateSeconds = (performance.now() - genStart) / 1000;

    const files = fx.defects.defect!.flatMap((w) => [w.path, w.maskPath!]);
    const ioStart = performance.now();
    let bytes = 0;
    for (const f of files) {
      const b = readFileSync(f);
      bytes += b.length;
      createHash('sha256').update(b).digest();
    }
    const ioSeconds = (performance.now() - ioStart) / 1000;

    const project = createProject(join(root, 'project'));
    const start = performance.now();
    const report = await importDataset(project, fx.categoryDir);
    const seconds = (performance.now() - start) / 1000;
    project.close();
    if (report.images.imported !== PAIRS || report.masks.imported !== PAIRS || report.rejected !== 0) {
      throw new Error(`import bench: expected ${PAIRS} images and masks, got ${JSON.stringify({ images: report.images, masks: report.masks, rejected: report.rejected })}`);
    }
    const imagesPerSecond = PAIRS / seconds;
    return {
      name: 'import',
      lines: [
        `${PAIRS} pairs of ${SIZE}x${SIZE} PNG (${(bytes / 1e6).toFixed(1)} MB), generated in ${generateSeconds.toFixed(1)} s (not timed)`,
        `import: ${seconds.toFixed(2)} s = ${imagesPerSecond.toFixed(0)} images/s (goal: 2,000 pairs under 30 s)`,
        `baseline read + SHA-256 of the same files: ${ioSeconds.toFixed(2)} s (import is ${(seconds / ioSeconds).toFixed(1)}x that)`,
      ],
      values: { pairs: PAIRS, size: SIZE, seconds, imagesPerSecond, ioSeconds, ratioToIo: seconds / ioSeconds, megabytes: bytes / 1e6 },
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
