// The resumable step loop shared by the VAE and UNet phases.
//
// Step k (1-based) trains on batchAt(k), a pure function of (seed, k), and Adam's update is a pure
// function of its state: so stopping anywhere, reloading the last checkpoint and continuing gives
// the same parameters as never stopping. A checkpoint (parameters, Adam moments, step, CPU
// seconds so far, the plan fingerprint) is written atomically every `checkpointSeconds` of wall
// time (and every `checkpointSteps` steps when set), when the run is asked to stop, and at the end.

import { existsSync } from 'node:fs';
import { UserError } from '../../../../shared/errors';
import type { Trainer } from '../../../autodiff/composer';
import { readCheckpoint } from '../../../autodiff/checkpoint';
import type { HostTensor } from '../../../runtime';
import { processCpuSeconds, type TrainLog } from './log';

export interface LoopOptions {
  phase: string;
  trainer: Trainer;
  steps: number;
  checkpointPath: string;
  fingerprint: string;
  batchAt: (step: number) => Record<string, HostTensor>;
  lrAt: (step: number) => number;
  /** scalar outputs logged besides the loss (must be in the trainer's keepOutputs) */
  metrics: string[];
  log: TrainLog;
  checkpointSeconds: number;
  checkpointSteps?: number;
  /** polled between steps: true asks the loop to checkpoint and return */
  shouldStop: () => boolean;
  /** tests: return right after this step WITHOUT a checkpoint, as a kill -9 would */
  crashAfterStep?: number;
  /** extra checkpoint metadata */
  meta?: Record<string, unknown>;
}

export interface LoopResult {
  /** steps done in all (this run and before) */
  step: number;
  done: boolean;
  /** CPU seconds of this phase across all runs, up to the last checkpoint */
  cpuSeconds: number;
  resumedFrom: number;
}

/** Loads the checkpoint when there is one (checking it belongs to this plan); returns its meta. */
export async function resumeIfAny(trainer: Trainer, path: string, fingerprint: string): Promise<Record<string, unknown> | undefined> {
  if (!existsSync(path)) return undefined;
  const ckpt = await readCheckpoint(path);
  if (ckpt.meta['fingerprint'] !== fingerprint) {
    throw new UserError('TRAIN_PLAN_CHANGED', `${path}: this checkpoint was made with other settings (model, seed or schedule); resume with the same settings, or use another training folder`);
  }
  trainer.restore(ckpt, path);
  return ckpt.meta;
}

/**
 * The result of a phase whose checkpoint says it finished with these settings and at least
 * `steps` steps; undefined when it has to run (or resume).
 */
export async function finishedPhase(checkpointPath: string, fingerprint: string, steps: number): Promise<LoopResult | undefined> {
  if (!existsSync(checkpointPath)) return undefined;
  const ckpt = await readCheckpoint(checkpointPath);
  const step = ckpt.meta['step'] as number;
  if (ckpt.meta['done'] !== true || ckpt.meta['fingerprint'] !== fingerprint || step < steps) return undefined;
  return { step, done: true, cpuSeconds: ckpt.meta['cpuSeconds'] as number, resumedFrom: step };
}

export async function runLoop(o: LoopOptions): Promise<LoopResult> {
  const meta = await resumeIfAny(o.trainer, o.checkpointPath, o.fingerprint);
  const resumedFrom = typeof meta?.['step'] === 'number' ? (meta['step'] as number) : 0;
  const cpuBefore = typeof meta?.['cpuSeconds'] === 'number' ? (meta['cpuSeconds'] as number) : 0;
  if (o.trainer.optimizer.stepCount !== resumedFrom) throw new Error(`${o.checkpointPath}: optimiser is at step ${o.trainer.optimizer.stepCount}, checkpoint says ${resumedFrom}`);
  await o.log.truncatePhase(o.phase, resumedFrom);
  if (resumedFrom > 0) o.log.append({ phase: o.phase, event: 'resume', fromStep: resumedFrom });
  const planned = meta?.['plannedSteps'];
  if (typeof planned === 'number' && planned !== o.steps) o.log.append({ phase: o.phase, event: 'steps-changed', from: planned, to: o.steps, atStep: resumedFrom });
  const cpuStart = processCpuSeconds();
  const cpuNow = (): number => cpuBefore + processCpuSeconds() - cpuStart;
  let lastSave = Date.now();
  let step = resumedFrom;
  const save = async (done: boolean): Promise<void> => {
    await o.trainer.save(o.checkpointPath, { ...o.meta, fingerprint: o.fingerprint, phase: o.phase, step, plannedSteps: o.steps, done, cpuSeconds: cpuNow() });
    lastSave = Date.now();
  };
  while (step < o.steps) {
    if (o.shouldStop()) {
      await save(false);
      return { step, done: false, cpuSeconds: cpuNow(), resumedFrom };
    }
    const next = step + 1;
    const batch = o.batchAt(next);
    const started = performance.now();
    const result = await o.trainer.step(batch);
    step = next;
    if (!Number.isFinite(result.loss)) throw new Error(`${o.phase} step ${step}: the loss is ${result.loss}; training diverged (last checkpoint: ${o.checkpointPath})`);
    const record: Record<string, unknown> = { phase: o.phase, step, loss: result.loss, lr: o.lrAt(step), gradNorm: result.gradNorm, ms: Math.round(performance.now() - started), cpuSeconds: Math.round(cpuNow() * 10) / 10 };
    for (const m of o.metrics) record[m] = (result.outputs[m]!.data as Float32Array)[0];
    o.log.append(record as { phase: string });
    if (o.crashAfterStep === step) return { step, done: false, cpuSeconds: cpuNow(), resumedFrom };
    const due = (o.checkpointSteps !== undefined && step % o.checkpointSteps === 0) || Date.now() - lastSave >= o.checkpointSeconds * 1000;
    if (due && step < o.steps) await save(false);
  }
  await save(true);
  return { step, done: true, cpuSeconds: cpuNow(), resumedFrom };
}
