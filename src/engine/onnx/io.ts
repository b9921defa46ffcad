// Loading and saving ONNX models on disk, external data included.
//
// External data (TensorProto.data_location = EXTERNAL) names a file relative to the model's
// folder plus an offset and a length. Weights stay in their files: loading keeps the reference
// (unless asked to read the bytes), a derived graph saved beside the original references the same
// file, and `readExternalTensor` reads one tensor's bytes on demand, so a 2 GB+ UNet never has to
// sit in one ArrayBuffer. Locations that leave the model's folder are refused.

import { constants as fsConstants, promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { UserError } from '../../shared/errors';
import { DTYPE_BYTES, numElements, type ExternalRef, type Graph, type Model, type Tensor, type TensorData } from './ir';
import { decodeModel, encodeModel, OnnxDecodeError } from './proto/codec';

export interface LoadOptions {
  /** read every external tensor's bytes into memory (default false: keep the references) */
  loadExternal?: boolean;
}

export interface SaveOptions {
  /**
   * Move in-memory initializers of at least `thresholdBytes` bytes into `file` (a name relative
   * to the model's folder). Tensors that are already external keep their existing file.
   */
  externalData?: { file: string; thresholdBytes: number };
  /**
   * The folder the model's existing external locations are relative to: the folder it was loaded
   * from. Defaults to the folder being saved into (a derived graph saved beside its original).
   */
  sourceFolder?: string;
}

/** ModelProto is a protobuf message: 2 GiB is the format's hard limit for one file. */
const PROTOBUF_LIMIT_BYTES = 2 ** 31 - 1;
/** external tensors start on 64-byte boundaries so any dtype can be viewed in place */
const EXTERNAL_ALIGNMENT = 64;

/**
 * Checks that an external-data location stays inside the model's folder and returns its absolute
 * path. `where` names the model file and tensor for the error.
 */
export function resolveExternalLocation(modelFolder: string, location: string, where: string): string {
  const segments = location.split(/[\\/]+/);
  const absolute = path.posix.isAbsolute(location) || path.win32.isAbsolute(location) || /^[A-Za-z]:/.test(location);
  if (location === '' || location.includes('\0') || absolute || segments.includes('..')) {
    throw new UserError('onnx-external-location', `${where}: external data location '${location}' is not a path inside the model's folder`);
  }
  return path.join(modelFolder, ...segments.filter((s) => s !== '' && s !== '.'));
}

function externalTensors(graph: Graph): Tensor[] {
  const out: Tensor[] = [];
  for (const t of graph.initializers.values()) if (t.external) out.push(t);
  for (const node of graph.nodes) for (const a of Object.values(node.attrs)) if (a.type === 'tensor' && a.value.external) out.push(a.value);
  return out;
}

/** Reads one external tensor's values from disk (a fresh, aligned buffer per tensor). */
export async function readExternalTensor(modelFolder: string, tensor: Tensor, modelFile = modelFolder): Promise<TensorData> {
  const ref = tensor.external;
  if (!ref) throw new Error(`tensor '${tensor.name}' is not external`);
  const where = `${modelFile}: tensor '${tensor.name}'`;
  if (tensor.dtype === 'string') throw new UserError('onnx-external-invalid', `${where}: string tensors cannot be stored externally`);
  const file = resolveExternalLocation(modelFolder, ref.location, where);
  const expected = numElements(tensor.dims) * DTYPE_BYTES[tensor.dtype];
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (e) {
    throw new UserError('onnx-external-missing', `${where}: cannot open external data file '${file}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const size = (await handle.stat()).size;
    const length = ref.length >= 0 ? ref.length : size - ref.offset;
    if (length !== expected) throw new UserError('onnx-external-invalid', `${where}: external data holds ${length} bytes, dims [${tensor.dims}] need ${expected}`);
    if (ref.offset + length > size) {
      throw new UserError('onnx-external-invalid', `${where}: bytes ${ref.offset}..${ref.offset + length} lie beyond the end of '${file}' (${size} bytes)`);
    }
    const buffer = new ArrayBuffer(length);
    const bytes = new Uint8Array(buffer);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(bytes, done, length - done, ref.offset + done);
      if (bytesRead === 0) throw new UserError('onnx-external-invalid', `${where}: '${file}' ended early`);
      done += bytesRead;
    }
    return typedArrayOver(tensor, buffer);
  } finally {
    await handle.close();
  }
}

function typedArrayOver(tensor: Tensor, buffer: ArrayBuffer): TensorData {
  switch (tensor.dtype) {
    case 'float32':
      return new Float32Array(buffer);
    case 'float64':
      return new Float64Array(buffer);
    case 'float16':
    case 'bfloat16':
    case 'uint16':
      return new Uint16Array(buffer);
    case 'int8':
      return new Int8Array(buffer);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer);
    case 'int16':
      return new Int16Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'uint32':
      return new Uint32Array(buffer);
    case 'int64':
      return new BigInt64Array(buffer);
    case 'uint64':
      return new BigUint64Array(buffer);
    case 'string':
      throw new Error(`tensor '${tensor.name}': string tensors have no byte layout`);
  }
}

/** Checks every external reference of a model: inside the folder, file present, range in bounds. */
async function checkExternalReferences(model: Model, modelFolder: string, modelFile: string): Promise<void> {
  const sizes = new Map<string, number>();
  for (const t of externalTensors(model.graph)) {
    const where = `${modelFile}: tensor '${t.name}'`;
    const file = resolveExternalLocation(modelFolder, t.external!.location, where);
    let size = sizes.get(file);
    if (size === undefined) {
      try {
        size = (await fs.stat(file)).size;
      } catch {
        throw new UserError('onnx-external-missing', `${where}: external data file '${file}' does not exist`);
      }
      sizes.set(file, size);
    }
    const end = t.external!.offset + Math.max(t.external!.length, 0);
    if (end > size) throw new UserError('onnx-external-invalid', `${where}: bytes up to ${end} lie beyond the end of '${file}' (${size} bytes)`);
  }
}

/** Loads a .onnx file. External tensors keep their references unless `loadExternal` is set. */
export async function loadModel(modelPath: string, options: LoadOptions = {}): Promise<Model> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(modelPath);
  } catch (e) {
    throw new UserError('onnx-missing', `${modelPath}: cannot read the model (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let model: Model;
  try {
    model = decodeModel(bytes, modelPath);
  } catch (e) {
    if (e instanceof OnnxDecodeError) throw new UserError('onnx-invalid', e.message);
    throw e;
  }
  const folder = path.dirname(path.resolve(modelPath));
  await checkExternalReferences(model, folder, modelPath);
  if (options.loadExternal) {
    for (const t of externalTensors(model.graph)) {
      t.data = await readExternalTensor(folder, t, modelPath);
      delete t.external;
    }
  }
  return model;
}

/** Writes `bytes` to `target` through a temporary file in the same folder and a rename. */
export async function writeFileAtomic(target: string, write: (handle: fs.FileHandle) => Promise<void>): Promise<void> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await fs.open(temp, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY);
  try {
    await write(handle);
    await handle.sync();
  } catch (e) {
    await handle.close();
    await fs.rm(temp, { force: true });
    throw e;
  }
  await handle.close();
  try {
    await fs.rename(temp, target);
  } catch (e) {
    await fs.rm(temp, { force: true });
    throw e;
  }
}

async function writeAll(handle: fs.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** Forward slashes in stored locations, as ONNX tools write them on every platform. */
function toLocation(relativePath: string): string {
  return relativePath.split(path.sep).join('/');
}

/**
 * Saves a model. Existing external references are rewritten relative to the new folder (which
 * must contain the weight files); `externalData` moves large in-memory initializers into a file.
 * Both files are written atomically; the caller's model is not modified.
 */
export async function saveModel(model: Model, modelPath: string, options: SaveOptions = {}): Promise<void> {
  const targetFolder = path.dirname(path.resolve(modelPath));
  const sourceFolder = path.resolve(options.sourceFolder ?? targetFolder);
  const initializers = new Map<string, Tensor>();
  const referencedFiles = new Set<string>();

  for (const [name, t] of model.graph.initializers) initializers.set(name, t);
  // existing references: same file on disk, location relative to the folder we write into
  const rebase = (t: Tensor): Tensor => {
    const where = `${modelPath}: tensor '${t.name}'`;
    const file = resolveExternalLocation(sourceFolder, t.external!.location, where);
    const relativePath = path.relative(targetFolder, file);
    if (relativePath.split(path.sep).includes('..') || path.isAbsolute(relativePath)) {
      throw new UserError(
        'onnx-external-location',
        `${where}: its weights are in '${file}', outside the folder of '${modelPath}'; save the model in the weights' folder (or load it with loadExternal)`,
      );
    }
    referencedFiles.add(path.resolve(file));
    const external: ExternalRef = { ...t.external!, location: toLocation(relativePath) };
    return { ...t, external };
  };
  for (const [name, t] of initializers) if (t.external) initializers.set(name, rebase(t));
  const nodes = model.graph.nodes.map((n) => {
    const hasExternal = Object.values(n.attrs).some((a) => a.type === 'tensor' && a.value.external);
    if (!hasExternal) return n;
    const attrs = { ...n.attrs };
    for (const [k, a] of Object.entries(attrs)) if (a.type === 'tensor' && a.value.external) attrs[k] = { type: 'tensor', value: rebase(a.value) };
    return { ...n, attrs };
  });
  for (const t of externalTensors({ ...model.graph, initializers, nodes })) {
    const file = path.join(targetFolder, ...t.external!.location.split('/'));
    try {
      await fs.access(file);
    } catch {
      throw new UserError('onnx-external-missing', `${modelPath}: tensor '${t.name}' references '${file}', which does not exist`);
    }
  }

  let dataFile: { path: string; tensors: { tensor: Tensor; offset: number }[]; size: number } | undefined;
  if (options.externalData) {
    const { file, thresholdBytes } = options.externalData;
    const dataPath = resolveExternalLocation(targetFolder, file, `${modelPath}: external data file`);
    if (referencedFiles.has(path.resolve(dataPath))) {
      throw new UserError('onnx-external-location', `${modelPath}: '${file}' already holds weights this model references; choose another external data file name`);
    }
    dataFile = { path: dataPath, tensors: [], size: 0 };
    for (const [name, t] of initializers) {
      if (!t.data || Array.isArray(t.data) || t.data.byteLength < thresholdBytes) continue;
      const offset = Math.ceil(dataFile.size / EXTERNAL_ALIGNMENT) * EXTERNAL_ALIGNMENT;
      dataFile.tensors.push({ tensor: t, offset });
      dataFile.size = offset + t.data.byteLength;
      const rest: Tensor = { name: t.name, dtype: t.dtype, dims: t.dims, external: { location: toLocation(path.relative(targetFolder, dataPath)), offset, length: t.data.byteLength } };
      if (t.docString !== undefined) rest.docString = t.docString;
      if (t.unknownFields !== undefined) rest.unknownFields = t.unknownFields;
      initializers.set(name, rest);
    }
  }

  const bytes = encodeModel({ ...model, graph: { ...model.graph, initializers, nodes } });
  if (bytes.length > PROTOBUF_LIMIT_BYTES) {
    throw new UserError('onnx-too-large', `${modelPath}: the model is ${bytes.length} bytes, over protobuf's 2 GiB limit; save with externalData`);
  }
  if (dataFile) {
    const { tensors } = dataFile;
    await writeFileAtomic(dataFile.path, async (handle) => {
      for (const { tensor, offset } of tensors) {
        const d = tensor.data as Exclude<TensorData, string[]>;
        await writeAll(handle, new Uint8Array(d.buffer, d.byteOffset, d.byteLength), offset);
      }
    });
  }
  await writeFileAtomic(path.resolve(modelPath), (handle) => writeAll(handle, bytes, 0));
}
