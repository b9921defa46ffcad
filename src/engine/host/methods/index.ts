// The engine's method table: one entry per protocol method. Adding a method means adding it to
// EngineMethods in shared/engine-protocol.ts and here; the type makes a missing entry an error.
import type { HandlerTable } from '../handler';
import { adaptModel } from './adapt';
import { learnDefect } from './learn-defect';
import { learnMask } from './learn-mask';
import { ping } from './ping';
import { runtimeInfo } from './runtime-info';
import { sleepJob } from './sleep-job';
import { synthesize } from './synthesize';
import { synthesizeJob } from './synthesize-job';

export const engineMethods: HandlerTable = { ping, sleepJob, runtimeInfo, synthesize, synthesizeJob, learnDefect, learnMask, adaptModel };
