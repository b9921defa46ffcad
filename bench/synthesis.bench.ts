// Synthesis throughput: pairs per minute of the synthesis job (src/engine/synthesis/job.ts: per
// pair decode + resize of the normal and mask, blended generation with CFG and AAR, PNG encoding,
// blob writes and the one-transaction commit), on CPU, for the tiny random package (64x64, tests'
// fixture dataset at 80x72 so resizing is included) and, when present, the embedded default model
// (resources/models/tiny-ldm, on the same fixture at its image size). Baseline in the same
// process: the same pairs without the detail restored (paste-back's restoreDetail, the default
// since session 12, decodes each normal image once more), in alternating runs.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchReport } from './run';
import { loadBuiltinModel, readBuiltinManifest } from '../src/engine/models/builtin/load';
import { runSynthesis } from '../src/engine/synthesis/job';
import { openProject } from '../src/main/store/project';
import { jobSamples } from '../src/main/store/samples';
import { JobStore } from '../src/main/jobs/job-store';
import { makeSynthesisFixture, planFor } from '../test/engine/synthesis/fixture';
import { writeTinyPackage } from '../test/fixtures/builtin/tiny-package';
import { defaultModelDir } from '../src/main/default-model';

const PAIRS = Number(process.env.DEFECTFORGE_BENCH_PAIRS ?? 6);
const STEPS = Number(process.env.DEFECTFORGE_BENCH_STEPS ?? 20);

/** Runs that alternate between the two paste-back settings (with and without the detail restored), each PAIRS pairs. */
const ROUNDS = 2;

async function measure(label: string, modelDir: string, root: string, size: number, lines: string[], values: Record<string, number | string>): Promise<void> {
  const fx = await makeSynthesisFixture(join(root, label), { width: size + 16, height: size + 8 });
  const project = openProject(fx.projectDir);
  const model = await loadBuiltinModel(modelDir, { intraOpNumThreads: 1 });
  try {
    const plan = await planFor(project, model, ['wood/scratch'], PAIRS);
    plan.sampler.steps = STEPS;
    const store = new JobStore(project.db);
    // warm-up pair (session initialisation), not counted
    await runSynthesis(project, model, { ...plan, types: [{ ...plan.types[0]!, count: 1 }] }, { runJobId: store.insert('synthesize', {}), appVersion: 'bench' });
    const seconds = { on: 0, off: 0 };
    let made = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const setting of ['off', 'on'] as const) {
        const job = store.insert('synthesize', {});
        const t0 = performance.now();
        const result = await runSynthesis(project, model, { ...plan, seed: plan.seed + round, restoreDetail: setting === 'on' }, { runJobId: job, appVersion: 'bench' });
        seconds[setting] += (performance.now() - t0) / 1000;
        if (jobSamples(project, job).length !== PAIRS) throw new Error(`${label}: expected ${PAIRS} samples`);
        made += setting === 'on' ? result.made : 0;
      }
    }
    const perMinute = (made / seconds.on) * 60;
    const cost = seconds.on / seconds.off;
    lines.push(
      `${label}: ${made} pairs x ${STEPS} DDIM steps (CFG 3, AAR on, detail restored) in ${seconds.on.toFixed(1)} s = ${perMinute.toFixed(1)} pairs/min on CPU (1 ORT thread); ` +
        `${cost.toFixed(3)}x the time without the detail restored (${((made / seconds.off) * 60).toFixed(1)} pairs/min, alternating runs)`,
    );
    values[`${label}.pairsPerMinute`] = Number(perMinute.toFixed(2));
    values[`${label}.secondsPerPair`] = Number((seconds.on / made).toFixed(3));
    values[`${label}.detailCost`] = Number(cost.toFixed(3));
  } finally {
    await model.release();
    project.close();
  }
}

export async function run(): Promise<BenchReport> {
  const root = mkdtempSync(join(tmpdir(), 'df-bench-synthesis-'));
  const lines: string[] = [];
  const values: Record<string, number | string> = { pairs: PAIRS, steps: STEPS };
  try {
    const tiny = join(root, 'tiny package');
    await writeTinyPackage(tiny, 7);
    await measure('tiny-random', tiny, root, 64, lines, values);
    const real = defaultModelDir();
    if (existsSync(join(real, 'manifest.json'))) {
      const m = await readBuiltinManifest(real);
      await measure(m.name, real, root, m.imageSize.width, lines, values);
    } else lines.push(`default model: not present at ${real} (npm run train:base makes it)`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { name: 'synthesis job throughput', lines, values };
}
