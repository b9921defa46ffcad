// The Stable Diffusion 1.x ONNX folder adapter: a DiffusionModel over a folder exported by Hugging
// Face Optimum or diffusers' conversion script (layout in ./folder, accepted signatures in
// ./signatures). On load, before any compute:
//   - every file is checked (missing files, external data, inputs it does not understand: named);
//   - the text encoder gets an `inputs_embeds` input (learned vectors go in at the placeholder);
//   - the UNet is specialised to the latent grid and gets AAR inputs in its cross-attention layers
//     (aar_weight = 1 and aar_columns = 0 leave it exactly as exported);
// The user's folder is only read; derived graphs live in a work folder removed on release().
// Learning (anomaly/sd1-learning.ts) gets the same derived graphs in float32 with their weights in
// memory (`trainingGraphs`), the prompt layout the sampling context uses (`promptEmbeds`), and
// the project's spatial encoder E for this model (./spatial-encoder, `spatialTokens`).

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../../shared/errors';
import { loadModel } from '../../onnx/io';
import { defaultOpset, type Dim, type Model, type OpsetImport } from '../../onnx/ir';
import { encodeModel } from '../../onnx/serialize';
import { exposeInputsEmbeds, INPUTS_EMBEDS, tokenEmbeddingTable } from '../../onnx/passes/expose-inputs-embeds';
import { AAR_COLUMNS, AAR_WEIGHT, insertAttentionReweight } from '../../onnx/passes/insert-attention-reweight';
import { specialiseShapes } from '../../onnx/passes/specialise-shapes';
import { createSession, type HostTensor, type ProviderName, type Session, type SessionOptions } from '../../runtime';
import { ClipTokenizer } from '../clip-tokenizer';
import type { Conditioning, DiffusionModel, ModelFacts, NoiseRequest, Size2 } from '../types';
import { floatTensor, readFloats, timestepTensor } from './boundary';
import { openDerived } from './derived';
import { halfToFloat32 } from './float16';
import { hasFloat16, widenToFloat32 } from './float32-graph';
import { buildSd1SpatialEncoder, encoderMaskInput, SD1_ENCODER_SIDE, SD1_SPATIAL_TOKENS, tableRms } from './spatial-encoder';
import { hashFolder, readSd1Folder, type Sd1Folder } from './folder';
import { promptTokens } from './prompt';
import { textEncoderSignature, unetSignature, vaeDecoderSignature, vaeEncoderSignature, type FloatType, type UNetSignature, type VaeSignature } from './signatures';

/** SD 1.x's VAE halves the resolution three times. */
export const SD1_VAE_FACTOR = 8;
export const DEFAULT_PROMPT = 'a photo of a *';
export const DEFAULT_PLACEHOLDER = '*';
const DEFAULT_IMAGE_SIZE: Size2 = { width: 512, height: 512 };
/** CLIP's context length, when the export leaves it symbolic */
const CLIP_LENGTH = 77;

export interface Sd1LoadOptions {
  /** pixel size to run at when the export's spatial size is symbolic (default 512x512) */
  imageSize?: Size2;
  /** prompt used when a conditioning gives none; the placeholder marks the injected vectors */
  promptTemplate?: string;
  placeholder?: string;
  /** folder for derived graphs (default: a new temporary folder, removed on release) */
  workDir?: string;
  session?: SessionOptions;
}

/** A prompt laid out for the text encoder: ids, the injected rows, and inputs_embeds without them. */
export interface PromptEmbeds {
  /** [contextLength] token ids (the slots hold the placeholder's id) */
  ids: number[];
  /** rows of the injected vectors, in order (contiguous) */
  slots: number[];
  /** [contextLength, tokenWidth] table rows of `ids`; the slot rows are zero */
  embeds: Float32Array;
}

/** The frozen networks of a learning graph, float32, weights in memory (see `trainingGraphs`). */
export interface Sd1TrainingGraphs {
  /** text encoder with `inputs_embeds` [batch, contextLength, tokenWidth]; batch symbolic */
  text: Model;
  textFile: string;
  /** the ids input when the derived text encoder still reads it (pooling), else undefined */
  ids?: { name: string; dtype: 'int32' | 'int64' };
  hiddenOutput: string;
  /** UNet fixed to the latent grid and context length; batch symbolic; no AAR inputs */
  unet: Model;
  unetFile: string;
  /**
   * with `keepExternal`, for a float32 export whose UNet weights are external files: the folder
   * their locations are relative to (the UNet's). Undefined: every weight is in memory.
   */
  externalDataFolder?: string;
  sample: string;
  timestep: { name: string; dtype: 'int64' | 'int32' | 'float32'; rank: 0 | 1 };
  context: string;
  output: string;
  /** the opset imports both share (a learning graph holds both) */
  opsetImports: OpsetImport[];
}

