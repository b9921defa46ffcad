// Engine processes as Electron utilityProcesses. The app passes electron's `utilityProcess.fork`
// in; this module only relies on its shape, so it stays importable (and testable) under Node.
import type { EngineLaunch } from './launch';
import { TailBuffer, type EngineExit, type EngineProcess, type EngineProcessFactory } from './engine-process';

interface ReadableLike {
  setEncoding?(encoding: 'utf8'): unknown;
  on(event: 'data', listener: (chunk: string | Uint8Array) => void): unknown;
}

/** The part of Electron's UtilityProcess the host uses. */
export interface UtilityProcessLike {
  readonly pid: number | undefined;
  readonly stderr?: ReadableLike | null;
  postMessage(message: unknown): void;
  kill(): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
}

/** `utilityProcess.fork` from electron. */
export type UtilityForkLike = (
  modulePath: string,
  args?: string[],
  options?: { execArgv?: string[]; cwd?: string; env?: NodeJS.ProcessEnv; stdio?: 'pipe' | 'inherit' | 'ignore'; serviceName?: string },
) => UtilityProcessLike;

export function utilityProcessEngineFactory(utilityFork: UtilityForkLike, launch: EngineLaunch): EngineProcessFactory {
  return (): EngineProcess => {
    const child = utilityFork(launch.entry, launch.args ?? [], {
      execArgv: launch.execArgv,
      ...(launch.cwd !== undefined ? { cwd: launch.cwd } : {}),
      ...(launch.env !== undefined ? { env: launch.env } : {}),
      stdio: 'pipe',
      serviceName: 'DefectForge engine',
    });
    const tail = new TailBuffer();
    child.stderr?.setEncoding?.('utf8');
    child.stderr?.on('data', (chunk) => {
      const text = typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
      tail.push(text);
      launch.onStderr?.(text);
    });
    let exited: EngineExit | null = null;
    let exitHandler: ((exit: EngineExit) => void) | null = null;
    child.on('exit', (code) => {
      // a utilityProcess reports only a code; a crash by signal shows as a non-zero code
      exited = { code, signal: null };
      exitHandler?.(exited);
    });
    return {
      get pid() {
        return child.pid;
      },
      send: (message) => {
        if (!exited) child.postMessage(message);
      },
      onMessage: (receive) => {
        child.on('message', receive);
      },
      onExit(handle) {
        exitHandler = handle;
        if (exited) handle(exited);
      },
      kill: () => {
        if (!exited) child.kill();
      },
      stderrTail: () => tail.toString(),
    };
  };
}
