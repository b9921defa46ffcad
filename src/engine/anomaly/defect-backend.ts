// What defect learning needs from a model, whatever its kind: its DiffusionModel (VAE encoding
// of the training images, preview generation), the token layout (k anomaly tokens, n spatial
// tokens, their width), the spatial encoder E it trains, e_a's starting rows, and the one
// training graph (inversion-graph.ts with the model's ConditionedEps stage). learn-defect.ts runs
// the same loop, checkpoints and artifact on top of either backend.
//
//   built-in package: E and the UNet come from the package; the context rows are the package's
//                     [family | e_a | E(mask)] layout read by the UNet directly;
//   SD 1.x folder:    E is DefectForge's (models/sd1/spatial-encoder.ts); the rows are the
//                     placeholder prompt's inputs_embeds, run through the frozen text encoder.

import path from 'node:path';
import { UserError } from '../../shared/errors';
import { Rng } from '../../shared/random';
import type { ModelIdentity } from '../../main/store/artifacts';
import { packagePath } from '../models/builtin/files';
import { loadBuiltinModel, type BuiltinModel } from '../models/builtin/load';
import { NULL_LABEL } from '../models/builtin/token-table';
import { detectModelFolder, modelRecord } from '../models/load';
import { loadSd1Folder, type Sd1Model } from '../models/sd1';
import { SD1_ANOMALY_TOKENS, SD1_ENCODER_SIDE, SD1_SPATIAL_TOKENS, encoderMaskInput } from '../models/sd1/spatial-encoder';
import type { Conditioning, DiffusionModel, Size2 } from '../models/types';
import { loadModel as loadOnnx } from '../onnx/io';
import { DTYPE_BYTES, numElements, type Model } from '../onnx/ir';
import { removeDeadCode } from '../onnx/passes/dead-code';
import { materialiseFloatWeights } from './encoder-weights';
import { buildInversionGraph, type ContextSegment, type InversionGraph } from './inversion-graph';
import { sd1Eps, sd1PromptLayout } from './sd1-learning';

/** ModelProto is a protobuf message: 2 GiB is its hard limit */
const PROTOBUF_LIMIT_BYTES = 2 ** 31 - 1;

export interface DefectBackendOptions {
  /** built-in models: a family label for the context's first slot */
  family?: string | undefined;
  /** SD 1.x folders: run at this pixel size when the export leaves it symbolic */
  imageSize?: Size2 | undefined;
  /**
   * SD 1.x folders: the training model is written into a new folder here and opened from disk
   * (no 2 GiB limit; a float32 UNet's external weight files are linked, not copied). Without
   * it the training session is built in memory, which refuses graphs over 2 GiB.
   */
  trainingWorkDir?: string | undefined;
}

/** Where the composer keeps the training model (composeTraining's workDir options). */
export interface TrainingStorage {
  workDir?: string;
  externalDataFolder?: string;
}

export interface DefectBackend {
  readonly model: DiffusionModel;
  readonly modelRow: ModelIdentity;
  /** k, n and the token width */
  readonly anomalyTokens: number;
  readonly spatialTokens: number;
  readonly tokenWidth: number;
  /** the size of the mask E reads */
  readonly encoderImage: Size2;
  /** UNets with a scalar timestep input: every batch item shares one t */
  readonly sharedTimestep: boolean;
  /** facts of the model's layout that belong to the run's configuration (and its resume key) */
  readonly layoutConfig: Record<string, unknown>;
  /** E's graph with float32 weights, the given batch size (the weight names do not depend on it) */
  encoder(batch: number): Model;
  /** a pixel mask at the model's image size -> E's input (+1 defect, -1 background) at encoderImage */
  encoderInput(mask: Uint8Array): Float32Array;
  /** e_a's starting rows [k * width] */
  initialAnomaly(seed: number): Float32Array;
  /** the forward + masked-loss graph for a batch size */
  trainingGraph(batch: number): Promise<InversionGraph>;
  /** how composeTraining stores that graph (after trainingGraph): in memory ({}) or in a work folder */
  trainingStorage(): TrainingStorage;
  /** the conditioning of a preview generation with injected rows [e_a | e_s] */
  previewConditioning(injected: Float32Array): Conditioning;
  release(): Promise<void>;
}