/** Encoder weights by initializer name of the spatial encoder graph (./spatial-encoder). */
export type Sd1EncoderWeights = Record<string, { dims: number[]; data: Float32Array }>;

/** The loaded adapter also exposes what learning needs: the token table, the prompt layout, the graphs, E. */
export interface Sd1Model extends DiffusionModel {
  readonly dir: string;
  /** the provider the UNet session runs on, and why a preferred one was not used */
  readonly provider: ProviderName;
  readonly fallbackReason?: string;
  /** the UNet takes one scalar timestep for the whole batch (0) or one per item (1) */
  readonly timestepRank: 0 | 1;
  /** [width] float32 embedding of the single-token `word` (e.g. 'defect'), from the text encoder's table */
  tokenEmbedding(word: string): Float32Array;
  /** the prompt (default: the template) with `count` injected vectors, as sampling lays it out */
  promptEmbeds(count: number, prompt?: string): PromptEmbeds;
  /**
   * the text encoder and UNet as a learning graph embeds them, read again from disk with their
   * weights; `keepExternal`: a float32 UNet's external weights stay references to its files (for
   * a training session opened from disk: a full-size UNet is 3.4 GB)
   */
  trainingGraphs(options?: { keepExternal?: boolean }): Promise<Sd1TrainingGraphs>;
  /** E for this model at a batch size (./spatial-encoder), in the learning graph's opset */
  spatialEncoder(batch: number): Model;
  /** E with trained weights on one mask (image size, 0 / non-zero) -> [SD1_SPATIAL_TOKENS, tokenWidth] */
  spatialTokens(mask: NonNullable<Conditioning['mask']>, weights: Sd1EncoderWeights): Promise<Float32Array>;
}

async function loadAll(folder: Sd1Folder): Promise<{ text: Model; unet: Model; vaeEncoder: Model; vaeDecoder: Model }> {
  const { paths } = folder;
  return {
    text: await loadModel(paths.textEncoder),
    unet: await loadModel(paths.unet),
    vaeEncoder: await loadModel(paths.vaeEncoder),
    vaeDecoder: await loadModel(paths.vaeDecoder),
  };
}

/** A fixed dim must equal `want`; a symbolic one is bound to it. */
function bindDim(dim: Dim | undefined, want: number, params: Record<string, number>, where: string): void {
  if (typeof dim === 'number') {
    if (dim !== want) throw new UserError('sd-signature', `${where} is fixed at ${dim}; this model runs at ${want}`);
  } else if (dim) params[dim] = want;
}

function imageSizeOf(file: string, vae: VaeSignature, options: Sd1LoadOptions): Size2 {
  const [h, w] = [vae.input.shape![2], vae.input.shape![3]];
  const size = typeof h === 'number' && typeof w === 'number' ? { width: w, height: h } : (options.imageSize ?? DEFAULT_IMAGE_SIZE);
  if (size.width % SD1_VAE_FACTOR !== 0 || size.height % SD1_VAE_FACTOR !== 0) {
    throw new UserError('sd-signature', `${file}: image size ${size.width}x${size.height} is not a multiple of ${SD1_VAE_FACTOR}`);
  }
  return size;
}

