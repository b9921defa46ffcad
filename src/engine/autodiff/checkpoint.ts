// Training checkpoints: parameters + optimiser state (moments, step count) + a small JSON header,
// in one file, written atomically, read back bit-exactly.
//
// Layout (all integers little-endian):
//   bytes 0..7    magic "DFCKPT01"
//   bytes 8..11   uint32 H, the byte length of the JSON header
//   bytes 12..    the header (UTF-8 JSON), then zero padding to a multiple of 8
//   then          the tensors' raw float32 values, back to back, in the header's order
// The header lists each tensor (name, role, dims, byte offset into the data section) and the
// SHA-256 of the data section, so truncation or corruption is detected on load.

import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../../shared/errors';
import type { OptimizerState } from './optim';

const MAGIC = 'DFCKPT01';
const FORMAT_VERSION = 1;

export interface ParamTensor {
  dims: number[];
  data: Float32Array;
}

export interface Checkpoint {
  /** trained parameters by name */
  params: Record<string, ParamTensor>;
  optimizer: OptimizerState;
  /** free-form JSON-serialisable information (config, loss so far, versions...) */
  meta: Record<string, unknown>;
}

interface TensorEntry {
  name: string;
  /** 'param', or 'slot:<slot name>' for an optimiser buffer of the parameter `name` */
  role: string;
  dims: number[];
  offset: number;
  length: number;
}

interface Header {
  format: 'defectforge-checkpoint';
  version: number;
  optimizer: { kind: string; step: number; hyper: Record<string, number> };
  tensors: TensorEntry[];
  sha256: string;
  meta: Record<string, unknown>;
}

function assertLittleEndian(): void {
  // float32 arrays are written as their in-memory bytes; every platform we ship on is LE
  if (endianness() !== 'LE') throw new Error('checkpoints are only supported on little-endian machines');
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Serialises a checkpoint to bytes (see the layout above). */
export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array {
  assertLittleEndian();
  const tensors: TensorEntry[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  const push = (name: string, role: string, dims: number[], data: Float32Array): void => {
    const expected = dims.reduce((a, d) => a * d, 1);
    if (expected !== data.length) throw new Error(`checkpoint tensor '${name}' (${role}): ${data.length} values for dims [${dims}]`);
    tensors.push({ name, role, dims: [...dims], offset, length: data.byteLength });
    chunks.push(data);
    offset += data.byteLength;
  };
  for (const [name, p] of Object.entries(ckpt.params)) push(name, 'param', p.dims, p.data);
  for (const [slot, buffers] of Object.entries(ckpt.optimizer.slots)) {
    for (const [name, data] of Object.entries(buffers)) {
      const param = ckpt.params[name];
      push(name, `slot:${slot}`, param && param.data.length === data.length ? param.dims : [data.length], data);
    }
  }
  const payload = new Uint8Array(offset);
  tensors.forEach((t, i) => payload.set(bytesOf(chunks[i]!), t.offset));
  const header: Header = {
    format: 'defectforge-checkpoint',
    version: FORMAT_VERSION,
    optimizer: { kind: ckpt.optimizer.kind, step: ckpt.optimizer.step, hyper: { ...ckpt.optimizer.hyper } },
    tensors,
    sha256: createHash('sha256').update(payload).digest('hex'),
    meta: ckpt.meta,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = Math.ceil((12 + json.length) / 8) * 8;
  const out = new Uint8Array(dataStart + payload.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(payload, dataStart);
  return out;
}

/** Parses checkpoint bytes; `source` names the file in error messages. */
export function decodeCheckpoint(bytes: Uint8Array, source: string): Checkpoint {
  assertLittleEndian();
  const bad = (problem: string): UserError => new UserError('CHECKPOINT_INVALID', `${source}: ${problem}`);
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw bad('not a DefectForge checkpoint (bad magic)');
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + headerLength > bytes.length) throw bad('file is truncated (header runs past the end)');
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLength))) as Header;
  } catch (e) {
    throw bad(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header.format !== 'defectforge-checkpoint') throw bad('header does not describe a DefectForge checkpoint');
  if (header.version > FORMAT_VERSION) throw bad(`written by a newer DefectForge (format ${header.version}; this version reads up to ${FORMAT_VERSION})`);
  const dataStart = Math.ceil((12 + headerLength) / 8) * 8;
  const payload = bytes.subarray(dataStart);
  const expectedSize = header.tensors.reduce((a, t) => Math.max(a, t.offset + t.length), 0);
  if (payload.length !== expectedSize) throw bad(`data section holds ${payload.length} bytes, the header describes ${expectedSize} (truncated or damaged)`);
  if (createHash('sha256').update(payload).digest('hex') !== header.sha256) throw bad('data checksum mismatch (file is damaged)');

  const params: Record<string, ParamTensor> = {};
  const slots: Record<string, Record<string, Float32Array>> = {};
  for (const t of header.tensors) {
    if (t.length % 4 !== 0 || t.dims.reduce((a, d) => a * d, 1) * 4 !== t.length) throw bad(`tensor '${t.name}' (${t.role}) has ${t.length} bytes for dims [${t.dims}]`);
    // copy into fresh, aligned storage: the result owns its memory
    const data = new Float32Array(t.length / 4);
    bytesOf(data).set(payload.subarray(t.offset, t.offset + t.length));
    if (t.role === 'param') params[t.name] = { dims: [...t.dims], data };
    else if (t.role.startsWith('slot:')) (slots[t.role.slice(5)] ??= {})[t.name] = data;
    else throw bad(`tensor '${t.name}' has unknown role '${t.role}'`);
  }
  return {
    params,
    optimizer: { kind: header.optimizer.kind, step: header.optimizer.step, hyper: { ...header.optimizer.hyper }, slots },
    meta: header.meta ?? {},
  };
}

/** Writes bytes to `path` through a temporary file in the same folder and a rename. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync(); // the bytes are on disk before the rename makes them visible
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}

export async function writeCheckpoint(path: string, ckpt: Checkpoint): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(ckpt));
}

export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError('CHECKPOINT_NOT_FOUND', `${path}: checkpoint file not found`);
    throw e;
  }
  return decodeCheckpoint(bytes, path);
}
