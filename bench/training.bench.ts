// Training throughput on CPU with 1 onnxruntime thread, for the embedded default model
// (resources/models/tiny-ldm; the tiny random test package when it is absent): optimiser steps per
// second of
//   - defect learning (learnDefect, e_a + spatial encoder, at its default batch),
//   - mask learning (learnMask, e_m, default batch),
//   - product adaptation (adaptModel), full fine-tuning and LoRA (default rank and batch).
// Each run trains WARMUP + STEPS steps; the rate is taken between the progress events of step
// WARMUP and of the last step, so session creation, the first (slow) runs, the latent cache, the
// held-out evaluations at step 0 and the package writing after the loop are all excluded.
// Synthesis throughput is the synthesis bench's (bench/synthesis.bench.ts): its last result file
// is quoted here, not measured again.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchReport } from './run';
import { adaptModel } from '../src/engine/adapt/adapt-model';
import { DEFAULT_LEARN_DEFECT, learnDefect } from '../src/engine/anomaly/learn-defect';
import { DEFAULT_LEARN_MASK, learnMask } from '../src/engine/anomaly/learn-mask';
import { readBuiltinManifest } from '../src/engine/models/builtin/load';
import { configureRuntime } from '../src/engine/runtime';
import { openProject, type Project } from '../src/main/store/project';
import { defaultModelDir } from '../src/main/default-model';
import { makeSynthesisFixture } from '../test/engine/synthesis/fixture';
import { writeTinyPackage } from '../test/fixtures/builtin/tiny-package';

const STEPS = Number(process.env.DEFECTFORGE_BENCH_TRAIN_STEPS ?? 10);
const WARMUP = Number(process.env.DEFECTFORGE_BENCH_TRAIN_WARMUP ?? 2);
const TYPE = 'wood/scratch';

/** Progress-event clock: the time each training step (an event with a loss) was reported. */
class StepClock {
  private readonly at = new Map<number, number>();
  readonly onProgress = (p: { step: number; loss?: number }): void => {
    if (p.loss !== undefined) this.at.set(p.step, performance.now());
  };
  /** steps per second from the end of step `from` to the end of step `to` */
  rate(from: number, to: number, what: string): number {
    const t0 = this.at.get(from);
    const t1 = this.at.get(to);
    if (t0 === undefined || t1 === undefined || t1 <= t0) throw new Error(`${what}: no progress for steps ${from} and ${to}`);
    return ((to - from) * 1000) / (t1 - t0);
  }
}

interface Measured {
  key: string;
  label: string;
  batch: number;
  stepsPerSecond: number;
}

async function measureAll(project: Project, modelDir: string): Promise<Measured[]> {
  const total = WARMUP + STEPS;
  const out: Measured[] = [];

  const defect = new StepClock();
  await learnDefect({ project, type: TYPE, modelDir, settings: { steps: total, variants: 1, checkpointEvery: 0, previewEvery: 0 }, onProgress: defect.onProgress, intraOpNumThreads: 1 });
  out.push({ key: 'learnDefect', label: 'defect learning (e_a + spatial encoder)', batch: DEFAULT_LEARN_DEFECT.batch, stepsPerSecond: defect.rate(WARMUP, total, 'learnDefect') });

  const mask = new StepClock();
  await learnMask({ project, type: TYPE, modelDir, settings: { steps: total, variants: 1, checkpointEvery: 0 }, onProgress: mask.onProgress });
  out.push({ key: 'learnMask', label: 'mask learning (e_m)', batch: DEFAULT_LEARN_MASK.batch, stepsPerSecond: mask.rate(WARMUP, total, 'learnMask') });

  for (const mode of ['full', 'lora'] as const) {
    const clock = new StepClock();
    // no held-out evaluation inside the loop (evalEvery past the end), no checkpoints
    const r = await adaptModel({ project, modelDir, settings: { mode, steps: total, variants: 1, evalEvery: 1_000_000, checkpointEvery: 0 }, onProgress: clock.onProgress, intraOpNumThreads: 1 });
    out.push({ key: `adapt.${mode}`, label: `adaptation, ${mode === 'full' ? 'full UNet + decoder' : 'LoRA UNet + full decoder'}`, batch: 4, stepsPerSecond: clock.rate(WARMUP, r.steps, `adapt ${mode}`) });
  }
  return out;
}

/** The synthesis bench's last numbers for the model, when it has been run. */
function synthesisResult(modelName: string): { pairsPerMinute: number; when: string } | null {
  const file = join(import.meta.dirname, 'results', 'synthesis.json');
  if (!existsSync(file)) return null;
  const values = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const v = values[`${modelName}.pairsPerMinute`];
  return typeof v === 'number' ? { pairsPerMinute: v, when: statSync(file).mtime.toISOString().slice(0, 10) } : null;
}

export async function run(): Promise<BenchReport> {
  configureRuntime({ intraOpNumThreads: 1 });
  const root = mkdtempSync(join(tmpdir(), 'df-bench-training-'));
  const lines: string[] = [];
  const values: Record<string, number | string> = { warmupSteps: WARMUP, measuredSteps: STEPS, ortThreads: 1 };
  try {
    let modelDir = defaultModelDir();
    if (!existsSync(join(modelDir, 'manifest.json'))) {
      lines.push(`default model: not present at ${modelDir} (npm run train:base makes it); measuring the tiny random test package instead`);
      modelDir = join(root, 'tiny package');
      await writeTinyPackage(modelDir, 7);
    }
    const manifest = await readBuiltinManifest(modelDir);
    values['model'] = manifest.name;
    const size = manifest.imageSize.width;
    const fx = await makeSynthesisFixture(join(root, 'fixture'), { width: size + 16, height: size + 8 });
    const project = openProject(fx.projectDir);
    try {
      for (const m of await measureAll(project, modelDir)) {
        lines.push(`${manifest.name} ${m.label}: ${m.stepsPerSecond.toFixed(2)} steps/s (batch ${m.batch}, ${STEPS} steps after ${WARMUP} warm-up, 1 ORT thread)`);
        values[`${m.key}.stepsPerSecond`] = Number(m.stepsPerSecond.toFixed(3));
        values[`${m.key}.batch`] = m.batch;
      }
    } finally {
      project.close();
    }
    const synthesis = synthesisResult(manifest.name);
    if (synthesis) {
      lines.push(`${manifest.name} synthesis: ${synthesis.pairsPerMinute} pairs/min (from bench/results/synthesis.json of ${synthesis.when}; npm run bench synthesis measures it again)`);
      values['synthesis.pairsPerMinute'] = synthesis.pairsPerMinute;
    } else lines.push('synthesis: not measured yet; npm run bench synthesis measures pairs per minute');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { name: 'training throughput', lines, values };
}
