// Outer-scope references of graph-valued attributes (If/Loop/Scan bodies). The IR keeps such
// attributes as raw AttributeProto bytes; passes that must know which outer values a subgraph
// reads (dead-code removal) ask here instead of decoding the subgraph into the IR.

import type { AttrValue } from '../ir';
import { WIRE_LENGTH_DELIMITED } from './schema-types';
import { forEachRawField } from './wire';

// field numbers from onnx.proto
const ATTRIBUTE_G = 6;
const ATTRIBUTE_GRAPHS = 11;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_SPARSE_INITIALIZER = 15;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_ATTRIBUTE = 5;
const VALUE_INFO_NAME = 1;
const TENSOR_NAME = 8;
const SPARSE_TENSOR_VALUES = 1;

const utf8 = new TextDecoder();

function stringField(message: Uint8Array, number: number): string {
  let found = '';
  forEachRawField(message, (n, wire, payload) => {
    if (n === number && wire === WIRE_LENGTH_DELIMITED) found = utf8.decode(payload);
  });
  return found;
}

/** Names a subgraph reads from enclosing scopes (inputs used but not defined inside it). */
function graphOuterReferences(graph: Uint8Array, into: Set<string>): void {
  const defined = new Set<string>();
  const used = new Set<string>();
  forEachRawField(graph, (n, wire, payload) => {
    if (wire !== WIRE_LENGTH_DELIMITED) return;
    if (n === GRAPH_INPUT) defined.add(stringField(payload, VALUE_INFO_NAME));
    else if (n === GRAPH_INITIALIZER) defined.add(stringField(payload, TENSOR_NAME));
    else if (n === GRAPH_SPARSE_INITIALIZER) {
      forEachRawField(payload, (sn, sw, values) => {
        if (sn === SPARSE_TENSOR_VALUES && sw === WIRE_LENGTH_DELIMITED) defined.add(stringField(values, TENSOR_NAME));
      });
    } else if (n === GRAPH_NODE) {
      forEachRawField(payload, (nn, nw, value) => {
        if (nw !== WIRE_LENGTH_DELIMITED) return;
        if (nn === NODE_INPUT) used.add(utf8.decode(value));
        else if (nn === NODE_OUTPUT) defined.add(utf8.decode(value));
        else if (nn === NODE_ATTRIBUTE) attributeOuterReferences(value, used);
      });
    }
  });
  for (const name of used) if (name && !defined.has(name)) into.add(name);
}

function attributeOuterReferences(attribute: Uint8Array, into: Set<string>): void {
  forEachRawField(attribute, (n, wire, payload) => {
    if (wire === WIRE_LENGTH_DELIMITED && (n === ATTRIBUTE_G || n === ATTRIBUTE_GRAPHS)) graphOuterReferences(payload, into);
  });
}

/** The outer-scope value names read by the subgraphs in a node's attribute (empty for others). */
export function subgraphValueReferences(attr: AttrValue): Set<string> {
  const refs = new Set<string>();
  if (attr.type === 'raw') attributeOuterReferences(attr.value, refs);
  return refs;
}
