// The training composer: turns a forward model that computes a scalar loss into a Trainer.
//
// onnxruntime-node only runs inference, so one ordinary ONNX graph holds forward + loss +
// backward (./gradient). The trained tensors become graph inputs, fed from Float32Arrays the
// Trainer owns and updates between runs; frozen weights stay initializers (ORT can fold them).
// The session is created once and reused for every step.
//
// With `workDir` the training model goes to disk instead (openTrainingFiles): protobuf caps one
// in-memory ModelProto at 2 GiB, which a full-size SD 1.x UNet (3.4 GB in float32) exceeds.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { resolveExternalLocation, saveModel, loadModel as loadOnnxFile } from '../onnx/io';
import { encodeModel } from '../onnx/serialize';
import type { Graph, Model, Tensor, ValueInfo } from '../onnx/ir';
import { createSession, type HostTensor, type Session, type SessionOptions } from '../runtime';
import { UserError } from '../../shared/errors';
import { readCheckpoint, writeCheckpoint, type Checkpoint, type ParamTensor } from './checkpoint';
import { fitToCpuKernels, type CpuConvKernels } from './cpu-kernels';
import { buildGradientGraph } from './gradient';
import { clipGradNorm, globalNorm, type Optimizer } from './optim';
import type { RuleEntry, RuleVariants } from './types';

export interface TrainingOptions {
  /** name of the scalar loss value in the forward model */
  loss: string;
  /** tensors to train: initializers (start from their values) or graph inputs (start from `initial`) */
  train: string[];
  optimizer: Optimizer;
  /** starting values for trained graph inputs (and optional overrides for trained initializers) */
  initial?: Record<string, Float32Array>;
  /** graph inputs fixed for the whole run: baked into the graph as initializers */
  frozenInputs?: Record<string, HostTensor>;
  /** forward values to return from every step besides the loss (e.g. predictions) */
  keepOutputs?: string[];
  /** clip the gradients to this global L2 norm before the update */
  clipGradNorm?: number;
  session?: SessionOptions;
  /**
   * On the CPU provider, run the convs of fed weights (the trained ones, and the flipped kernels
   * of their input gradients) on ORT's NCHWc kernels ('nchwc', the default; ./cpu-kernels.ts) or
   * on its general Conv ('standard'). Results differ in rounding only.
   */
  cpuConvKernels?: CpuConvKernels;
  /** gradient rules consulted before the table (tests and experiments, see ./gradient) */
  gradientRules?: readonly RuleEntry[];
  /** gradient constructions where several are exact (./types RuleVariants; default: the fastest) */
  ruleVariants?: Partial<RuleVariants>;
  /**
   * Write the training model into a new folder inside `workDir` (training.onnx, weights of 1 KiB
   * and more in training.onnx_data) and open the session from that path: no 2 GiB limit, and no
   * serialized copy of the weights in memory. The folder is removed by release() (or when
   * composing fails).
   */
  workDir?: string;
  /**
   * With `workDir`: the folder the forward model's external-data locations are relative to (where
   * it was loaded from). Those weight files are hard-linked (copied where linking fails) into the
   * work folder and referenced, not read.
   */
  externalDataFolder?: string;
}

export interface StepResult {
  loss: number;
  /** gradients as used for the update (after clipping), by trained name */
  grads: Map<string, Float32Array>;
  /** global gradient norm before clipping */
  gradNorm: number;
  /** the values named in `keepOutputs` */
  outputs: Record<string, HostTensor>;
}

export interface Trainer {
  /** trained tensor names, in the order given */
  readonly trainNames: readonly string[];
  /** the live parameter values (updated in place by `step`) */
  readonly params: ReadonlyMap<string, Float32Array>;
  readonly optimizer: Optimizer;
  /** names of the graph inputs each batch must feed */
  readonly batchInputs: readonly string[];
  /**
   * the forward + backward model the session runs; with `workDir` its large weights are external
   * references into the work folder (as saved), so the trainer holds no copy of them
   */
  readonly trainingModel: Model;
  /** with `workDir`: the folder holding the training model's files (removed by release) */
  readonly trainingFolder?: string;
  /** notes from differentiation, e.g. a trained tensor that does not influence the loss */
  readonly warnings: readonly string[];
  /** forward + backward at the current parameters; no update */
  gradients(batch: Record<string, HostTensor>): Promise<StepResult>;
  /** forward + backward, clipping, and one optimiser update */
  step(batch: Record<string, HostTensor>): Promise<StepResult>;
  /** a copy of parameters + optimiser state */
  checkpoint(meta?: Record<string, unknown>): Checkpoint;
  /** replaces parameters and optimiser state with a checkpoint's */
  restore(ckpt: Checkpoint, source?: string): void;
  save(path: string, meta?: Record<string, unknown>): Promise<void>;
  load(path: string): Promise<Checkpoint>;
  /**
   * The forward model (the caller's, not the training graph) with the current values of trained
   * initializers written in; trained graph inputs stay inputs (their values are in `params`).
   */
  exportModel(): Model;
  release(): Promise<void>;
}

