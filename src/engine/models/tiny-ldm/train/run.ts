// The pretraining entry: runs (or resumes) the phases in order - VAE, the decoder (when the plan
// has one), cached latents, UNet, export - each skipping what its checkpoints say is done. Stops
// cleanly (checkpoint first) on SIGINT/SIGTERM or when the time cap is reached; `npm run
// train:base` calls it again to resume.
//
// The decoder phase needs only the finished VAE, and nothing before the export needs the decoder,
// so a caller with a second core can run it in a second process (`decoderBeside`) while this one
// builds the latents and trains the UNet: the pretraining's wall time becomes VAE + max(decoder,
// latents + UNet) instead of their sum, with the same checkpoints (each phase's batches and
// initial weights come from the plan's seeds, not from what ran before it in the process).
// onnxruntime-node runs a session synchronously, so the two phases need two processes: two
// promises in one would take turns on one core.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../../shared/errors';
import { readCheckpoint } from '../../../autodiff/checkpoint';
import type { BuiltinManifest } from '../../builtin/manifest';
import { runExport } from './export-phase';
import { buildLatents } from './latents';
import { processCpuSeconds, TrainLog } from './log';
import { fingerprint, type TrainPlan } from './plan';
import { runUNetPhase } from './unet-phase';
import { runVaePhase, vaeCheckpointPath, type VaePhaseResult } from './vae-phase';
import { decoderCheckpointPath, runDecoderPhase } from './decoder-phase';
import { finishedPhase, type LoopResult } from './loop';

export type PhaseName = 'vae' | 'decoder' | 'unet' | 'export';

/** A phase running in another process (scripts/train-base.ts starts the decoder phase so). */
export interface PhaseBeside {
  /** settles, with how it ended (for the log), when that process has ended for any reason */
  ended: Promise<string>;
  /** asks it to stop with a checkpoint (it also stops at its own time cap, and on the terminal's Ctrl-C) */
  stop(): void;
}

/** The pretraining log; the decoder phase has its own (decoderLogPath), since it may run in another process. */
export const trainLogPath = (dir: string): string => path.join(dir, 'train-log.jsonl');

/**
 * The decoder phase's log. A resumed phase rewrites its log to drop the steps it will redo
 * (TrainLog.truncatePhase), which would lose lines another process appended meanwhile; with a
 * file of its own the decoder phase's process is the only writer.
 */
export const decoderLogPath = (dir: string): string => path.join(dir, 'train-log-decoder.jsonl');

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
  /**
   * Starts the decoder phase elsewhere (all phases of a plan with a decoder phase, when it is not
   * done yet): this run then builds the latents and trains the UNet meanwhile, waits for it, and
   * exports. If that process stopped before the phase was done (a failure), the phase resumes
   * here from its checkpoint.
   */
  decoderBeside?: () => PhaseBeside;
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
  const logPath = o.phase === 'decoder' ? decoderLogPath(o.dir) : trainLogPath(o.dir);
  const log = new TrainLog(logPath, o.echo);
  const decoderLog = o.phase === 'decoder' ? log : new TrainLog(decoderLogPath(o.dir), o.echo);
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
  const runDecoder = (): Promise<VaePhaseResult> => runDecoderPhase({ plan: o.plan, dir: o.dir, log: decoderLog, shouldStop, ...crashAt('decoder') });
  let beside: PhaseBeside | undefined;
  try {
    if (wants('vae')) {
      summary.vae = await runVaePhase({ plan: o.plan, dir: o.dir, log, shouldStop, ...crashAt('vae') });
      if (!summary.vae.done) return summary;
    }
    if (o.plan.decoder && wants('decoder')) {
      const finished = await finishedPhase(decoderCheckpointPath(o.dir), fingerprint(o.plan, 'decoder'), o.plan.decoder.steps);
      if (o.phase === undefined && o.decoderBeside && !finished) {
        beside = o.decoderBeside();
        log.append({ phase: 'decoder', event: 'started-beside', log: path.basename(decoderLogPath(o.dir)) });
      } else {
        summary.decoder = await runDecoder();
        if (!summary.decoder.done) return summary;
      }
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
    if (beside) {
      const ended = await beside.ended;
      beside = undefined;
      log.append({ phase: 'decoder', event: 'beside-ended', how: ended });
      // returns at once when that process finished the phase; resumes it here when it did not
      summary.decoder = await runDecoder();
      if (!summary.decoder.done) return summary;
    }
    if (wants('export')) {
      summary.manifest = await runExport(o.plan, o.dir, o.outDir);
      log.append({ phase: 'export', event: 'written', dir: o.outDir, training: summary.manifest.training ?? null });
    }
    summary.complete = true;
    return summary;
  } finally {
    if (beside) {
      // this run stopped or failed first: the other process checkpoints and ends too
      beside.stop();
      await beside.ended;
    }
    log.append({ phase: 'run', event: 'end', complete: summary.complete, cpuSecondsThisRun: Math.round((processCpuSeconds() - cpu0) * 10) / 10 });
    if (o.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}
