// A JSON-serialisable summary of a project for the dashboard and `defectforge info`.
import type { Database } from 'better-sqlite3';
import { JOB_STATES, type CategoryInfo, type JobState, type ProjectInfo } from '../../shared/dto';
import { listDefectTypes } from './defect-types';
import { schemaVersion } from './migrate';

export function projectInfo(p: { readonly db: Database }): ProjectInfo {
  const db = p.db;
  const project = db.prepare('SELECT name, created_at, app_version FROM project WHERE id = 1').get() as { name: string; created_at: string; app_version: string };
  const goodCounts = db
    .prepare("SELECT category, split, count(*) AS n FROM images WHERE defect_type_id IS NULL AND origin = 'real' GROUP BY category, split")
    .all() as { category: string; split: 'train' | 'test'; n: number }[];
  const names = db.prepare('SELECT category FROM images UNION SELECT category FROM defect_types ORDER BY category').pluck().all() as string[];
  const types = listDefectTypes(p);
  const categories: CategoryInfo[] = names.map((name) => ({
    name,
    trainGood: goodCounts.find((g) => g.category === name && g.split === 'train')?.n ?? 0,
    testGood: goodCounts.find((g) => g.category === name && g.split === 'test')?.n ?? 0,
    defectTypes: types.filter((t) => t.category === name),
  }));
  const blobs = db.prepare('SELECT count(*) AS count, coalesce(sum(size), 0) AS bytes FROM blobs').get() as { count: number; bytes: number };
  const jobs = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
  for (const row of db.prepare('SELECT state, count(*) AS n FROM jobs GROUP BY state').all() as { state: JobState; n: number }[]) jobs[row.state] = row.n;
  return {
    name: project.name,
    schemaVersion: schemaVersion(db),
    appVersion: project.app_version,
    createdAt: project.created_at,
    categories,
    blobs: { count: blobs.count, bytes: blobs.bytes },
    jobs,
  };
}