/** A graph copy whose lists and maps may be changed without touching the caller's model. */
function cloneGraph(g: Graph): Graph {
  return { ...g, nodes: [...g.nodes], inputs: [...g.inputs], outputs: [...g.outputs], initializers: new Map(g.initializers), valueInfo: new Map(g.valueInfo) };
}

interface TrainedTensor {
  name: string;
  dims: number[];
}

/**
 * Moves trained initializers to graph inputs and bakes frozen inputs into initializers.
 * Returns the rewritten forward model, the trained tensors' shapes and their starting values.
 */
function prepareForward(forward: Model, opts: TrainingOptions): { model: Model; trained: TrainedTensor[]; initial: Map<string, Float32Array> } {
  const graph = cloneGraph(forward.graph);
  const where = `model '${forward.graph.name}'`;
  const trained: TrainedTensor[] = [];
  const initial = new Map<string, Float32Array>();
  if (opts.train.length === 0) throw new UserError('TRAIN_NOTHING', `${where}: nothing to train (empty 'train' list)`);
  if (new Set(opts.train).size !== opts.train.length) throw new UserError('TRAIN_DUPLICATE', `${where}: 'train' lists a name twice`);

  for (const [name, value] of Object.entries(opts.frozenInputs ?? {})) {
    const idx = graph.inputs.findIndex((i) => i.name === name);
    if (idx < 0) throw new UserError('TRAIN_UNKNOWN_INPUT', `${where}: frozen input '${name}' is not a graph input`);
    if (opts.train.includes(name)) throw new UserError('TRAIN_FROZEN_AND_TRAINED', `${where}: '${name}' is both frozen and trained`);
    graph.inputs.splice(idx, 1);
    const tensor: Tensor = { name, dtype: value.dtype, dims: [...value.dims], data: value.data };
    graph.initializers.set(name, tensor);
  }

  for (const name of opts.train) {
    const init = graph.initializers.get(name);
    const input = graph.inputs.find((i) => i.name === name);
    const given = opts.initial?.[name];
    let dims: number[];
    if (init) {
      if (init.dtype !== 'float32') throw new UserError('TRAIN_DTYPE', `${where}: trained initializer '${name}' is ${init.dtype}; only float32 is trained`);
      if (!init.data) throw new UserError('TRAIN_EXTERNAL', `${where}: trained initializer '${name}' has external data; load it first`);
      dims = [...init.dims];
      graph.initializers.delete(name);
      const info: ValueInfo = { name, dtype: 'float32', shape: [...dims] };
      graph.inputs.push(info);
      initial.set(name, (given ?? (init.data as Float32Array)).slice());
    } else if (input) {
      if (input.dtype !== 'float32') throw new UserError('TRAIN_DTYPE', `${where}: trained input '${name}' is ${input.dtype}; only float32 is trained`);
      if (!input.shape || input.shape.some((d) => typeof d !== 'number')) {
        throw new UserError('TRAIN_DYNAMIC_SHAPE', `${where}: trained input '${name}' needs a fixed shape, has [${input.shape ?? '?'}]`);
      }
      dims = input.shape as number[];
      if (!given) throw new UserError('TRAIN_NO_INITIAL', `${where}: trained input '${name}' needs a starting value in 'initial'`);
      initial.set(name, given.slice());
    } else {
      throw new UserError('TRAIN_UNKNOWN', `${where}: '${name}' is neither an initializer nor a graph input`);
    }
    const count = dims.reduce((a, d) => a * d, 1);
    if (initial.get(name)!.length !== count) {
      throw new UserError('TRAIN_SHAPE', `${where}: starting value for '${name}' has ${initial.get(name)!.length} values, its shape [${dims}] needs ${count}`);
    }
    trained.push({ name, dims });
  }
  return { model: { ...forward, graph }, trained, initial };
}

