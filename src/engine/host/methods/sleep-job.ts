// A job that does nothing but take time: N steps of `stepMs` each, progress after every step,
// cancellation honoured between and during steps. It exercises the whole job path (queue,
// progress, cancel, crash) without a model.
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../../shared/errors';
import type { MethodHandler } from '../handler';
import { integerParam, optionalIntegerParam, paramsObject } from '../params';

export const sleepJob: MethodHandler<'sleepJob'> = async (raw, ctx) => {
  const p = paramsObject('sleepJob', raw);
  const steps = integerParam('sleepJob', p, 'steps', 1);
  const stepMs = integerParam('sleepJob', p, 'stepMs', 0, 3_600_000);
  const failAtStep = optionalIntegerParam('sleepJob', p, 'failAtStep', 1);
  const started = performance.now();
  ctx.log('info', `sleepJob: ${steps} steps of ${stepMs} ms`);
  for (let step = 1; step <= steps; step++) {
    ctx.signal.throwIfAborted();
    // the signal also ends the sleep, so a cancel is answered within one event-loop turn
    await sleep(stepMs, undefined, { signal: ctx.signal });
    if (step === failAtStep) throw new UserError('SLEEP_JOB_FAILED', `sleepJob: failed at step ${step} as requested`);
    // remaining time estimated from the mean step time so far
    const elapsedS = (performance.now() - started) / 1000;
    ctx.progress({ step, total: steps, etaSeconds: (elapsedS / step) * (steps - step), message: `step ${step} of ${steps}` });
  }
  return { completedSteps: steps };
};
