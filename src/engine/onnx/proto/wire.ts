// Protobuf wire format driven by the generated schema table: a reader that decodes the fields a
// message spec lists and keeps every other field as its raw bytes, and a writer that builds a
// message tree and serialises it with a single allocation (big byte fields are referenced, not
// copied, until the final write).

import { ONNX_SCHEMA } from './schema.generated';
import {
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_LENGTH_DELIMITED,
  WIRE_VARINT,
  wireTypeOf,
  type FieldSpec,
  type MessageSpec,
} from './schema-types';

export type FieldValue = number | bigint | string | Uint8Array;

export interface DecodedMessage {
  /** decoded values by field name, in wire order; sub-messages stay undecoded byte views */
  readonly fields: Map<string, FieldValue[]>;
  /** tag + payload of every field the spec does not list, concatenated in wire order */
  readonly unknown: Uint8Array | undefined;
}

export class WireFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireFormatError';
  }
}

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

function messageSpec(name: string): MessageSpec {
  const spec = ONNX_SCHEMA[name];
  if (!spec) throw new Error(`no message '${name}' in the ONNX schema table`);
  return spec;
}

const fieldsByNumber = new Map<string, Map<number, FieldSpec>>();
const fieldsByName = new Map<string, Map<string, FieldSpec>>();
for (const spec of Object.values(ONNX_SCHEMA)) {
  fieldsByNumber.set(spec.name, new Map(spec.fields.map((f) => [f.number, f])));
  fieldsByName.set(spec.name, new Map(spec.fields.map((f) => [f.name, f])));
}

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    readonly view: DataView,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint as two unsigned 32-bit halves (JS bit operations only reach 32 bits). */
  varint(): [lo: number, hi: number] {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireFormatError('truncated varint');
      const byte = this.buf[this.pos++]!;
      const bits = byte & 0x7f;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (shift - 32);
      if ((byte & 0x80) === 0) return [lo >>> 0, hi >>> 0];
      shift += 7;
    }
    throw new WireFormatError('varint longer than 10 bytes');
  }

  /** A varint that must fit in a JS number without loss (tags, lengths). */
  smallVarint(): number {
    const [lo, hi] = this.varint();
    if (hi > 0x1fffff) throw new WireFormatError('length or tag out of range');
    return hi * 0x100000000 + lo;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LENGTH_DELIMITED:
        this.advance(this.smallVarint());
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw new WireFormatError(`unsupported wire type ${wireType}`);
    }
  }

  advance(n: number): number {
    const at = this.pos;
    if (n < 0 || at + n > this.end) throw new WireFormatError('field runs past the end of its message');
    this.pos += n;
    return at;
  }
}

function scalarFromVarint(kind: FieldSpec['kind'], lo: number, hi: number): FieldValue {
  switch (kind) {
    case 'int32':
      // int32 values are sign-extended to 64 bits on the wire; the low word holds the value
      return lo | 0;
    case 'int64':
      return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
    case 'uint64':
      return (BigInt(hi) << 32n) | BigInt(lo);
    default:
      throw new WireFormatError(`a ${kind} field cannot use the varint wire type`);
  }
}

function readOne(r: Reader, spec: FieldSpec, wireType: number): FieldValue {
  switch (wireType) {
    case WIRE_VARINT: {
      const [lo, hi] = r.varint();
      return scalarFromVarint(spec.kind, lo, hi);
    }
    case WIRE_FIXED32: {
      if (spec.kind !== 'float') throw new WireFormatError(`field '${spec.name}' is ${spec.kind}, not a fixed32`);
      return r.view.getFloat32(r.advance(4), true);
    }
    case WIRE_FIXED64: {
      if (spec.kind !== 'double') throw new WireFormatError(`field '${spec.name}' is ${spec.kind}, not a fixed64`);
      return r.view.getFloat64(r.advance(8), true);
    }
    case WIRE_LENGTH_DELIMITED: {
      const len = r.smallVarint();
      const at = r.advance(len);
      const bytes = r.buf.subarray(at, at + len);
      return spec.kind === 'string' ? utf8Decoder.decode(bytes) : bytes;
    }
    default:
      throw new WireFormatError(`unsupported wire type ${wireType}`);
  }
}

