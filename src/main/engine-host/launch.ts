// How to start the engine: an entry file plus Node flags. From source that is
// src/engine/host/main.ts with the tsx loader; a built app passes its bundled .js instead.
import { fileURLToPath } from 'node:url';

export interface EngineLaunch {
  /** the engine's entry module (.ts from source, .js when built) */
  entry: string;
  /** Node flags for the child, e.g. ['--import', <tsx loader>] */
  execArgv: string[];
  args?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** receives whatever the engine writes to stdout/stderr (diagnostics, not protocol) */
  onStderr?: (chunk: string) => void;
}

/**
 * Launch for running from the source tree. The tsx loader is passed as an absolute file URL,
 * resolved from this module, so the child starts whatever the current directory is.
 */
export function sourceEngineLaunch(overrides: Partial<EngineLaunch> = {}): EngineLaunch {
  return {
    entry: fileURLToPath(new URL('../../engine/host/main.ts', import.meta.url)),
    execArgv: ['--import', import.meta.resolve('tsx')],
    ...overrides,
  };
}

/** Launch for a built engine bundle (no loader needed). */
export function builtEngineLaunch(entryJs: string, overrides: Partial<EngineLaunch> = {}): EngineLaunch {
  return { entry: entryJs, execArgv: [], ...overrides };
}
