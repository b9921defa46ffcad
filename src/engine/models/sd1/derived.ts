// Opening a graph derived from a user's model (specialised, with inputs_embeds or AAR inputs).
// Graphs without external data open from memory. A graph whose weights live in external files
// (the UNet's weights.pb / model.onnx_data) is written into a work folder next to a hard link of
// each weight file (a copy where the file system cannot link), because onnxruntime resolves
// external data relative to the model file. The user's folder is never written to.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { resolveExternalLocation, saveModel } from '../../onnx/io';
import type { Model } from '../../onnx/ir';
import { encodeModel } from '../../onnx/serialize';
import { createSession, type Session, type SessionOptions } from '../../runtime';

function externalLocations(model: Model): string[] {
  const locations = new Set<string>();
  for (const t of model.graph.initializers.values()) if (t.external) locations.add(t.external.location);
  return [...locations];
}

async function linkOrCopy(source: string, target: string): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  await fs.rm(target, { force: true });
  try {
    await fs.link(source, target);
  } catch {
    await fs.copyFile(source, target);
  }
}

/**
 * @param sourcePath the .onnx file the model was loaded from (its external locations are relative to it)
 * @param workDir    a folder this loader owns; `name` is a subfolder for this graph
 */
export async function openDerived(model: Model, sourcePath: string, workDir: string, name: string, options: SessionOptions): Promise<Session> {
  const locations = externalLocations(model);
  if (locations.length === 0) return createSession(encodeModel(model), options);
  const folder = path.join(workDir, name);
  const sourceFolder = path.dirname(path.resolve(sourcePath));
  for (const location of locations) {
    const where = `${sourcePath}: external data`;
    await linkOrCopy(resolveExternalLocation(sourceFolder, location, where), resolveExternalLocation(folder, location, where));
  }
  const target = path.join(folder, 'model.onnx');
  await saveModel(model, target);
  return createSession(target, options);
}
