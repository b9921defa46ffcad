// ORT's profiler (SessionOptions.enableProfiling) writes one Chrome-trace JSON file per session,
// named `<profileFilePrefix>_<start time>.json`, and onnxruntime-node's endProfiling() does not
// say which. A ProfileTarget remembers the matching files that existed before the session opened,
// so that after endProfiling the new one can be named.

import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

let sessionsProfiled = 0;

/** A prefix unique to this process and session, in the OS temp folder. */
export function defaultProfilePrefix(): string {
  sessionsProfiled += 1;
  return path.join(tmpdir(), `defectforge-ort-profile-${process.pid}-${sessionsProfiled}`);
}

function profileFiles(prefix: string): string[] {
  const dir = path.dirname(path.resolve(prefix));
  const stem = `${path.basename(prefix)}_`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(stem) && n.endsWith('.json')).map((n) => path.join(dir, n));
}

export class ProfileTarget {
  private readonly before: Set<string>;

  constructor(readonly prefix: string) {
    this.before = new Set(profileFiles(prefix));
  }

  /**
   * The profile file written since this target was made. ORT's names end in a start time
   * (YYYY-MM-DD_HH-MM-SS_mmm), so when other sessions wrote under the same prefix meanwhile the
   * latest name is this session's only if it started last; give each session its own prefix.
   */
  writtenFile(): string {
    const fresh = profileFiles(this.prefix)
      .filter((f) => !this.before.has(f))
      .sort();
    const last = fresh[fresh.length - 1];
    if (last === undefined) throw new Error(`onnxruntime wrote no profile file for the prefix '${this.prefix}'`);
    return last;
  }
}

/** Kernel time of one op type, averaged over the profiled runs. */
export interface OpTypeTime {
  opType: string;
  /** microseconds of kernel time per run */
  micros: number;
  /** fraction of all kernel time */
  share: number;
  /** kernel launches per run */
  calls: number;
}

export interface ProfileSummary {
  /** session runs recorded (ORT's model_run events) */
  runs: number;
  /** kernel time of all nodes per run, microseconds */
  kernelMicros: number;
  /** largest first */
  byOpType: OpTypeTime[];
  /** kernel time per run of each node, by the node name ORT ran (its fusions rename some) */
  byNode: Map<string, { opType: string; micros: number }>;
}

interface TraceEvent {
  cat?: unknown;
  name?: unknown;
  dur?: unknown;
  args?: { op_name?: unknown };
}

/**
 * Per-op-type kernel time of an ORT profile. Node events are named `<node>_kernel_time` and
 * carry the op type as args.op_name (after ORT's fusions: FusedConv, FusedMatMul, ...). `file`
 * only names the source in errors.
 */
export function summariseProfile(json: string, file: string): ProfileSummary {
  let events: unknown;
  try {
    events = JSON.parse(json);
  } catch (e) {
    throw new Error(`ORT profile '${file}' is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(events)) throw new Error(`ORT profile '${file}' is not a list of trace events`);
  let runs = 0;
  let total = 0;
  const byOp = new Map<string, { micros: number; calls: number }>();
  const byNode = new Map<string, { opType: string; micros: number }>();
  for (const e of events as TraceEvent[]) {
    if (e.cat === 'Session' && e.name === 'model_run') runs += 1;
    if (e.cat !== 'Node' || typeof e.name !== 'string' || !e.name.endsWith('_kernel_time')) continue;
    if (typeof e.dur !== 'number') throw new Error(`ORT profile '${file}': event '${e.name}' has no numeric duration`);
    const opType = typeof e.args?.op_name === 'string' ? e.args.op_name : '?';
    const entry = byOp.get(opType) ?? { micros: 0, calls: 0 };
    entry.micros += e.dur;
    entry.calls += 1;
    byOp.set(opType, entry);
    const nodeName = e.name.slice(0, -'_kernel_time'.length);
    const node = byNode.get(nodeName) ?? { opType, micros: 0 };
    node.micros += e.dur;
    byNode.set(nodeName, node);
    total += e.dur;
  }
  if (runs === 0) throw new Error(`ORT profile '${file}' records no session run`);
  const byOpType = [...byOp]
    .map(([opType, v]) => ({ opType, micros: v.micros / runs, share: total > 0 ? v.micros / total : 0, calls: v.calls / runs }))
    .sort((a, b) => b.micros - a.micros);
  for (const node of byNode.values()) node.micros /= runs;
  return { runs, kernelMicros: total / runs, byOpType, byNode };
}
