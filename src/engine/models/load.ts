// loadModel(dir): one entry for every model folder. A folder with manifest.json is a built-in
// package; one with model_index.json or unet/model.onnx is a Stable Diffusion 1.x ONNX export
// (Hugging Face Optimum / diffusers' script layout). Anything else is refused with what was
// looked for.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../shared/errors';
import { loadBuiltinModel, MANIFEST_FILE, type BuiltinModel, type LoadBuiltinOptions } from './builtin/load';
import { loadSd1Folder, type Sd1LoadOptions, type Sd1Model } from './sd1';

export { checkImageSize } from './sd1/image-size';

export type ModelFolderKind = 'builtin' | 'sd1';

export interface LoadModelOptions extends LoadBuiltinOptions {
  /** SD 1.x only: everything but the session options, which come from provider/intraOpNumThreads */
  sd1?: Omit<Sd1LoadOptions, 'session'>;
}

const SD_MARKERS = ['model_index.json', path.join('unet', 'model.onnx')];

const exists = (file: string): Promise<boolean> =>
  fs.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );

/** What kind of model folder `dir` is (no file is read beyond existence checks). */
export async function detectModelFolder(dir: string): Promise<ModelFolderKind> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat) throw new UserError('MODEL_NOT_FOUND', `${dir}: no such model folder`);
  if (!stat.isDirectory()) throw new UserError('MODEL_NOT_FOUND', `${dir}: not a folder (a model is a folder with manifest.json, or an SD 1.x ONNX export)`);
  if (await exists(path.join(dir, MANIFEST_FILE))) return 'builtin';
  for (const marker of SD_MARKERS) if (await exists(path.join(dir, marker))) return 'sd1';
  throw new UserError(
    'MODEL_NOT_FOUND',
    `${dir}: not a model folder (no ${MANIFEST_FILE} of a DefectForge package, no ${SD_MARKERS.join(' or ')} of an SD 1.x ONNX export)`,
  );
}

/** A loaded model folder of either kind (`facts.kind` tells which). */
export type LoadedModel = BuiltinModel | Sd1Model;

export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const root = path.resolve(dir);
  const kind = await detectModelFolder(root);
  const { sd1, ...runtime } = options;
  if (kind === 'builtin') return loadBuiltinModel(root, runtime);
  const session = {
    ...(runtime.provider !== undefined ? { provider: runtime.provider } : {}),
    ...(runtime.intraOpNumThreads !== undefined ? { intraOpNumThreads: runtime.intraOpNumThreads } : {}),
  };
  return loadSd1Folder(root, { ...sd1, session });
}

/**
 * What the project's models table records of a loaded model: a package's manifest, or an SD 1.x
 * folder's kind, image size and token width (its files are hashed into contentHash).
 */
export function modelRecord(model: LoadedModel): { name: string; kind: 'builtin' | 'sd1'; path: string; contentHash: string; manifest: unknown } {
  const { facts } = model;
  const manifest = 'manifest' in model ? model.manifest : { kind: 'sd1', imageSize: facts.imageSize, tokenWidth: facts.tokenWidth };
  return { name: facts.name, kind: facts.kind, path: model.dir, contentHash: facts.contentHash, manifest };
}
