// The engine process as the host sees it, independent of how it was started. The CLI and the
// tests use a Node `fork` (fork-process.ts); the Electron app injects a factory built on
// utilityProcess (utility-process.ts), so this folder never imports electron.
import type { HostToEngine } from '../../shared/engine-protocol';

export interface EngineExit {
  /** exit code, or null when the process was ended by a signal */
  code: number | null;
  signal: string | null;
  /** set when the process could not be started at all */
  startError?: string;
}

export interface EngineProcess {
  readonly pid: number | undefined;
  send(message: HostToEngine): void;
  onMessage(receive: (message: unknown) => void): void;
  /** called exactly once, when the process has ended */
  onExit(handle: (exit: EngineExit) => void): void;
  /** ends the process; onExit follows */
  kill(): void;
  /** the last lines the process wrote to stderr, for error messages ('' when unknown) */
  stderrTail(): string;
}

export type EngineProcessFactory = () => EngineProcess;

/** "engine process exited with code 3" / "... with signal SIGKILL" / "... could not start: ..." */
export function describeExit(exit: EngineExit): string {
  if (exit.startError) return `engine process could not start: ${exit.startError}`;
  if (exit.signal) return `engine process exited with signal ${exit.signal}`;
  return `engine process exited with code ${exit.code ?? 'unknown'}`;
}

/** Keeps the last `maxChars` characters written to a stream, cut at a line start. */
export class TailBuffer {
  private text = '';
  constructor(private readonly maxChars = 4000) {}
  push(chunk: string): void {
    this.text += chunk;
    if (this.text.length > this.maxChars) {
      const cut = this.text.slice(-this.maxChars);
      const nl = cut.indexOf('\n');
      this.text = nl >= 0 && nl < cut.length - 1 ? cut.slice(nl + 1) : cut;
    }
  }
  toString(): string {
    return this.text.trim();
  }
}