/** A small seeded perturbation so identical starting rows can still move apart. */
function jitter(init: Float32Array, seed: number): Float32Array {
  let rms = 0;
  for (const v of init) rms += v * v;
  rms = Math.sqrt(rms / init.length) || 1;
  const noise = new Rng(seed ^ 0x51ed27).normals(init.length, 0.01 * rms);
  for (let j = 0; j < init.length; j++) init[j] = init[j]! + noise[j]!;
  return init;
}

// ---------------------------------------------------------------- built-in package

/** e_a's starting rows: per slot, the mean of that slot over the model's defect families; '<null>' when it has none. */
function builtinInitialAnomaly(model: BuiltinModel, seed: number): Float32Array {
  const { defectTokens: k, width: W } = model.manifest.tokens;
  const families = model.tokens.defects();
  const init = new Float32Array(k * W);
  if (families.length === 0) {
    const nullRow = model.tokens.row(NULL_LABEL);
    for (let i = 0; i < k; i++) init.set(nullRow, i * W);
  } else {
    for (const f of families) {
      const rows = model.tokens.defectRows(f);
      for (let j = 0; j < init.length; j++) init[j] = init[j]! + rows[j]! / families.length;
    }
  }
  return jitter(init, seed);
}

async function openBuiltinBackend(root: string, options: DefectBackendOptions): Promise<DefectBackend> {
  const model = await loadBuiltinModel(root);
  try {
    const files = model.manifest.files;
    const unet = await loadOnnx(packagePath(root, files.unet.path), { loadExternal: true });
    const encoder = materialiseFloatWeights(await loadOnnx(packagePath(root, files.spatial_encoder.path), { loadExternal: true }));
    const facts = model.facts;
    const { defectTokens: k, spatialTokens: n, width: W } = model.manifest.tokens;
    const familyRow = options.family ? model.tokens.familyRow(options.family) : model.tokens.row(NULL_LABEL);
    const segments: ContextSegment[] = [
      { kind: 'fixed', rows: familyRow },
      { kind: 'trained', input: 'e_a', tokens: k },
      { kind: 'encoder', tokens: n },
    ];
    return {
      model,
      modelRow: { name: facts.name, kind: facts.kind, path: model.dir, contentHash: facts.contentHash, manifest: model.manifest },
      anomalyTokens: k,
      spatialTokens: n,
      tokenWidth: W,
      encoderImage: facts.imageSize,
      sharedTimestep: false,
      layoutConfig: { family: options.family ?? NULL_LABEL },
      encoder: () => encoder,
      encoderInput: (mask) => Float32Array.from(mask, (m) => (m > 0 ? 1 : -1)),
      initialAnomaly: (seed) => builtinInitialAnomaly(model, seed),
      trainingGraph: async (batch) =>
        buildInversionGraph({
          unet,
          encoder,
          batch,
          latent: { channels: facts.latentChannels, ...facts.latentSize },
          image: facts.imageSize,
          tokenWidth: W,
          segments,
          maskedLoss: true,
          predictionType: facts.schedule.predictionType,
        }),
      // packages are small: their training session is built in memory
      trainingStorage: () => ({}),
      previewConditioning: (injected) => ({ injected, ...(options.family ? { prompt: options.family } : {}) }),
      release: () => model.release(),
    };
  } catch (e) {
    await model.release();
    throw e;
  }
}

// ---------------------------------------------------------------- SD 1.x folder

/** Words whose embedding starts e_a (METHOD.md: a generic word where the model has a vocabulary). */
const INIT_WORDS = ['defect', 'anomaly', 'damage'];

function sd1InitialAnomaly(model: Sd1Model, k: number, seed: number): Float32Array {
  const W = model.facts.tokenWidth;
  let row: Float32Array | undefined;
  for (const word of INIT_WORDS) {
    try {
      row = model.tokenEmbedding(word);
      break;
    } catch {
      // not a single token in this vocabulary: try the next word
    }
  }
  // no such word: the mean of the prompt's word rows (a neutral point of the embedding space)
  if (!row) {
    const { embeds, ids } = model.promptEmbeds(0);
    row = new Float32Array(W);
    for (let r = 0; r < ids.length; r++) for (let j = 0; j < W; j++) row[j] = row[j]! + embeds[r * W + j]! / ids.length;
  }
  const init = new Float32Array(k * W);
  for (let i = 0; i < k; i++) init.set(row, i * W);
  return jitter(init, seed);
}

