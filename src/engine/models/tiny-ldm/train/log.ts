// The pretraining log: one JSON object per line (JSONL) in the training folder, appended as the
// run goes. A resumed phase first drops the lines of steps after its checkpoint, so the file
// always reads as one uninterrupted loss curve. CPU time is process CPU (user + system, which
// includes onnxruntime's threads), accumulated across runs through the checkpoints.

import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../../autodiff/checkpoint';

export interface LogRecord {
  phase: string;
  /** present on per-step lines */
  step?: number;
  event?: string;
  [key: string]: unknown;
}

export class TrainLog {
  constructor(
    readonly path: string,
    private readonly echo: (line: string) => void = () => undefined,
  ) {}

  append(record: LogRecord): void {
    const line = JSON.stringify({ ...record, time: new Date().toISOString() });
    appendFileSync(this.path, line + '\n');
    this.echo(line);
  }

  /** Drops every line of `phase` with a step above `step` (lost work that will be redone). */
  async truncatePhase(phase: string, step: number): Promise<void> {
    if (!existsSync(this.path)) return;
    const lines = readFileSync(this.path, 'utf8').split('\n').filter((l) => l.length > 0);
    const kept = lines.filter((l) => {
      try {
        const r = JSON.parse(l) as LogRecord;
        return !(r.phase === phase && typeof r.step === 'number' && r.step > step);
      } catch {
        return false; // a torn last line after a kill
      }
    });
    if (kept.length !== lines.length) await writeFileAtomic(this.path, new TextEncoder().encode(kept.map((l) => l + '\n').join('')));
  }

  records(): LogRecord[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as LogRecord];
        } catch {
          return [];
        }
      });
  }
}

/** Seconds of CPU this process has used. */
export function processCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
