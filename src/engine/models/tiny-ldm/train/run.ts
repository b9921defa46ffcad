// The pretraining entry: runs (or resumes) the phases in order - VAE, the decoder (when the plan
// has one), cached latents, UNet, export - each skipping what its checkpoints say is done. Stops cleanly (checkpoint first) on
// SIGINT/SIGTERM or when the time cap is reached; `npm run train:base` calls it again to resume.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../../shared/errors';
import { readCheckpoint } from '../../../autodiff/checkpoint';
import type { BuiltinManifest } from '../../builtin/manifest';
import { runExport } from './export-phase';
import { buildLatents } from './latents';
import { processCpuSeconds, TrainLog } from './log';
import type { TrainPlan } from './plan';
import { runUNetPhase } from './unet-phase';
import { runVaePhase, vaeCheckpointPath, type VaePhaseResult } from './vae-phase';
import { runDecoderPhase } from './decoder-phase';
import type { LoopResult } from './loop';

export type PhaseName = 'vae' | 'decoder' | 'unet' | 'export';

export interface RunOptions {
  plan: TrainPlan;
  dir: string;
  /** where the package goes (a folder that is created or replaced) */
  outDir: string;
  /** only this phase (its prerequisites must be done); default: all */
  phase?: PhaseName;
  /** stop (with a checkpoint) after this many minutes of wall time */
  minutes?: number;
  echo?: (line: string) => void;
  /** tests: abandon the named phase right after this step, without a checkpoint (a simulated kill -9) */
  crash?: { phase: 'vae' | 'decoder' | 'unet'; step: number };
  /** also stop on SIGINT / SIGTERM (the CLI; not tests) */
  handleSignals?: boolean;
}

export interface RunSummary {
  vae?: VaePhaseResult;
  decoder?: VaePhaseResult;
  unet?: LoopResult;
  latentScale?: number;
  manifest?: BuiltinManifest;
  /** true when every requested phase finished */
  complete: boolean;
  logPath: string;
}

export async function runPretraining(o: RunOptions): Promise<RunSummary> {
  mkdirSync(o.dir, { recursive: true });
  const logPath = path.join(o.dir, 'train-log.jsonl');
  const log = new TrainLog(logPath, o.echo);
  const deadline = o.minutes !== undefined ? Date.now() + o.minutes * 60_000 : Infinity;
  let signalled = false;
  const onSignal = (): void => {
    signalled = true;
  };
  if (o.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const shouldStop = (): boolean => signalled || Date.now() >= deadline;
  const wants = (p: PhaseName): boolean => o.phase === undefined || o.phase === p;
  const summary: RunSummary = { complete: false, logPath };
  const cpu0 = processCpuSeconds();
  log.append({ phase: 'run', event: 'start', plan: o.plan.name, only: o.phase ?? 'all', minutes: o.minutes ?? null, pid: process.pid });
  const crashAt = (phase: 'vae' | 'decoder' | 'unet'): { crashAfterStep?: number } => (o.crash?.phase === phase ? { crashAfterStep: o.crash.step } : {});
  try {
    if (wants('vae')) {
      summary.vae = await runVaePhase({ plan: o.plan, dir: o.dir, log, shouldStop, ...crashAt('vae') });
      if (!summary.vae.done) return summary;
    }
    if (o.plan.decoder && wants('decoder')) {
      summary.decoder = await runDecoderPhase({ plan: o.plan, dir: o.dir, log, shouldStop, ...crashAt('decoder') });
      if (!summary.decoder.done) return summary;
    }
    if (wants('unet')) {
      const vae = await readCheckpoint(vaeCheckpointPath(o.dir));
      if (vae.meta['done'] !== true) throw new UserError('TRAIN_NOT_DONE', `${vaeCheckpointPath(o.dir)}: the VAE phase has not finished (step ${String(vae.meta['step'])}); run it first (--phase vae, or no --phase)`);
      const weights = new Map(Object.entries(vae.params).map(([k, p]) => [k, p.data]));
      const latents = await buildLatents(o.plan, o.dir, weights, log, shouldStop);
      if (!latents) return summary;
      summary.latentScale = latents.scale;
      log.append({ phase: 'latents', event: 'ready', samples: latents.count, scale: latents.scale, mean: latents.mean });
      summary.unet = await runUNetPhase({ plan: o.plan, dir: o.dir, log, shouldStop, ...crashAt('unet') }, latents);
      if (!summary.unet.done) return summary;
    }
    if (wants('export')) {
      summary.manifest = await runExport(o.plan, o.dir, o.outDir);
      log.append({ phase: 'export', event: 'written', dir: o.outDir, training: summary.manifest.training ?? null });
    }
    summary.complete = true;
    return summary;
  } finally {
    log.append({ phase: 'run', event: 'end', complete: summary.complete, cpuSecondsThisRun: Math.round((processCpuSeconds() - cpu0) * 10) / 10 });
    if (o.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}