async function openSd1Backend(root: string, options: DefectBackendOptions): Promise<DefectBackend> {
  if (options.family) {
    throw new UserError('BAD_PARAMS', `${root}: 'family' labels belong to DefectForge model packages; an SD 1.x folder is conditioned by its prompt template`);
  }
  const model = await loadSd1Folder(root, options.imageSize ? { imageSize: options.imageSize } : {});
  try {
    const facts = model.facts;
    const k = SD1_ANOMALY_TOKENS;
    const n = SD1_SPATIAL_TOKENS;
    const layout = sd1PromptLayout(model, k, n);
    // the opsets are checked here, before any training work
    const encoderAt1 = model.spatialEncoder(1);
    const encoderImage = { width: SD1_ENCODER_SIDE, height: SD1_ENCODER_SIDE };
    let graphs: Awaited<ReturnType<Sd1Model['trainingGraphs']>> | undefined;
    const onDisk = options.trainingWorkDir !== undefined;
    return {
      model,
      modelRow: modelRecord(model),
      anomalyTokens: k,
      spatialTokens: n,
      tokenWidth: facts.tokenWidth,
      encoderImage,
      sharedTimestep: model.timestepRank === 0,
      layoutConfig: { prompt: 'a photo of a *', ids: layout.ids, spatialEncoder: `sd1-pyramid-${SD1_ENCODER_SIDE}`, imageSize: facts.imageSize },
      encoder: (batch) => (batch === 1 ? encoderAt1 : model.spatialEncoder(batch)),
      encoderInput: (mask) => encoderMaskInput(mask, facts.imageSize),
      initialAnomaly: (seed) => sd1InitialAnomaly(model, k, seed),
      async trainingGraph(batch) {
        graphs ??= await model.trainingGraphs({ keepExternal: onDisk });
        const graph = buildInversionGraph({
          eps: sd1Eps(graphs, layout.ids),
          encoder: model.spatialEncoder(batch),
          batch,
          latent: { channels: facts.latentChannels, ...facts.latentSize },
          image: encoderImage,
          tokenWidth: facts.tokenWidth,
          segments: layout.segments,
          maskedLoss: true,
          predictionType: facts.schedule.predictionType,
        });
        // the text encoder's pooled output (argmax over input_ids) is not needed for the loss
        const pruned = removeDeadCode(graph.model);
        if (!onDisk) checkInMemoryGraphSize(pruned, graphs.unetFile);
        return { ...graph, model: pruned };
      },
      trainingStorage: () =>
        onDisk ? { workDir: options.trainingWorkDir!, ...(graphs?.externalDataFolder ? { externalDataFolder: graphs.externalDataFolder } : {}) } : {},
      previewConditioning: (injected) => ({ injected }),
      release: () => model.release(),
    };
  } catch (e) {
    await model.release();
    throw e;
  }
}

/**
 * An in-memory training session is one ModelProto, and a protobuf message cannot exceed 2 GiB: a
 * full-size SD 1.x UNet (860M parameters, 3.4 GB in float32) does not fit. Without a training
 * work folder such graphs are refused here, naming the file, instead of failing in the encoder.
 */
export function checkInMemoryGraphSize(model: Model, unetFile: string): void {
  let bytes = 0;
  for (const t of model.graph.initializers.values()) bytes += DTYPE_BYTES[t.dtype] * numElements(t.dims);
  // the weights plus a margin for the graph's own structure
  if (bytes > PROTOBUF_LIMIT_BYTES - 64 * 2 ** 20) {
    throw new UserError(
      'sd-learning-too-large',
      `${unetFile}: the learning graph holds ${(bytes / 2 ** 30).toFixed(2)} GiB of float32 weights; an in-memory training session is one ONNX message, limited to 2 GiB: learn with a training work folder (trainingWorkDir), which opens the session from disk`,
    );
  }
}

/** Opens the model folder `dir` (a built-in package or an SD 1.x folder) for defect learning. */
export async function openDefectBackend(dir: string, options: DefectBackendOptions = {}): Promise<DefectBackend> {
  const root = path.resolve(dir);
  return (await detectModelFolder(root)) === 'builtin' ? openBuiltinBackend(root, options) : openSd1Backend(root, options);
}
