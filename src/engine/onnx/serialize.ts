// IR -> ModelProto bytes (protobuf wire format). Field numbers are onnx.proto's.
// Interim writer: the full codec (reading, unknown-field preservation, external data) lives in
// ./proto and replaces this file's internals while keeping `encodeModel`'s signature.

import { ONNX_DTYPE_CODE, type AttrValue, type Graph, type Model, type Node, type Tensor, type ValueInfo } from './ir';

class Writer {
  private chunks: Uint8Array[] = [];
  private buf = new Uint8Array(256);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = new Uint8Array(Math.max(n, 256));
  }
  private flush(): void {
    if (this.pos > 0) this.chunks.push(this.buf.slice(0, this.pos));
    this.pos = 0;
  }
  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    if (data.length > 4096) {
      this.flush();
      this.chunks.push(data);
    } else {
      this.ensure(data.length);
      this.buf.set(data, this.pos);
      this.pos += data.length;
    }
  }
  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }
  int(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }
  float(field: number, v: number): void {
    this.tag(field, 5);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat32(this.pos, v, true);
    this.pos += 4;
  }
  message(field: number, fill: (w: Writer) => void): void {
    const inner = new Writer();
    fill(inner);
    this.bytes(field, inner.finish());
  }
  raw(data: Uint8Array): void {
    this.flush();
    this.chunks.push(data);
  }
  finish(): Uint8Array {
    this.flush();
    const size = this.chunks.reduce((a, c) => a + c.length, 0);
    const out = new Uint8Array(size);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

function writeTensor(w: Writer, t: Tensor): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, ONNX_DTYPE_CODE[t.dtype]);
  w.string(8, t.name);
  if (t.docString) w.string(12, t.docString);
  if (t.external) {
    const entries: [string, string][] = [['location', t.external.location], ['offset', String(t.external.offset)]];
    if (t.external.length >= 0) entries.push(['length', String(t.external.length)]);
    for (const [k, v] of entries) w.message(13, (e) => (e.string(1, k), e.string(2, v)));
    w.int(14, 1);
  } else if (t.data) {
    if (Array.isArray(t.data)) {
      for (const s of t.data) w.string(6, s);
    } else {
      const d = t.data;
      w.bytes(9, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
  }
  if (t.unknownFields) w.raw(t.unknownFields);
}

const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7, strings: 8 } as const;

function writeAttr(w: Writer, name: string, a: AttrValue): void {
  if (a.type === 'raw') {
    w.bytes(5, a.value);
    return;
  }
  w.message(5, (m) => {
    m.string(1, name);
    m.int(20, ATTR_TYPE[a.type]);
    switch (a.type) {
      case 'float':
        m.float(2, a.value);
        break;
      case 'int':
        m.int(3, a.value);
        break;
      case 'string':
        m.string(4, a.value);
        break;
      case 'tensor':
        m.message(5, (t) => writeTensor(t, a.value));
        break;
      case 'floats':
        for (const v of a.value) m.float(7, v);
        break;
      case 'ints':
        for (const v of a.value) m.int(8, v);
        break;
      case 'strings':
        for (const v of a.value) m.string(9, v);
        break;
    }
  });
}

function writeNode(w: Writer, n: Node): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, a] of Object.entries(n.attrs)) writeAttr(w, k, a);
  if (n.docString) w.string(6, n.docString);
  if (n.domain) w.string(7, n.domain);
  if (n.unknownFields) w.raw(n.unknownFields);
}

function writeValueInfo(w: Writer, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, ONNX_DTYPE_CODE[v.dtype]);
      if (v.shape) {
        tt.message(2, (shape) => {
          for (const d of v.shape!) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        });
      }
    }),
  );
  if (v.unknownFields) w.raw(v.unknownFields);
}

function writeGraph(w: Writer, g: Graph): void {
  for (const n of g.nodes) w.message(1, (m) => writeNode(m, n));
  w.string(2, g.name);
  for (const t of g.initializers.values()) w.message(5, (m) => writeTensor(m, t));
  if (g.docString) w.string(10, g.docString);
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v));
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v));
  for (const v of g.valueInfo.values()) w.message(13, (m) => writeValueInfo(m, v));
  if (g.unknownFields) w.raw(g.unknownFields);
}

/** Serialises a model to ModelProto bytes. */
export function encodeModel(model: Model): Uint8Array {
  const w = new Writer();
  w.int(1, model.irVersion);
  if (model.producerName) w.string(2, model.producerName);
  if (model.producerVersion) w.string(3, model.producerVersion);
  if (model.domain) w.string(4, model.domain);
  if (model.modelVersion) w.int(5, model.modelVersion);
  if (model.docString) w.string(6, model.docString);
  w.message(7, (m) => writeGraph(m, model.graph));
  for (const o of model.opsetImports) w.message(8, (m) => (m.string(1, o.domain), m.int(2, o.version)));
  for (const [k, v] of Object.entries(model.metadata)) w.message(14, (m) => (m.string(1, k), m.string(2, v)));
  if (model.unknownFields) w.raw(model.unknownFields);
  return w.finish();
}
