// One defect image from files to files with a built-in model: read the normal image and the mask
// (sizes must equal the model's image size: images are never resized behind the user's back, since
// the background is pasted back pixel-exact), build the conditioning (a trained embedding, or a
// defect family of the token table), run blended generation, and write the image, the exact mask
// and the lineage record beside each other, each atomically. The user's input files are only read.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../../shared/errors';
import { readEmbedding, type AnomalyEmbedding } from '../../anomaly/embedding-file';
import { writeFileAtomic } from '../../autodiff/checkpoint';
import { DEFAULT_AAR } from '../../diffusion/aar';
import { generateBlended, type StepEvent } from '../../diffusion/blended';
import { pasteBackOf } from '../../diffusion/paste-back';
import type { RgbImage } from '../../diffusion/image-tensor';
import { buildLineage, describeBytes, describeFile, writeLineage, type LineageConditioning } from '../../diffusion/lineage';
import type { SamplerSettings } from '../../diffusion/schedulers';
import { binariseMask, encodePng, readImage } from '../../imaging';
import { onnxruntimeVersion } from '../../runtime';
import { embeddingConditioning, type ConditionableModel } from '../../synthesis/conditioning';
import { openSynthesisModel } from '../../synthesis/open-model';
import type { Conditioning, Size2 } from '../types';
import type { BuiltinModel, LoadBuiltinOptions } from './load';

export interface SynthesisFiles {
  model: string;
  image: string;
  mask: string;
  out: string;
  embedding?: string;
}

export interface SynthesisSettings {
  family?: string;
  defect?: string;
  sampler: SamplerSettings;
  seed: number;
  guidance: number;
  aar: boolean;
  strength: number;
  /** paste-back restores the normal image's detail in the generated region (PasteBackSettings.restoreDetail) */
  restoreDetail: boolean;
  /** SD 1.x folders whose export leaves the image size symbolic: run at this pixel size */
  imageSize?: Size2;
}

export interface SynthesisOutput {
  image: string;
  mask: string;
  lineage: string;
  modelHash: string;
  executionProvider: string;
}

export interface SynthesisOptions {
  signal?: AbortSignal;
  onStep?: (event: StepEvent) => void;
  appVersion: string;
  load?: LoadBuiltinOptions;
}

/** `<dir>/<stem>.png` -> `<dir>/<stem><suffix>` */
export function besideOutput(out: string, suffix: string): string {
  const parsed = path.parse(out);
  return path.join(parsed.dir, parsed.name + suffix);
}

export async function synthesizeFile(files: SynthesisFiles, settings: SynthesisSettings, options: SynthesisOptions): Promise<SynthesisOutput> {
  const out = path.resolve(files.out);
  if (path.extname(out).toLowerCase() !== '.png') throw new UserError('BAD_ARGS', `${out}: the output must be a .png file`);
  const outputs = { image: out, mask: besideOutput(out, '.mask.png'), lineage: besideOutput(out, '.lineage.json') };
  for (const input of [files.image, files.mask, files.embedding].filter((f): f is string => f !== undefined)) {
    if (Object.values(outputs).includes(path.resolve(input))) throw new UserError('BAD_ARGS', `${input}: an input would be overwritten by the outputs; choose another --out`);
  }
  if (files.embedding && settings.defect) throw new UserError('BAD_ARGS', 'give either an embedding or a defect family, not both');

  const normal = await readRgb(files.image);
  const maskImage = await readImage(files.mask);
  const { mask, areaPx } = binariseMask(maskImage);
  if (mask.width !== normal.width || mask.height !== normal.height) {
    throw new UserError('MASK_SIZE', `${files.mask}: the mask is ${mask.width}x${mask.height}, the image ${normal.width}x${normal.height}`);
  }
  if (areaPx === 0) throw new UserError('MASK_EMPTY', `${files.mask}: the mask marks no defect pixel`);
  const embedding = files.embedding ? await readEmbedding(files.embedding) : undefined;

  const model = await openSynthesisModel(files.model, { threads: options.load?.intraOpNumThreads, provider: options.load?.provider, imageSize: settings.imageSize });
  try {
    const { width, height } = model.facts.imageSize;
    if (normal.width !== width || normal.height !== height) {
      throw new UserError('IMAGE_SIZE', `${files.image}: the image is ${normal.width}x${normal.height}; model '${model.facts.name}' works at ${width}x${height} (resize or crop it first)`);
    }
    const maskInput = { width, height, data: mask.data };
    const { conditioning, summary } = await conditioningFor(model, settings, maskInput, embedding, files.embedding);
    const result = await generateBlended(
      model,
      {
        normal,
        mask: mask.data,
        conditioning,
        seed: settings.seed,
        sampler: settings.sampler,
        strength: settings.strength,
        guidanceScale: settings.guidance,
        aar: { ...DEFAULT_AAR, enabled: settings.aar },
        pasteBack: pasteBackOf(settings.restoreDetail),
      },
      { ...(options.signal ? { signal: options.signal } : {}), ...(options.onStep ? { onStep: options.onStep } : {}) },
    );
    const imagePng = await encodePng(result.image);
    const maskPng = await encodePng({ width, height, channels: 1, data: result.mask });
    await mkdir(path.dirname(out), { recursive: true });
    await writeFileAtomic(outputs.image, imagePng);
    await writeFileAtomic(outputs.mask, maskPng);
    const record = buildLineage({
      inputs: {
        normal: await describeFile(path.resolve(files.image)),
        mask: await describeFile(path.resolve(files.mask)),
        ...(embedding && files.embedding ? { embedding: { ...(await describeFile(path.resolve(files.embedding))), defectType: embedding.defectType } } : {}),
      },
      outputs: { image: describeBytes(outputs.image, imagePng), mask: describeBytes(outputs.mask, maskPng) },
      conditioning: summary,
      model: { name: model.facts.name, kind: model.facts.kind, contentHash: model.facts.contentHash, path: model.dir },
      result,
      runtime: { executionProvider: model.provider, ...(model.fallbackReason ? { fallbackReason: model.fallbackReason } : {}), onnxruntime: onnxruntimeVersion() },
      appVersion: options.appVersion,
    });
    await writeLineage(outputs.lineage, record);
    return { ...outputs, modelHash: model.facts.contentHash, executionProvider: model.provider };
  } finally {
    await model.release();
  }
}

