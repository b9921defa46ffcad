// Loads a built-in model package as a DiffusionModel. Nothing computes until the package has
// been checked: the manifest (parseManifest), every listed file's presence, size and SHA-256, the
// token table against the vocabulary, and each session's input/output names against the contract.
// Errors are UserErrors naming the file and the problem.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../shared/errors';
import { loadModel } from '../../onnx/io';
import { encodeModel } from '../../onnx/serialize';
import { createSession, type HostTensor, type ProviderName, type ProviderRequest, type Session } from '../../runtime';
import type { Conditioning, DiffusionModel, ModelFacts, NoiseRequest } from '../types';
import { buildContext } from './context';
import { graphContract, GRAPH_ROLES, type GraphRole, type IoSpec } from './contract';
import { packageContentHash, packagePath, verifyPackageFiles } from './files';
import { contextLength, parseManifest, type BuiltinManifest } from './manifest';
import { TokenTable } from './token-table';

export interface LoadBuiltinOptions {
  /** execution provider (default: the runtime's setting) */
  provider?: ProviderRequest;
  /** ORT intra-op threads (default: the runtime's setting) */
  intraOpNumThreads?: number;
  /** largest batch per ONNX run; bigger requests are split (default: unlimited) */
  maxBatch?: number;
}

/** Weights that replace the spatial encoder's initializers by name (a project's trained encoder). */
export type EncoderWeights = Record<string, { dims: number[]; data: Float32Array }>;

export interface BuiltinModel extends DiffusionModel {
  readonly dir: string;
  readonly manifest: BuiltinManifest;
  readonly tokens: TokenTable;
  /** the provider the sessions run on, and why a preferred one was not used */
  readonly provider: ProviderName;
  readonly fallbackReason?: string;
  /** the spatial encoder on one mask (image size, 0 / non-zero) -> [spatialTokens, width] */
  spatialTokens(mask: NonNullable<Conditioning['mask']>, weights?: EncoderWeights): Promise<Float32Array>;
}

export const MANIFEST_FILE = 'manifest.json';

