// Textual inversion of a defect family the model never saw (issue 5): its image-mask pairs go
// through the product's own path, as a user's would: written as an MVTec-layout folder, imported
// into a fresh project (all pairs in the training split), learned by learnDefect (masked textual
// inversion of e_a with the spatial encoder E), and read back as the saved embedding. One project
// per family, so one family's E never starts from another's.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { importDataset } from '../../../../main/import';
import { setTrainCount } from '../../../../main/store/defect-types';
import { createProject } from '../../../../main/store/project';
import { UserError } from '../../../../shared/errors';
import type { AnomalyEmbedding } from '../../../anomaly/embedding-file';
import { latestAnomalyEmbedding, learnDefect } from '../../../anomaly/learn-defect';
import { findDefectType } from '../../../anomaly/training-set';
import { writeMaskPng, writeRgbPng } from '../../../corpus/png';
import type { BuiltinModel } from '../../builtin/load';
import type { Conditioning } from '../../types';
import type { QualitySample } from './samples';

export const INVERSION_CATEGORY = 'quality';

export interface InversionSettings {
  steps: number;
  seed: number;
}

export interface LearnedFamily {
  defect: string;
  embedding: AnomalyEmbedding;
  pairs: number;
  steps: number;
  finalLoss: number;
}

/** Learns `defect` from `pairs` inside `workDir` (a fresh folder of the caller's). */
export async function learnHeldOutFamily(modelDir: string, defect: string, pairs: readonly QualitySample[], workDir: string, settings: InversionSettings): Promise<LearnedFamily> {
  if (pairs.length === 0) throw new UserError('BAD_ARGS', `textual inversion of '${defect}': no image-mask pairs`);
  const dataset = path.join(workDir, 'dataset', INVERSION_CATEGORY);
  await mkdir(dataset, { recursive: true });
  const digits = Math.max(3, String(pairs.length - 1).length);
  for (const [i, p] of pairs.entries()) {
    const stem = String(i).padStart(digits, '0');
    await writeRgbPng(path.join(dataset, 'test', defect, `${stem}.png`), p.reference);
    await writeMaskPng(path.join(dataset, 'ground_truth', defect, `${stem}_mask.png`), p.mask, p.reference.width, p.reference.height);
  }
  const project = createProject(path.join(workDir, 'project'));
  try {
    const report = await importDataset(project, dataset);
    const errors = report.problems.filter((p) => p.severity === 'error');
    if (errors.length) throw new Error(`textual inversion of '${defect}': the import rejected ${errors.map((p) => `${p.path} (${p.message})`).join(', ')}`);
    const type = findDefectType(project, `${INVERSION_CATEGORY}/${defect}`);
    setTrainCount(project, type.id, pairs.length);
    const result = await learnDefect({
      project,
      type: type.label,
      modelDir,
      settings: { steps: settings.steps, seed: settings.seed, previewEvery: 0, checkpointEvery: 0 },
    });
    const saved = latestAnomalyEmbedding(project, type.id);
    if (!saved) throw new Error(`textual inversion of '${defect}': learnDefect saved no embedding`);
    return { defect, embedding: saved.embedding, pairs: result.trainingPairs, steps: result.steps, finalLoss: result.finalLoss };
  } finally {
    project.close();
  }
}

/** The conditioning of a learned family on one mask: e = concat(e_a, E(m)) with the embedding's own E. */
export async function learnedConditioning(model: BuiltinModel, learned: LearnedFamily, mask: NonNullable<Conditioning['mask']>): Promise<Conditioning> {
  const { anomaly, spatialEncoder } = learned.embedding;
  if (!spatialEncoder) return { injected: anomaly.data, mask };
  const spatial = await model.spatialTokens(mask, spatialEncoder);
  const injected = new Float32Array(anomaly.data.length + spatial.length);
  injected.set(anomaly.data, 0);
  injected.set(spatial, anomaly.data.length);
  return { injected };
}
