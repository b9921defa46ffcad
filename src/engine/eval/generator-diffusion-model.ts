// Which model eval's 'diffusion' generator runs: the one the evaluation names, else the one the
// category's newest learned anomaly embedding was trained against. Checked before any inspector
// trains, so a missing model fails the evaluation at once.
import type { Database } from 'better-sqlite3';
import { UserError } from '../../shared/errors';
import { modelPathByHash } from '../../main/store/samples';
import type { GeneratorRun } from './generator';

export function diffusionModelDir(run: Pick<GeneratorRun, 'model' | 'category'> & { project: { db: Database } }): string {
  if (run.model !== undefined) return run.model;
  const row = run.project.db
    .prepare(
      `SELECT m.content_hash AS hash FROM artifacts a JOIN models m ON m.id = a.model_id JOIN defect_types t ON t.id = a.defect_type_id
        WHERE a.kind = 'anomaly-embedding' AND t.category = ? ORDER BY a.id DESC LIMIT 1`,
    )
    .get(run.category) as { hash: string } | undefined;
  const dir = row ? modelPathByHash(run.project, row.hash) : null;
  if (dir === null) {
    throw new UserError(
      'MODEL_REQUIRED',
      `generator 'diffusion': no model given, and no defect type of category '${run.category}' was learnt yet to take it from; learn one first (defectforge train <project> --type ${run.category}/<type> --model <dir>)`,
    );
  }
  return dir;
}