function readPacked(r: Reader, spec: FieldSpec, into: FieldValue[]): void {
  const len = r.smallVarint();
  const end = r.advance(len) + len;
  const inner = new Reader(r.buf, r.view, end - len, end);
  const wire = wireTypeOf(spec.kind);
  while (inner.pos < end) into.push(readOne(inner, spec, wire));
}

/**
 * Decodes one message. `bytes` may be a view into a larger buffer (a whole model file); decoded
 * byte fields are views into it too, so nothing big is copied here.
 */
export function decodeMessage(input: Uint8Array, messageName: string): DecodedMessage {
  // a node Buffer's slice() is a view, not a copy: work on a plain Uint8Array over the same memory
  const bytes = plainBytes(input);
  const byNumber = fieldsByNumber.get(messageSpec(messageName).name)!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(bytes, view, 0, bytes.length);
  const fields = new Map<string, FieldValue[]>();
  const unknownParts: Uint8Array[] = [];
  while (r.pos < r.end) {
    const fieldStart = r.pos;
    const tag = r.smallVarint();
    const number = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (number === 0) throw new WireFormatError(`field number 0 in ${messageName}`);
    const spec = byNumber.get(number);
    if (!spec) {
      r.skip(wireType);
      unknownParts.push(bytes.subarray(fieldStart, r.pos));
      continue;
    }
    let values = fields.get(spec.name);
    if (!values) fields.set(spec.name, (values = []));
    const scalar = spec.kind !== 'message' && spec.kind !== 'string' && spec.kind !== 'bytes';
    if (scalar && wireType === WIRE_LENGTH_DELIMITED) readPacked(r, spec, values);
    else values.push(readOne(r, spec, wireType));
  }
  return { fields, unknown: unknownParts.length > 0 ? concatBytes(unknownParts) : undefined };
}

