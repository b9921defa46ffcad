// Diffusion speed: for a tiny SD 1.x-layout folder (test/fixtures/sd1), a tiny random built-in
// package (test/fixtures/builtin) and, when present, every real model in resources/models:
//  - one UNet evaluation (batch 1, and batch 2 as classifier-free guidance runs it), median of
//    repeated runs after a warm-up;
//  - one whole 1-image blended generation (encode, N sampler steps with CFG and AAR, decode,
//    paste-back) at 25 and 50 steps;
//  - the same-process baseline: whole-image time / (N x the batch-2 UNet time), i.e. how much the
//    pipeline costs over the UNet evaluations it cannot avoid (1.0 = nothing);
//  - peak resident memory so far (process.resourceUsage().maxRSS; models run in order, so it is
//    the peak up to and including that model).
// ORT runs with the runtime's default threads (1, the fastest on 2-core VMs).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchReport } from './run';
import { loadModel, type LoadModelOptions } from '../src/engine/models/load';
import type { DiffusionModel } from '../src/engine/models/types';
import { generateBlended } from '../src/engine/diffusion/blended';
import { runtimeInfo } from '../src/engine/runtime';
import { Rng } from '../src/shared/random';
import { writeTinySd1Folder } from '../test/fixtures/sd1';
import { writeTinyPackage } from '../test/fixtures/builtin/tiny-package';

const UNET_REPEATS = Number(process.env.DEFECTFORGE_BENCH_UNET_REPEATS ?? 20);
const STEP_COUNTS = [25, 50];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function unetMs(model: DiffusionModel, batch: number): Promise<number> {
  const f = model.facts;
  const rng = new Rng(1);
  const latents = rng.normals(batch * f.latentChannels * f.latentSize.width * f.latentSize.height);
  const { context } = await model.context(null);
  const contexts = new Float32Array(batch * context.length);
  for (let b = 0; b < batch; b++) contexts.set(context, b * context.length);
  const request = { latents, batch, timesteps: Array.from({ length: batch }, () => 500), context: contexts };
  await model.predictNoise(request); // warm-up: ORT allocates and plans on the first run
  const times: number[] = [];
  for (let i = 0; i < UNET_REPEATS; i++) {
    const t = performance.now();
    await model.predictNoise(request);
    times.push(performance.now() - t);
  }
  return median(times);
}

async function wholeImageSeconds(model: DiffusionModel, steps: number, conditioning: { prompt?: string; defect?: string }): Promise<number> {
  const { width, height } = model.facts.imageSize;
  const rng = new Rng(2);
  const normal = { width, height, channels: 3 as const, data: Uint8Array.from({ length: width * height * 3 }, () => 60 + rng.int(120)) };
  const mask = new Uint8Array(width * height);
  for (let y = Math.floor(height * 0.3); y < Math.floor(height * 0.6); y++) for (let x = Math.floor(width * 0.4); x < Math.floor(width * 0.7); x++) mask[y * width + x] = 255;
  const t = performance.now();
  await generateBlended(model, {
    normal,
    mask,
    conditioning: { ...conditioning, mask: { width, height, data: mask } },
    seed: 1,
    sampler: { sampler: 'ddim', steps, eta: 1 },
    guidanceScale: 3,
  });
  return (performance.now() - t) / 1000;
}

interface ModelRun {
  label: string;
  dir: string;
  conditioning: { prompt?: string; defect?: string };
  options?: LoadModelOptions;
}

/** Real models shipped in resources/models (each a folder with manifest.json). */
function shippedModels(): ModelRun[] {
  const root = join(import.meta.dirname, '..', 'resources', 'models');
  return readdirSync(root)
    .filter((name) => statSync(join(root, name)).isDirectory())
    .filter((name) => readdirSync(join(root, name)).includes('manifest.json'))
    .map((name) => ({ label: `resources/models/${name}`, dir: join(root, name), conditioning: {} }));
}

export async function run(): Promise<BenchReport> {
  const tmp = mkdtempSync(join(tmpdir(), 'df-bench-diffusion-'));
  const lines: string[] = [];
  const values: Record<string, number | string> = { provider: runtimeInfo().providerChosen, intraOpThreads: runtimeInfo().intraOpNumThreads };
  try {
    const sd = join(tmp, 'tiny-sd1');
    await writeTinySd1Folder(sd);
    const builtin = join(tmp, 'tiny-builtin');
    await writeTinyPackage(builtin, 7);
    const runs: ModelRun[] = [
      // the tiny export leaves its spatial size symbolic (as real SD exports do): run it at 64x64
      { label: 'tiny SD 1.x layout (64x64, random)', dir: sd, conditioning: {}, options: { sd1: { imageSize: { width: 64, height: 64 } } } },
      { label: 'tiny built-in package (64x64, random)', dir: builtin, conditioning: { prompt: 'wood', defect: 'scratch' } },
      ...shippedModels(),
    ];
    if (runs.length === 2) lines.push('no model in resources/models yet (npm run train:base exports it): tiny models only');
    for (const r of runs) {
      const model = await loadModel(r.dir, r.options);
      try {
        const key = r.label.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '');
        const f = model.facts;
        const one = await unetMs(model, 1);
        const two = await unetMs(model, 2);
        lines.push(`${r.label}: ${f.imageSize.width}x${f.imageSize.height}, latents ${f.latentChannels}x${f.latentSize.height}x${f.latentSize.width}`);
        lines.push(`  UNet step: ${one.toFixed(2)} ms (batch 1), ${two.toFixed(2)} ms (batch 2, as CFG runs it)`);
        values[`${key}.unetMsBatch1`] = one;
        values[`${key}.unetMsBatch2`] = two;
        for (const steps of STEP_COUNTS) {
          const seconds = await wholeImageSeconds(model, steps, r.conditioning);
          const ratio = seconds / ((steps * two) / 1000);
          lines.push(`  whole image, ${steps} DDIM steps, CFG 3, AAR on: ${seconds.toFixed(2)} s (${ratio.toFixed(2)}x the ${steps} UNet evaluations alone)`);
          values[`${key}.image${steps}Seconds`] = seconds;
          values[`${key}.image${steps}OverUnet`] = ratio;
        }
        const rssMiB = process.resourceUsage().maxRSS / 1024;
        lines.push(`  peak resident memory so far: ${rssMiB.toFixed(0)} MiB`);
        values[`${key}.peakRssMiB`] = rssMiB;
      } finally {
        await model.release();
      }
    }
    return { name: 'diffusion', lines, values };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