export async function loadSd1Folder(dir: string, options: Sd1LoadOptions = {}): Promise<Sd1Model> {
  const folder = await readSd1Folder(dir);
  const { paths } = folder;
  const models = await loadAll(folder);
  const textSig = textEncoderSignature(paths.textEncoder, models.text);
  const unetSig = unetSignature(paths.unet, models.unet);
  const encoderSig = vaeEncoderSignature(paths.vaeEncoder, models.vaeEncoder);
  const decoderSig = vaeDecoderSignature(paths.vaeDecoder, models.vaeDecoder);
  let tokenizer: ClipTokenizer;
  try {
    tokenizer = new ClipTokenizer(folder.tokenizer, path.join(dir, 'tokenizer'));
  } catch (e) {
    throw new UserError('sd-config', (e as Error).message);
  }

  // text encoder: inputs_embeds replaces the token lookup; the table initialises rows
  const table = await tokenEmbeddingTable(models.text, paths.textEncoder, textSig.idsInput);
  const tableValues = table.dtype === 'float16' ? halfToFloat32(table.data as Uint16Array) : Float32Array.from(table.data as Float32Array);
  const maxId = Math.max(...Object.values(folder.tokenizer.vocab));
  if (maxId >= table.vocabSize) throw new UserError('sd-config', `${paths.vocab}: token id ${maxId} is beyond the text encoder's ${table.vocabSize}-row embedding table`);
  const textDerived = exposeInputsEmbeds(models.text, textSig.idsInput);
  const embedsInput = textDerived.graph.inputs.find((i) => i.name === INPUTS_EMBEDS)!;
  if (embedsInput.dtype !== 'float32' && embedsInput.dtype !== 'float16') throw new UserError('sd-signature', `${paths.textEncoder}: token embeddings are ${embedsInput.dtype}`);
  const embedsType: FloatType = embedsInput.dtype;
  const keepsIds = textDerived.graph.inputs.some((i) => i.name === textSig.idsInput);
  const idsDim = models.text.graph.inputs.find((i) => i.name === textSig.idsInput)!.shape![1];
  const contextLength = typeof idsDim === 'number' ? idsDim : CLIP_LENGTH;
  const tokenWidth = table.width;

  // sizes: pixels from the VAE (or the options), latents = pixels / 8
  const imageSize = imageSizeOf(paths.vaeEncoder, encoderSig, options);
  const latentSize = { width: imageSize.width / SD1_VAE_FACTOR, height: imageSize.height / SD1_VAE_FACTOR };
  const channelsDim = unetSig.sample.shape![1];
  const latentChannels = typeof channelsDim === 'number' ? channelsDim : 4;
  const contextWidthDim = unetSig.context.shape![2];
  const contextWidth = typeof contextWidthDim === 'number' ? contextWidthDim : tokenWidth;

  // UNet: fixed to the latent grid, then AAR inputs in every cross-attention layer
  const params: Record<string, number> = {};
  bindDim(unetSig.sample.shape![1], latentChannels, params, `${paths.unet}: input 'sample' channels`);
  bindDim(unetSig.sample.shape![2], latentSize.height, params, `${paths.unet}: input 'sample' height`);
  bindDim(unetSig.sample.shape![3], latentSize.width, params, `${paths.unet}: input 'sample' width`);
  bindDim(unetSig.context.shape![1], contextLength, params, `${paths.unet}: input 'encoder_hidden_states' length`);
  const unetFixed = specialiseShapes(models.unet, {}, params);
  const reweighted = insertAttentionReweight(unetFixed, {
    probeShapes: {
      sample: [1, latentChannels, latentSize.height, latentSize.width],
      timestep: unetSig.timestep.rank === 1 ? [1] : [],
      encoder_hidden_states: [1, contextLength, contextWidth],
    },
  });

  const ownWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'defectforge-sd1-')));
  const contentHash = await hashFolder(dir);
  const sessionOptions = options.session ?? {};
  const sessions: Session[] = [];
  const open = async (s: Promise<Session>): Promise<Session> => {
    const session = await s;
    sessions.push(session);
    return session;
  };
  let text: Session, unet: Session, vaeEncoder: Session, vaeDecoder: Session;
  try {
    text = await open(openDerived(textDerived, paths.textEncoder, workDir, 'text_encoder', sessionOptions));
    unet = await open(openDerived(reweighted.model, paths.unet, workDir, 'unet', sessionOptions));
    vaeEncoder = await open(createSession(paths.vaeEncoder, sessionOptions));
    vaeDecoder = await open(createSession(paths.vaeDecoder, sessionOptions));
  } catch (e) {
    await Promise.all(sessions.map((s) => s.release()));
    if (ownWorkDir) await fs.rm(workDir, { recursive: true, force: true });
    throw e;
  }

  const facts: ModelFacts = {
    name: path.basename(path.resolve(dir)),
    kind: 'sd1',
    imageSize,
    latentChannels,
    latentSize,
    latentScale: folder.latentScale,
    tokenWidth,
    contextLength,
    schedule: folder.schedule,
    hasUnconditional: true,
    attentionGrids: reweighted.layers.map((l) => l.grid),
    contentHash,
  };
  const latentPlane = latentSize.width * latentSize.height;
  const promptTemplate = options.promptTemplate ?? DEFAULT_PROMPT;
  const placeholder = options.placeholder ?? DEFAULT_PLACEHOLDER;
  let unconditional: Promise<{ context: Float32Array; anomalyColumns: Float32Array }> | undefined;

  const promptEmbeds = (count: number, prompt: string = promptTemplate): PromptEmbeds => {
    let tokens: ReturnType<typeof promptTokens>;
    try {
      tokens = promptTokens(tokenizer, prompt, placeholder, count, contextLength);
    } catch (e) {
      throw e instanceof UserError ? e : new UserError('sd-prompt', `prompt '${prompt}': ${(e as Error).message}`);
    }
    const embeds = new Float32Array(contextLength * tokenWidth);
    const slots = new Set(tokens.slots);
    tokens.ids.forEach((id, row) => {
      if (!slots.has(row)) embeds.set(tableValues.subarray(id * tokenWidth, (id + 1) * tokenWidth), row * tokenWidth);
    });
    return { ids: tokens.ids, slots: tokens.slots, embeds };
  };

  // the learning graph's opset: the text encoder and the UNet must share one (they become one graph)
  const learningOpsets = (): OpsetImport[] => {
    const textOpset = defaultOpset(models.text);
    const unetOpset = defaultOpset(models.unet);
    if (textOpset !== unetOpset) {
      throw new UserError('sd-learning-opset', `${paths.textEncoder} uses ONNX opset ${textOpset} and ${paths.unet} opset ${unetOpset}; learning composes both into one graph, so they must share an opset (re-export the folder in one go)`);
    }
    if (textOpset < 13) throw new UserError('sd-learning-opset', `${paths.unet}: ONNX opset ${unetOpset} is older than 13, which learning needs; re-export with a newer opset`);
    const extra = models.unet.opsetImports.filter((o) => o.domain !== '' && o.domain !== 'ai.onnx');
    if (extra.length > 0) throw new UserError('sd-learning-opset', `${paths.unet}: uses operator domain(s) ${extra.map((o) => `'${o.domain}'`).join(', ')} (fused or contrib ops) that learning cannot differentiate; use a plain ONNX export`);
    return [{ domain: '', version: unetOpset }];
  };
  const tokenScale = tableRms(tableValues);
  const encoderSessions = new Map<Sd1EncoderWeights, Promise<Session>>();

  const runContext = async (conditioning: Conditioning | null): Promise<{ context: Float32Array; anomalyColumns: Float32Array }> => {
    const injected = conditioning?.injected;
    const count = injected ? injected.length / tokenWidth : 0;
    if (!Number.isInteger(count)) throw new UserError('sd-prompt', `${injected!.length} injected values are not whole ${tokenWidth}-wide token vectors`);
    const tokens = promptEmbeds(count, conditioning === null ? '' : (conditioning.prompt ?? promptTemplate));
    // inputs_embeds = table[ids], with the learned vectors in the placeholder's rows
    const embeds = tokens.embeds;
    tokens.slots.forEach((row, i) => embeds.set(injected!.subarray(i * tokenWidth, (i + 1) * tokenWidth), row * tokenWidth));
    const feeds: Record<string, HostTensor> = { [INPUTS_EMBEDS]: floatTensor(embeds, [1, contextLength, tokenWidth], embedsType) };
    if (keepsIds) {
      feeds[textSig.idsInput] =
        textSig.idsType === 'int64'
          ? { dtype: 'int64', dims: [1, contextLength], data: BigInt64Array.from(tokens.ids, (v) => BigInt(v)) }
          : { dtype: 'int32', dims: [1, contextLength], data: Int32Array.from(tokens.ids) };
    }
    const out = await text.run(feeds, [textSig.hiddenOutput]);
    const context = readFloats(out[textSig.hiddenOutput]!, `${paths.textEncoder}: '${textSig.hiddenOutput}'`);
    if (context.length !== contextLength * contextWidth) {
      throw new UserError('sd-signature', `${paths.textEncoder}: '${textSig.hiddenOutput}' has ${context.length} values; the UNet wants [${contextLength}, ${contextWidth}]`);
    }
    const anomalyColumns = new Float32Array(contextLength);
    for (const row of tokens.slots) anomalyColumns[row] = 1;
    return { context: Float32Array.from(context), anomalyColumns };
  };

  const fallbackReason = sessions.find((s) => s.fallbackReason !== undefined)?.fallbackReason;
  const model: Sd1Model = {
    dir: path.resolve(dir),
    provider: unet.provider,
    ...(fallbackReason !== undefined ? { fallbackReason } : {}),
    timestepRank: unetSig.timestep.rank,
    facts,
    async encode(images, batch) {
      const { width, height } = imageSize;
      expectLength(images, batch * 3 * width * height, 'encode: images');
      const out = await vaeEncoder.run({ [encoderSig.input.name]: floatTensor(images, [batch, 3, height, width], encoderSig.dtype) }, [encoderSig.output]);
      const raw = readFloats(out[encoderSig.output]!, `${paths.vaeEncoder}: '${encoderSig.output}'`);
      return scaledPosteriorMean(raw, batch, latentChannels, latentPlane, encoderSig, folder.latentScale, paths.vaeEncoder);
    },
    async decode(latents, batch) {
      expectLength(latents, batch * latentChannels * latentPlane, 'decode: latents');
      const unscaled = Float32Array.from(latents, (v) => v / folder.latentScale);
      const dims = [batch, latentChannels, latentSize.height, latentSize.width];
      const out = await vaeDecoder.run({ [decoderSig.input.name]: floatTensor(unscaled, dims, decoderSig.dtype) }, [decoderSig.output]);
      return Float32Array.from(readFloats(out[decoderSig.output]!, `${paths.vaeDecoder}: '${decoderSig.output}'`));
    },
    context(conditioning) {
      if (conditioning !== null) return runContext(conditioning);
      unconditional ??= runContext(null);
      return unconditional.then((u) => ({ context: u.context.slice(), anomalyColumns: u.anomalyColumns.slice() }));
    },
    async predictNoise(request) {
      return predict(unet, unetSig, request, { latentChannels, latentSize, contextLength, contextWidth, where: paths.unet });
    },
    promptEmbeds,
    async trainingGraphs(graphOptions = {}) {
      const opsetImports = learningOpsets();
      const fullText = widenToFloat32(await loadModel(paths.textEncoder, { loadExternal: true }), paths.textEncoder);
      const text = exposeInputsEmbeds(fullText, textSig.idsInput);
      // a float32 UNet can keep its external weights where they are; fp16 ones are widened in memory
      const referenced = graphOptions.keepExternal ? await loadModel(paths.unet) : undefined;
      const keepsReferences = referenced !== undefined && !hasFloat16(referenced) && [...referenced.graph.initializers.values()].some((t) => t.external);
      const fullUnet = keepsReferences ? referenced : widenToFloat32(await loadModel(paths.unet, { loadExternal: true }), paths.unet);
      const timestepType = unetSig.timestep.dtype === 'float16' ? 'float32' : unetSig.timestep.dtype;
      return {
        text,
        textFile: paths.textEncoder,
        ...(keepsIds ? { ids: { name: textSig.idsInput, dtype: textSig.idsType } } : {}),
        hiddenOutput: textSig.hiddenOutput,
        unet: specialiseShapes(fullUnet, {}, params),
        unetFile: paths.unet,
        ...(keepsReferences ? { externalDataFolder: path.dirname(paths.unet) } : {}),
        sample: unetSig.sample.name,
        timestep: { name: unetSig.timestep.name, dtype: timestepType, rank: unetSig.timestep.rank },
        context: unetSig.context.name,
        output: unetSig.output,
        opsetImports,
      };
    },
    spatialEncoder(batch) {
      return buildSd1SpatialEncoder({ tokenWidth, tokenScale, opsetImports: learningOpsets(), batch });
    },
    async spatialTokens(mask, weights) {
      const { width: W, height: H } = imageSize;
      if (mask.width !== W || mask.height !== H) throw new UserError('MASK_SIZE', `the mask is ${mask.width}x${mask.height}; model '${facts.name}' works at ${W}x${H}`);
      let session = encoderSessions.get(weights);
      if (!session) {
        session = open(createSession(encodeModel(withEncoderWeights(model.spatialEncoder(1), weights, dir)), sessionOptions));
        encoderSessions.set(weights, session);
      }
      const S = SD1_ENCODER_SIDE;
      const out = await (await session).run({ mask: { dtype: 'float32', dims: [1, 1, S, S], data: encoderMaskInput(mask.data, imageSize) } }, ['tokens']);
      const tokens = out['tokens']!.data as Float32Array;
      if (tokens.length !== SD1_SPATIAL_TOKENS * tokenWidth) throw new Error(`spatial encoder: ${tokens.length} values, expected ${SD1_SPATIAL_TOKENS}x${tokenWidth}`);
      return tokens;
    },
    tokenEmbedding(word) {
      const ids = tokenizer.encodeText(word);
      if (ids.length !== 1) throw new UserError('sd-prompt', `'${word}' is ${ids.length} tokens in ${path.join(dir, 'tokenizer')}; pick a single-token word`);
      return tableValues.slice(ids[0]! * tokenWidth, (ids[0]! + 1) * tokenWidth);
    },
    async release() {
      await Promise.all(sessions.splice(0).map((s) => s.release()));
      if (ownWorkDir) await fs.rm(workDir, { recursive: true, force: true });
    },
  };
  return model;
}

