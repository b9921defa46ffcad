// The artifact row of an adapted model: kind 'adapted-model', project-wide (no defect type),
// versioned like every artifact (1, 2, ... per kind), pointing at the adapted package's
// manifest.json stored as a blob; config names the package folder (relative to the project) and
// its content hash, metrics hold the held-out losses and the VAE PSNR before/after.

import type { Project } from '../../main/store/project';
import { latestArtifact, listArtifacts, recordArtifact, type ArtifactRecord } from '../../main/store/artifacts';

export const ADAPTED_MODEL_KIND = 'adapted-model';
export const MANIFEST_MEDIA_TYPE = 'application/json';

/** The version the next adapted model of the project will get. */
export function nextAdaptedVersion(project: Project): number {
  return (latestArtifact(project, ADAPTED_MODEL_KIND, null)?.version ?? 0) + 1;
}

export interface NewAdaptedArtifact {
  modelId: number;
  blobHash: string;
  config: Record<string, unknown>;
  metrics: Record<string, unknown>;
  jobId: number | null;
}

export function recordAdaptedModel(project: Project, a: NewAdaptedArtifact): ArtifactRecord {
  return recordArtifact(project, { kind: ADAPTED_MODEL_KIND, defectTypeId: null, ...a });
}

/** Adapted models of the project, newest first. */
export function listAdaptedModels(project: Project): ArtifactRecord[] {
  return listArtifacts(project, ADAPTED_MODEL_KIND);
}