/** The training model on disk: its folder, the model as saved (weights as references), the session. */
interface TrainingFiles {
  folder: string;
  model: Model;
  session: Session;
  remove(): Promise<void>;
}

const TRAINING_MODEL_FILE = 'training.onnx';
const TRAINING_DATA_FILE = 'training.onnx_data';
/** initializers of at least this size go to the data file (ONNX tools' usual 1 KiB) */
const EXTERNAL_THRESHOLD_BYTES = 1024;

function externalLocations(model: Model): Set<string> {
  const out = new Set<string>();
  for (const t of model.graph.initializers.values()) if (t.external) out.add(t.external.location);
  for (const n of model.graph.nodes) for (const a of Object.values(n.attrs)) if (a.type === 'tensor' && a.value.external) out.add(a.value.external.location);
  return out;
}

async function linkOrCopy(source: string, target: string): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  try {
    await fs.link(source, target);
  } catch {
    // another volume, or a file system without hard links
    await fs.copyFile(source, target);
  }
}

/**
 * Writes the training model into a new folder of `workDir` and opens its session from the path.
 * Weights the model already references (external data of the forward model, relative to
 * `externalFolder`) are linked in beside it, so onnxruntime finds them relative to the model file
 * and nothing rewrites or copies their bytes; in-memory weights go to training.onnx_data, written
 * straight from their arrays. On any failure the folder is removed.
 */
async function openTrainingFiles(model: Model, workDir: string, externalFolder: string | undefined, options: SessionOptions | undefined): Promise<TrainingFiles> {
  await fs.mkdir(workDir, { recursive: true });
  const folder = await fs.mkdtemp(path.join(path.resolve(workDir), 'training-'));
  const remove = () => fs.rm(folder, { recursive: true, force: true });
  try {
    const locations = externalLocations(model);
    if (locations.size > 0 && externalFolder === undefined) {
      throw new UserError('TRAIN_EXTERNAL', `model '${model.graph.name}': its weights reference external data files; pass 'externalDataFolder' (the folder the model was loaded from)`);
    }
    for (const location of locations) {
      const where = `model '${model.graph.name}': external data`;
      if (location.split(/[\\/]+/).join('/') === TRAINING_DATA_FILE) throw new UserError('TRAIN_EXTERNAL', `${where} '${location}' has the name of the training data file`);
      await linkOrCopy(resolveExternalLocation(externalFolder!, location, where), resolveExternalLocation(folder, location, where));
    }
    const file = path.join(folder, TRAINING_MODEL_FILE);
    await saveModel(model, file, { externalData: { file: TRAINING_DATA_FILE, thresholdBytes: EXTERNAL_THRESHOLD_BYTES } });
    const session = await createSession(file, options);
    try {
      // the model as saved: the large weights are references now, so this process holds no copy
      return { folder, model: await loadOnnxFile(file), session, remove };
    } catch (e) {
      await session.release();
      throw e;
    }
  } catch (e) {
    await remove();
    throw e;
  }
}

function lossValue(t: HostTensor | undefined, name: string): number {
  if (!t || !(t.data instanceof Float32Array) || t.data.length !== 1) throw new Error(`training graph: loss '${name}' is not a float32 scalar`);
  return t.data[0]!;
}

