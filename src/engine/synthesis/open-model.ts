// The model of a synthesis run (the job, regenerate, the one-file synth): a DefectForge package
// or an SD 1.x ONNX folder, opened through models/load.ts. `imageSize` is for SD 1.x exports that
// leave the pixel size symbolic (512x512 otherwise); a model fixed at another size is refused
// rather than silently run at its own, since the plan's masks and lineage name the size asked for.
import { UserError } from '../../shared/errors';
import { loadModel, type LoadedModel } from '../models/load';
import type { Size2 } from '../models/types';
import type { ProviderRequest } from '../runtime';

export interface OpenSynthesisModelOptions {
  /** ORT intra-op threads (default: the runtime's setting) */
  threads?: number | undefined;
  provider?: ProviderRequest | undefined;
  /** SD 1.x folders with a symbolic image size: the pixel size to run at */
  imageSize?: Size2 | undefined;
}

export const sizeText = (s: Size2): string => `${s.width}x${s.height}`;

export async function openSynthesisModel(dir: string, options: OpenSynthesisModelOptions = {}): Promise<LoadedModel> {
  const model = await loadModel(dir, {
    ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
    ...(options.provider !== undefined ? { provider: options.provider } : {}),
    ...(options.imageSize ? { sd1: { imageSize: options.imageSize } } : {}),
  });
  const wanted = options.imageSize;
  const actual = model.facts.imageSize;
  if (wanted && (wanted.width !== actual.width || wanted.height !== actual.height)) {
    await model.release();
    throw new UserError('IMAGE_SIZE', `${model.dir}: model '${model.facts.name}' works at ${sizeText(actual)}, not at the ${sizeText(wanted)} asked for (only SD 1.x exports with a symbolic image size run at a chosen size)`);
  }
  return model;
}
