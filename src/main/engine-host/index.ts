export { EngineHost, type EngineHostOptions, type EngineLogLine, type RequestOptions } from './engine-host';
export { describeExit, type EngineExit, type EngineProcess, type EngineProcessFactory } from './engine-process';
export { CancelledError, EngineError, EngineExitedError, isCancelledError } from './errors';
export { forkEngineFactory } from './fork-process';
export { builtEngineLaunch, sourceEngineLaunch, type EngineLaunch } from './launch';
export { utilityProcessEngineFactory, type UtilityForkLike, type UtilityProcessLike } from './utility-process';