async function readRgb(file: string): Promise<RgbImage> {
  const img = await readImage(file);
  if (img.channels === 3) return { width: img.width, height: img.height, channels: 3, data: img.data };
  // a grey image: the same value in R, G and B
  const data = new Uint8Array(img.width * img.height * 3);
  for (let p = 0; p < img.width * img.height; p++) data.fill(img.data[p]!, p * 3, p * 3 + 3);
  return { width: img.width, height: img.height, channels: 3, data };
}

async function conditioningFor(
  conditionable: ConditionableModel,
  settings: SynthesisSettings,
  mask: NonNullable<Conditioning['mask']>,
  embedding: AnomalyEmbedding | undefined,
  embeddingFile: string | undefined,
): Promise<{ conditioning: Conditioning; summary: LineageConditioning }> {
  if (conditionable.facts.kind === 'sd1') {
    // an SD 1.x folder is conditioned by a defect learnt against it (e_a + E(mask) in the prompt)
    if (!embedding) throw new UserError('CONDITIONING_UNSUPPORTED', `${conditionable.dir}: an SD 1.x folder knows no defect families; give --embedding, a defect type learnt against it (defectforge train --model)`);
    return embeddingConditioning(conditionable, embedding, embeddingFile!, mask.data, settings.family);
  }
  const model = conditionable as BuiltinModel;
  const family = settings.family ? { prompt: settings.family } : {};
  const familySummary = settings.family ? { family: settings.family } : {};
  if (!embedding) {
    const defect = settings.defect ? { defect: settings.defect } : {};
    return {
      conditioning: { ...family, ...defect, mask },
      summary: { ...familySummary, ...defect, injectedVectors: 0, spatialTokens: 'model-encoder' },
    };
  }
  const { defectTokens, width } = model.manifest.tokens;
  if (embedding.modelHash !== model.facts.contentHash) {
    throw new UserError('EMBEDDING_MODEL_MISMATCH', `${embeddingFile}: trained against model ${embedding.modelHash.slice(0, 12)}, not '${model.facts.name}' (${model.facts.contentHash.slice(0, 12)})`);
  }
  if (embedding.anomaly.dims[0] !== defectTokens || embedding.anomaly.dims[1] !== width) {
    throw new UserError('EMBEDDING_SHAPE', `${embeddingFile}: e_a is [${embedding.anomaly.dims}]; model '${model.facts.name}' takes [${defectTokens}, ${width}]`);
  }
  if (!embedding.spatialEncoder) {
    return {
      conditioning: { ...family, injected: embedding.anomaly.data, mask },
      summary: { ...familySummary, injectedVectors: defectTokens, spatialTokens: 'model-encoder' },
    };
  }
  // the project's trained encoder turns the mask into e_s; e = concat(e_a, e_s)
  const spatial = await model.spatialTokens(mask, embedding.spatialEncoder);
  const injected = new Float32Array(embedding.anomaly.data.length + spatial.length);
  injected.set(embedding.anomaly.data, 0);
  injected.set(spatial, embedding.anomaly.data.length);
  return {
    conditioning: { ...family, injected },
    summary: { ...familySummary, injectedVectors: injected.length / width, spatialTokens: 'embedding-encoder' },
  };
}
