// report.json: every number of the report, machine-readable. Undefined metrics (NaN) become null.
// Timing lives under `timing` only, so two runs with the same settings can be compared by
// everything else.
import type { EvalResult } from '../run';
import { DEFINITIONS } from './definitions';

export const REPORT_VERSION = 1;

/** Thins a loss curve to at most n points (means over equal chunks). */
export function thinLosses(losses: readonly number[], n = 100): number[] {
  if (losses.length <= n) return [...losses];
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const a = Math.floor((k * losses.length) / n);
    const b = Math.floor(((k + 1) * losses.length) / n);
    out.push(losses.slice(a, b).reduce((s, v) => s + v, 0) / (b - a));
  }
  return out;
}

export function reportJson(r: EvalResult): Record<string, unknown> {
  return {
    version: REPORT_VERSION,
    category: r.category,
    jobId: r.jobId,
    settings: { ...r.settings, steps: r.steps, width: r.width, height: r.height, poolingWindow: r.poolingWindow },
    data: {
      trainGood: r.data.trainGood.length,
      trainDefects: r.data.trainDefects.length,
      testGood: r.data.test.filter((t) => t.defectType === null).length,
      testDefects: Object.fromEntries(r.data.defectTypes.map((t) => [t, r.data.test.filter((x) => x.defectType === t).length])),
    },
    versions: r.versions,
    definitions: DEFINITIONS,
    generators: r.sources.map((s) => ({
      name: s.name,
      description: s.description,
      trainingPairs: s.trainingPairs,
      sampleIds: s.sampleIds,
      quality: s.quality,
      steps: s.steps,
      finalLoss: s.losses.at(-1),
      lossCurve: thinLosses(s.losses),
      results: s.results,
      classifier: s.classifier,
    })),
    timing: Object.fromEntries(r.sources.map((s) => [s.name, { trainingSeconds: s.trainingSeconds }])),
  };
}

export function stringifyReport(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1) + '\n';
}