/** E's graph with an artifact's trained weights in place of its initial ones (every weight must be given). */
function withEncoderWeights(encoder: Model, weights: Sd1EncoderWeights, dir: string): Model {
  const inits = encoder.graph.initializers;
  for (const [name, w] of Object.entries(weights)) {
    const current = inits.get(name);
    if (!current) throw new UserError('ENCODER_WEIGHTS', `spatial encoder weight '${name}' is not a parameter of the SD 1.x spatial encoder for ${dir}`);
    if (current.dims.join('x') !== w.dims.join('x')) throw new UserError('ENCODER_WEIGHTS', `spatial encoder weight '${name}' has dims [${w.dims}]; the SD 1.x spatial encoder for ${dir} has [${current.dims}]`);
    inits.set(name, { name, dtype: 'float32', dims: [...w.dims], data: w.data });
  }
  // every parameter (the '.weight' / '.bias' initializers) must come from the artifact: a missing
  // one would silently keep E's random initial value
  const missing = [...inits.keys()].filter((name) => /\.(weight|bias)$/.test(name) && !(name in weights));
  if (missing.length > 0) throw new UserError('ENCODER_WEIGHTS', `the embedding's spatial encoder lacks ${missing.length} weight(s) of the SD 1.x spatial encoder for ${dir} (e.g. '${missing[0]}')`);
  return encoder;
}