export async function composeTraining(forward: Model, opts: TrainingOptions): Promise<Trainer> {
  const prepared = prepareForward(forward, opts);
  const wrt = prepared.trained.map((t) => t.name);
  const keep = opts.keepOutputs ?? [];
  const { model: built, gradNames, warnings } = buildGradientGraph(prepared.model, {
    loss: opts.loss,
    wrt,
    keepOutputs: keep,
    ...(opts.gradientRules ? { rules: opts.gradientRules } : {}),
    ...(opts.ruleVariants ? { variants: opts.ruleVariants } : {}),
  });
  const runnable = await fitToCpuKernels(built, opts.session, opts.cpuConvKernels ?? 'nchwc');
  let files: TrainingFiles | undefined;
  let session: Session;
  if (opts.workDir !== undefined) {
    files = await openTrainingFiles(runnable, opts.workDir, opts.externalDataFolder, opts.session);
    session = files.session;
  } else {
    if (hasExternalData(runnable)) {
      throw new UserError('TRAIN_EXTERNAL', `model '${forward.graph.name}': its weights reference external data files; train it with the 'workDir' option (the session then opens from disk)`);
    }
    session = await createSession(encodeModel(runnable), opts.session);
  }
  const trainingModel = files?.model ?? runnable;
  const params = prepared.initial;
  const trainNames = wrt;
  const trainedSet = new Set(wrt);
  const batchInputs = trainingModel.graph.inputs.map((i) => i.name).filter((n) => !trainedSet.has(n));
  const dims = new Map(prepared.trained.map((t) => [t.name, t.dims]));
  const fetches = [opts.loss, ...wrt.map((n) => gradNames[n]!), ...keep.filter((n) => n !== opts.loss)];
  const optimizer = opts.optimizer;

  const run = async (batch: Record<string, HostTensor>): Promise<StepResult> => {
    const feeds: Record<string, HostTensor> = {};
    for (const name of batchInputs) {
      const t = batch[name];
      if (!t) throw new UserError('TRAIN_MISSING_FEED', `training '${forward.graph.name}': the batch lacks input '${name}' (needs ${batchInputs.join(', ')})`);
      feeds[name] = t;
    }
    for (const name of Object.keys(batch)) {
      if (!(name in feeds)) throw new UserError('TRAIN_UNKNOWN_FEED', `training '${forward.graph.name}': '${name}' is not a batch input (${trainedSet.has(name) ? 'it is trained' : 'unknown name'})`);
    }
    for (const name of wrt) feeds[name] = { dtype: 'float32', dims: dims.get(name)!, data: params.get(name)! };
    const out = await session.run(feeds, fetches);
    const grads = new Map<string, Float32Array>();
    for (const name of wrt) grads.set(name, out[gradNames[name]!]!.data as Float32Array);
    const gradNorm = opts.clipGradNorm !== undefined ? clipGradNorm(grads.values(), opts.clipGradNorm) : globalNorm(grads.values());
    const outputs: Record<string, HostTensor> = {};
    for (const name of keep) outputs[name] = out[name]!;
    return { loss: lossValue(out[opts.loss], opts.loss), grads, gradNorm, outputs };
  };

  const checkpoint = (meta: Record<string, unknown> = {}): Checkpoint => {
    const ps: Record<string, ParamTensor> = {};
    for (const name of wrt) ps[name] = { dims: [...dims.get(name)!], data: params.get(name)!.slice() };
    return { params: ps, optimizer: optimizer.state(), meta };
  };

  const restore = (ckpt: Checkpoint, source = 'checkpoint'): void => {
    const names = Object.keys(ckpt.params);
    const missing = wrt.filter((n) => !(n in ckpt.params));
    const extra = names.filter((n) => !trainedSet.has(n));
    if (missing.length || extra.length) {
      throw new UserError('CHECKPOINT_MISMATCH', `${source}: parameters do not match this training run (missing: ${missing.join(', ') || 'none'}; unexpected: ${extra.join(', ') || 'none'})`);
    }
    for (const name of wrt) {
      const p = ckpt.params[name]!;
      if (p.dims.join(',') !== dims.get(name)!.join(',')) throw new UserError('CHECKPOINT_MISMATCH', `${source}: '${name}' has shape [${p.dims}], this run needs [${dims.get(name)}]`);
    }
    try {
      optimizer.load(ckpt.optimizer);
    } catch (e) {
      throw new UserError('CHECKPOINT_MISMATCH', `${source}: ${(e as Error).message}`);
    }
    for (const name of wrt) params.get(name)!.set(ckpt.params[name]!.data);
  };

  return {
    trainNames,
    params,
    optimizer,
    batchInputs,
    trainingModel,
    ...(files ? { trainingFolder: files.folder } : {}),
    warnings,
    gradients: run,
    async step(batch) {
      const result = await run(batch);
      optimizer.step(params, result.grads);
      return result;
    },
    checkpoint,
    restore,
    save: (path, meta) => writeCheckpoint(path, checkpoint(meta)),
    async load(path) {
      const ckpt = await readCheckpoint(path);
      restore(ckpt, path);
      return ckpt;
    },
    exportModel() {
      const graph = cloneGraph(forward.graph);
      for (const name of wrt) {
        const init = graph.initializers.get(name);
        if (init) graph.initializers.set(name, { ...init, data: params.get(name)!.slice() });
      }
      return { ...forward, graph };
    },
    async release() {
      await session.release();
      await files?.remove();
    },
  };
}

function hasExternalData(model: Model): boolean {
  for (const t of model.graph.initializers.values()) if (t.external) return true;
  return model.graph.nodes.some((n) => Object.values(n.attrs).some((a) => a.type === 'tensor' && a.value.external !== undefined));
}
