// Unsaved mask edits, kept in main so that nothing drawn is lost when the engine (or the window)
// crashes: the editor sends its current mask a moment after every change, and it is written
// atomically to <project>/drafts/image-<id>.png. Saving the mask or discarding the edits deletes
// the draft. Drafts are checked like saved masks (size, binary) so a restored draft is always valid.
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { MaskDraft } from '../../shared/ipc';
import type { Project } from '../store/project';
import { checkMaskForImage } from '../store/queries/masks';
import { writeFileAtomic } from './atomic-file';

export const DRAFTS_DIR = 'drafts';

export function draftPath(project: Project, imageId: number): string {
  return join(project.dir, DRAFTS_DIR, `image-${imageId}.png`);
}

export async function putDraft(project: Project, imageId: number, png: Uint8Array): Promise<{ savedAt: string }> {
  await checkMaskForImage(project, imageId, png);
  const file = draftPath(project, imageId);
  writeFileAtomic(file, png);
  return { savedAt: statSync(file).mtime.toISOString() };
}

export function getDraft(project: Project, imageId: number): MaskDraft | null {
  const file = draftPath(project, imageId);
  if (!existsSync(file)) return null;
  return { imageId, pngBase64: readFileSync(file).toString('base64'), savedAt: statSync(file).mtime.toISOString() };
}

export function dropDraft(project: Project, imageId: number): void {
  rmSync(draftPath(project, imageId), { force: true });
}