function expectLength(values: Float32Array, expected: number, what: string): void {
  if (values.length !== expected) throw new RangeError(`${what}: ${values.length} values, expected ${expected}`);
}

/** z = scale * posterior mean: the first C of 2C channels when the encoder returns parameters. */
function scaledPosteriorMean(raw: Float32Array, batch: number, channels: number, plane: number, sig: VaeSignature, scale: number, file: string): Float32Array {
  const perItem = raw.length / batch;
  const wanted = sig.outputKind === 'parameters' ? 2 * channels * plane : channels * plane;
  if (perItem !== wanted) throw new UserError('sd-signature', `${file}: '${sig.output}' has ${perItem} values per image, expected ${wanted}`);
  const out = new Float32Array(batch * channels * plane);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < channels * plane; k++) out[b * channels * plane + k] = scale * raw[b * perItem + k]!;
  }
  return out;
}

interface UNetShapes {
  latentChannels: number;
  latentSize: Size2;
  contextLength: number;
  contextWidth: number;
  where: string;
}

async function predict(unet: Session, sig: UNetSignature, request: NoiseRequest, shapes: UNetShapes): Promise<Float32Array> {
  const { batch } = request;
  const { latentChannels, latentSize, contextLength, contextWidth, where } = shapes;
  const plane = latentSize.width * latentSize.height;
  expectLength(request.latents, batch * latentChannels * plane, 'predictNoise: latents');
  expectLength(request.context, batch * contextLength * contextWidth, 'predictNoise: context');
  if (request.timesteps.length !== batch) throw new RangeError(`predictNoise: ${request.timesteps.length} timesteps for a batch of ${batch}`);
  const weights = request.attentionWeights ?? new Float32Array(batch * plane).fill(1);
  const columns = request.attentionColumns ?? new Float32Array(batch * contextLength);
  expectLength(weights, batch * plane, 'predictNoise: attentionWeights');
  expectLength(columns, batch * contextLength, 'predictNoise: attentionColumns');
  const feeds: Record<string, HostTensor> = {
    [sig.sample.name]: floatTensor(request.latents, [batch, latentChannels, latentSize.height, latentSize.width], sig.dtype),
    [sig.timestep.name]: timestepTensor(request.timesteps, sig.timestep.dtype, sig.timestep.rank, where),
    [sig.context.name]: floatTensor(request.context, [batch, contextLength, contextWidth], sig.dtype),
    [AAR_WEIGHT]: { dtype: 'float32', dims: [batch, plane], data: weights },
    [AAR_COLUMNS]: { dtype: 'float32', dims: [batch, contextLength], data: columns },
  };
  const out = await unet.run(feeds, [sig.output]);
  return Float32Array.from(readFloats(out[sig.output]!, `${where}: '${sig.output}'`));
}