/** The same memory as a plain Uint8Array (Buffer subclasses change slice() semantics). */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return Uint8Array.prototype.slice.call(parts[0]!);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Calls `visit` for each field of a message whose schema we do not need (raw walking). */
export function forEachRawField(input: Uint8Array, visit: (number: number, wireType: number, payload: Uint8Array) => void): void {
  const bytes = plainBytes(input);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(bytes, view, 0, bytes.length);
  while (r.pos < r.end) {
    const tag = r.smallVarint();
    const wireType = tag & 7;
    if (wireType === WIRE_LENGTH_DELIMITED) {
      const len = r.smallVarint();
      const at = r.advance(len);
      visit(Math.floor(tag / 8), wireType, bytes.subarray(at, at + len));
    } else {
      const at = r.pos;
      r.skip(wireType);
      visit(Math.floor(tag / 8), wireType, bytes.subarray(at, r.pos));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

const SCRATCH_BYTES = 256;
/** byte fields at least this long are referenced rather than copied into the scratch buffer */
const REFERENCE_BYTES = 1024;

/**
 * Builds one message. Children are complete writers (so their size is known when added); the
 * whole tree is written by `finish()` into one buffer.
 */
export class MessageWriter {
  private readonly parts: (Uint8Array | MessageWriter)[] = [];
  private scratch = new Uint8Array(SCRATCH_BYTES);
  private pos = 0;
  private flushedBytes = 0;
  private readonly spec: Map<string, FieldSpec>;

  constructor(readonly messageName: string) {
    this.spec = fieldsByName.get(messageSpec(messageName).name)!;
  }

  get byteLength(): number {
    return this.flushedBytes + this.pos;
  }

  private field(name: string): FieldSpec {
    const f = this.spec.get(name);
    if (!f) throw new Error(`${this.messageName} has no field '${name}' in the schema table`);
    return f;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.scratch.length) return;
    this.flush();
    if (n > this.scratch.length) this.scratch = new Uint8Array(n);
  }

  private flush(): void {
    if (this.pos === 0) return;
    this.parts.push(this.scratch.slice(0, this.pos));
    this.flushedBytes += this.pos;
    this.pos = 0;
  }

  private varint(v: number | bigint): void {
    this.ensure(10);
    if (typeof v === 'number' && v >= 0 && v < 0x80000000) {
      while (v >= 0x80) {
        this.scratch[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.scratch[this.pos++] = v;
      return;
    }
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.scratch[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.scratch[this.pos++] = Number(x);
  }

  private tag(number: number, wireType: number): void {
    this.varint(number * 8 + wireType);
  }

  private bytesPayload(data: Uint8Array): void {
    this.varint(data.length);
    if (data.length >= REFERENCE_BYTES) {
      this.flush();
      this.parts.push(data);
      this.flushedBytes += data.length;
    } else {
      this.ensure(data.length);
      this.scratch.set(data, this.pos);
      this.pos += data.length;
    }
  }

  private scalar(f: FieldSpec, v: FieldValue): void {
    switch (f.kind) {
      case 'int32':
      case 'int64':
      case 'uint64':
        if (typeof v !== 'number' && typeof v !== 'bigint') throw new Error(`${this.messageName}.${f.name}: expected an integer`);
        this.varint(v);
        return;
      case 'float':
        this.ensure(4);
        new DataView(this.scratch.buffer).setFloat32(this.pos, Number(v), true);
        this.pos += 4;
        return;
      case 'double':
        this.ensure(8);
        new DataView(this.scratch.buffer).setFloat64(this.pos, Number(v), true);
        this.pos += 8;
        return;
      case 'string':
        this.bytesPayload(typeof v === 'string' ? utf8Encoder.encode(v) : (v as Uint8Array));
        return;
      case 'bytes':
        this.bytesPayload(typeof v === 'string' ? utf8Encoder.encode(v) : (v as Uint8Array));
        return;
      case 'message':
        throw new Error(`${this.messageName}.${f.name}: use message() for sub-messages`);
    }
  }

  /** Writes one value of a scalar, string or bytes field (call again for repeated values). */
  put(name: string, value: FieldValue): this {
    const f = this.field(name);
    this.tag(f.number, wireTypeOf(f.kind));
    this.scalar(f, value);
    return this;
  }

  /** Writes all values of a repeated scalar field, packed when the schema says so. */
  putAll(name: string, values: ArrayLike<number | bigint> | readonly (string | Uint8Array)[]): this {
    const f = this.field(name);
    if (!f.repeated) throw new Error(`${this.messageName}.${f.name} is not repeated`);
    if (values.length === 0) return this;
    if (f.packed) {
      const inner = new MessageWriter(this.messageName);
      for (let i = 0; i < values.length; i++) inner.scalar(f, values[i]!);
      this.tag(f.number, WIRE_LENGTH_DELIMITED);
      this.varint(inner.byteLength);
      this.appendWriter(inner);
    } else {
      for (let i = 0; i < values.length; i++) this.put(name, values[i]!);
    }
    return this;
  }

  /** Writes a complete child message as field `name`. */
  message(name: string, child: MessageWriter): this {
    const f = this.field(name);
    if (f.kind !== 'message' || f.message !== child.messageName) {
      throw new Error(`${this.messageName}.${f.name} does not hold a ${child.messageName}`);
    }
    this.tag(f.number, WIRE_LENGTH_DELIMITED);
    this.varint(child.byteLength);
    this.appendWriter(child);
    return this;
  }

  /** Appends bytes that are already complete fields (preserved unknown fields). */
  raw(fields: Uint8Array): this {
    if (fields.length >= REFERENCE_BYTES) {
      this.flush();
      this.parts.push(fields);
      this.flushedBytes += fields.length;
    } else {
      this.ensure(fields.length);
      this.scratch.set(fields, this.pos);
      this.pos += fields.length;
    }
    return this;
  }

  private appendWriter(child: MessageWriter): void {
    this.flush();
    this.parts.push(child);
    this.flushedBytes += child.byteLength;
  }

  private writeInto(out: Uint8Array, at: number): number {
    this.flush();
    for (const part of this.parts) {
      if (part instanceof MessageWriter) at = part.writeInto(out, at);
      else {
        out.set(part, at);
        at += part.length;
      }
    }
    return at;
  }

  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.byteLength);
    const end = this.writeInto(out, 0);
    if (end !== out.length) throw new Error(`internal: ${this.messageName} wrote ${end} of ${out.length} bytes`);
    return out;
  }
}

/** Encodes one length-delimited field (tag + length + payload) as raw bytes. */
export function rawLengthDelimitedField(number: number, payload: Uint8Array): Uint8Array {
  const head: number[] = [];
  for (let v = number * 8 + WIRE_LENGTH_DELIMITED; ; ) {
    if (v < 0x80) {
      head.push(v);
      break;
    }
    head.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  for (let v = payload.length; ; ) {
    if (v < 0x80) {
      head.push(v);
      break;
    }
    head.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}