export async function readBuiltinManifest(dir: string): Promise<BuiltinManifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError('MODEL_NOT_FOUND', `${dir}: no ${MANIFEST_FILE} here; not a DefectForge model folder`);
    throw new UserError('MODEL_UNREADABLE', `${file}: cannot read (${code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError('MODEL_MANIFEST_INVALID', `${file}: not valid JSON (${(e as Error).message})`);
  }
  try {
    return parseManifest(json, file);
  } catch (e) {
    throw new UserError('MODEL_MANIFEST_INVALID', (e as Error).message);
  }
}

export async function loadBuiltinModel(dir: string, options: LoadBuiltinOptions = {}): Promise<BuiltinModel> {
  const root = path.resolve(dir);
  const manifest = await readBuiltinManifest(root);
  await verifyPackageFiles(root, manifest);
  const tableFile = packagePath(root, manifest.files.token_table.path);
  const tableBytes = await fs.readFile(tableFile);
  // copy into aligned storage: a Buffer's byteOffset need not be a multiple of 4
  const table = new Float32Array(tableBytes.length / 4);
  new Uint8Array(table.buffer).set(tableBytes.subarray(0, table.length * 4));
  if (tableBytes.length % 4 !== 0) throw new UserError('MODEL_TOKENS', `${tableFile}: ${tableBytes.length} bytes is not a float32 table`);
  const tokens = new TokenTable(table, manifest.tokens.vocabulary, manifest.tokens.width, manifest.tokens.defectTokens, tableFile);

  const sessionOptions = {
    ...(options.provider !== undefined ? { provider: options.provider } : {}),
    ...(options.intraOpNumThreads !== undefined ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
  };
  const contract = graphContract(manifest);
  const sessions: Partial<Record<GraphRole, Session>> = {};
  try {
    for (const role of GRAPH_ROLES) {
      const file = packagePath(root, manifest.files[role].path);
      let session: Session;
      try {
        session = await createSession(file, sessionOptions);
      } catch (e) {
        throw new UserError('MODEL_ONNX_INVALID', `${file}: onnxruntime cannot open the ${role} graph (${(e as Error).message.split('\n')[0]})`);
      }
      sessions[role] = session;
      checkSessionNames(session, contract[role], file, role);
    }
  } catch (e) {
    await Promise.all(Object.values(sessions).map((s) => s.release()));
    throw e;
  }
  return new LoadedBuiltinModel(root, manifest, tokens, sessions as Record<GraphRole, Session>, options.maxBatch ?? Infinity, sessionOptions);
}

function checkSessionNames(session: Session, spec: IoSpec, file: string, role: GraphRole): void {
  const missingIn = Object.keys(spec.inputs).filter((n) => !session.inputNames.includes(n));
  const extraIn = session.inputNames.filter((n) => !(n in spec.inputs));
  const missingOut = Object.keys(spec.outputs).filter((n) => !session.outputNames.includes(n));
  if (missingIn.length || extraIn.length || missingOut.length) {
    throw new UserError(
      'MODEL_CONTRACT',
      `${file}: the ${role} graph has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]; ` +
        `the package format wants inputs [${Object.keys(spec.inputs).join(', ')}] and outputs [${Object.keys(spec.outputs).join(', ')}]`,
    );
  }
}

const f32 = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

class LoadedBuiltinModel implements BuiltinModel {
  readonly facts: ModelFacts;
  readonly provider: ProviderName;
  readonly fallbackReason?: string;
  private readonly customEncoders = new WeakMap<EncoderWeights, Promise<Session>>();
  private readonly customSessions: Promise<Session>[] = [];

  constructor(
    readonly dir: string,
    readonly manifest: BuiltinManifest,
    readonly tokens: TokenTable,
    private readonly sessions: Record<GraphRole, Session>,
    private readonly maxBatch: number,
    private readonly sessionOptions: { provider?: ProviderRequest; intraOpNumThreads?: number },
  ) {
    const m = manifest;
    this.facts = {
      name: m.name,
      kind: 'builtin',
      imageSize: { ...m.imageSize },
      latentChannels: m.latent.channels,
      latentSize: { width: m.latent.width, height: m.latent.height },
      latentScale: m.latent.scale,
      tokenWidth: m.tokens.width,
      contextLength: contextLength(m),
      schedule: m.schedule,
      hasUnconditional: true,
      ...(m.unetMask ? { unetMask: true } : {}),
      ...(m.guidanceRescale !== undefined ? { guidanceRescale: m.guidanceRescale } : {}),
      attentionGrids: m.attentionGrids.map((g) => ({ ...g })),
      contentHash: packageContentHash(m),
    };
    this.provider = sessions.unet.provider;
    const reason = Object.values(sessions).find((s) => s.fallbackReason !== undefined)?.fallbackReason;
    if (reason !== undefined) this.fallbackReason = reason;
  }

  private get imageValues(): number {
    return 3 * this.facts.imageSize.width * this.facts.imageSize.height;
  }

  private get latentValues(): number {
    return this.facts.latentChannels * this.facts.latentSize.width * this.facts.latentSize.height;
  }

  /**
   * Runs `session` over `batch` items in chunks of at most maxBatch; `feeds(start, count)` gives
   * a chunk's inputs, and the chunks' `output` values are concatenated.
   */
  private async batched(session: Session, batch: number, perItemOut: number, output: string, feeds: (start: number, count: number) => Record<string, HostTensor>): Promise<Float32Array> {
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
    const out = new Float32Array(batch * perItemOut);
    const chunk = Math.min(batch, this.maxBatch);
    for (let start = 0; start < batch; start += chunk) {
      const count = Math.min(chunk, batch - start);
      const result = (await session.run(feeds(start, count), [output]))[output]!;
      const data = result.data as Float32Array;
      if (data.length !== count * perItemOut) throw new Error(`model '${this.facts.name}': '${output}' has ${data.length} values for ${count} items; expected ${count * perItemOut}`);
      out.set(data, start * perItemOut);
    }
    return out;
  }

  private checkLength(what: string, values: Float32Array, batch: number, perItem: number): void {
    if (values.length !== batch * perItem) throw new RangeError(`model '${this.facts.name}': ${what} has ${values.length} values; batch ${batch} needs ${batch * perItem}`);
  }

  async encode(images: Float32Array, batch: number): Promise<Float32Array> {
    const { width: W, height: H } = this.facts.imageSize;
    this.checkLength('images', images, batch, this.imageValues);
    const per = this.imageValues;
    const latent = await this.batched(this.sessions.vae_encoder, batch, this.latentValues, 'latent', (s, n) => ({
      image: f32([n, 3, H, W], images.subarray(s * per, (s + n) * per)),
    }));
    const scale = this.facts.latentScale;
    for (let k = 0; k < latent.length; k++) latent[k] = latent[k]! * scale;
    return latent;
  }

  async decode(latents: Float32Array, batch: number): Promise<Float32Array> {
    const { width: w, height: h } = this.facts.latentSize;
    const C = this.facts.latentChannels;
    this.checkLength('latents', latents, batch, this.latentValues);
    const per = this.latentValues;
    const inv = 1 / this.facts.latentScale;
    const unscaled = Float32Array.from(latents, (v) => v * inv);
    return this.batched(this.sessions.vae_decoder, batch, this.imageValues, 'image', (s, n) => ({
      latent: f32([n, C, h, w], unscaled.subarray(s * per, (s + n) * per)),
    }));
  }

  async context(cond: Conditioning | null): Promise<{ context: Float32Array; anomalyColumns: Float32Array }> {
    return buildContext(cond, this.tokens, this.manifest.tokens, (mask) => this.spatialTokens(mask));
  }

  async spatialTokens(mask: NonNullable<Conditioning['mask']>, weights?: EncoderWeights): Promise<Float32Array> {
    const { width: W, height: H } = this.facts.imageSize;
    if (mask.width !== W || mask.height !== H) {
      throw new UserError('MASK_SIZE', `the mask is ${mask.width}x${mask.height}; model '${this.facts.name}' works at ${W}x${H}`);
    }
    if (mask.data.length !== W * H) throw new RangeError(`mask data has ${mask.data.length} values for ${W}x${H}`);
    // METHOD.md: the mask mapped to [-1, 1]
    const input = Float32Array.from(mask.data, (v) => (v > 0 ? 1 : -1));
    const session = weights ? await this.customEncoder(weights) : this.sessions.spatial_encoder;
    const n = this.manifest.tokens.spatialTokens;
    return this.batched(session, 1, n * this.facts.tokenWidth, 'tokens', () => ({ mask: f32([1, 1, H, W], input) }));
  }

  /** The package's spatial encoder graph with a project's trained weights in place of its own. */
  private customEncoder(weights: EncoderWeights): Promise<Session> {
    let session = this.customEncoders.get(weights);
    if (!session) {
      session = (async () => {
        const file = packagePath(this.dir, this.manifest.files.spatial_encoder.path);
        const model = await loadModel(file, { loadExternal: true });
        const inits = model.graph.initializers;
        for (const [name, w] of Object.entries(weights)) {
          // a float16-stored weight is a Cast of a half initializer: replace the pair by the weight
          const cast = model.graph.nodes.find((n) => n.opType === 'Cast' && n.outputs[0] === name && inits.has(n.inputs[0]!));
          if (cast) {
            const half = inits.get(cast.inputs[0]!)!;
            model.graph.nodes = model.graph.nodes.filter((n) => n !== cast);
            inits.delete(half.name);
            inits.set(name, { name, dtype: 'float32', dims: half.dims, data: new Float32Array(0) });
          }
          const current = inits.get(name);
          if (!current) throw new UserError('ENCODER_WEIGHTS', `spatial encoder weight '${name}' is not a parameter of ${file}`);
          if (current.dtype !== 'float32' || current.dims.join('x') !== w.dims.join('x')) {
            throw new UserError('ENCODER_WEIGHTS', `spatial encoder weight '${name}' has dims [${w.dims}]; ${file} has [${current.dims}] (${current.dtype})`);
          }
          inits.set(name, { name, dtype: 'float32', dims: [...w.dims], data: w.data });
        }
        return createSession(encodeModel(model), this.sessionOptions);
      })();
      this.customEncoders.set(weights, session);
      this.customSessions.push(session);
    }
    return session;
  }

  async predictNoise(request: NoiseRequest): Promise<Float32Array> {
    const { batch } = request;
    const { width: w, height: h } = this.facts.latentSize;
    const C = this.facts.latentChannels;
    const L = this.facts.contextLength;
    const D = this.facts.tokenWidth;
    const cells = w * h;
    this.checkLength('latents', request.latents, batch, this.latentValues);
    this.checkLength('context', request.context, batch, L * D);
    if (request.timesteps.length !== batch) throw new RangeError(`model '${this.facts.name}': ${request.timesteps.length} timesteps for batch ${batch}`);
    // without AAR: w = 1 everywhere and no column selected, i.e. factor 1 in every layer
    const weights = request.attentionWeights ?? new Float32Array(batch * cells).fill(1);
    const columns = request.attentionColumns ?? new Float32Array(batch * L);
    this.checkLength('attentionWeights', weights, batch, cells);
    this.checkLength('attentionColumns', columns, batch, L);
    const per = this.latentValues;
    const timesteps = Float32Array.from(request.timesteps);
    const { width: W, height: H } = this.facts.imageSize;
    const plane = W * H;
    const masks = this.facts.unetMask ? (request.masks ?? new Float32Array(batch * plane)) : undefined;
    if (masks) this.checkLength('masks', masks, batch, plane);
    return this.batched(this.sessions.unet, batch, per, 'eps', (s, n) => ({
      sample: f32([n, C, h, w], request.latents.subarray(s * per, (s + n) * per)),
      timestep: f32([n], timesteps.subarray(s, s + n)),
      context: f32([n, L, D], request.context.subarray(s * L * D, (s + n) * L * D)),
      aar_weight: f32([n, cells], weights.subarray(s * cells, (s + n) * cells)),
      aar_columns: f32([n, L], columns.subarray(s * L, (s + n) * L)),
      ...(masks ? { mask: f32([n, 1, H, W], masks.subarray(s * plane, (s + n) * plane)) } : {}),
    }));
  }

  async release(): Promise<void> {
    const custom = await Promise.allSettled(this.customSessions);
    await Promise.all([
      ...Object.values(this.sessions).map((s) => s.release()),
      ...custom.map((r) => (r.status === 'fulfilled' ? r.value.release() : undefined)),
    ]);
  }
}
