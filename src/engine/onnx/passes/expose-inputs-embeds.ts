// Gives a CLIP-style text encoder an `inputs_embeds` input, so learned vectors (textual inversion,
// AnomalyDiffusion's e_a and e_s) can be fed in place of token embeddings.
//
// Exported CLIP text encoders (Optimum, diffusers' script, torch.onnx in general) look up token
// embeddings with one Gather whose data operand is the [vocab, width] weight initializer and whose
// indices are `input_ids` (possibly through Cast / Reshape(-1, seq) / Unsqueeze). The pass removes
// that Gather and feeds its consumers from a new graph input `inputs_embeds` [batch, seq, width]
// of the table's dtype. Everything else stays: the position embedding is still added inside the
// graph, and `input_ids` stays an input when anything else reads it (the pooled output takes the
// hidden state at argmax(input_ids), i.e. the end-of-text token, and some exports build the causal
// mask from Shape(input_ids)). When nothing else reads it, `input_ids` is removed. A caller feeds
// inputs_embeds = table[input_ids] (with its own rows where it injects vectors) together with the
// same input_ids; `tokenEmbeddingTable` reads the table for that.

import path from 'node:path';
import { UserError } from '../../../shared/errors';
import { readExternalTensor } from '../io';
import type { Dim, Model, Node, Tensor, TensorData } from '../ir';
import { removeDeadCode } from './dead-code';
import { copyModel } from './graph-edit';

export const INPUTS_EMBEDS = 'inputs_embeds';

/** Ops a token-id tensor may pass through on its way to the embedding Gather. */
const INDEX_PASSTHROUGH = new Set(['Cast', 'Reshape', 'Unsqueeze', 'Squeeze', 'Identity', 'Flatten']);

export interface TokenEmbedding {
  /** the Gather node that looks up token embeddings */
  gather: Node;
  /** the [vocab, width] initializer it reads */
  table: Tensor;
  /** the graph input holding the token ids */
  idsInput: string;
}

/**
 * Finds the token-embedding lookup: a Gather on axis 0 of a rank-2 initializer whose indices come
 * from an integer graph input (default `input_ids`). Throws a UserError naming the model otherwise.
 */
export function findTokenEmbedding(model: Model, idsInput = 'input_ids'): TokenEmbedding {
  const g = model.graph;
  const input = g.inputs.find((i) => i.name === idsInput);
  if (!input) throw new UserError('sd-text-encoder', `text encoder '${g.name}' has no input '${idsInput}' (inputs: ${g.inputs.map((i) => i.name).join(', ')})`);
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  /** true when `value` is the ids input, reached only through index-preserving ops */
  const fromIds = (value: string): boolean => {
    for (let v = value, hops = 0; hops < 16; hops++) {
      if (v === idsInput) return true;
      const n = producer.get(v);
      if (!n || !INDEX_PASSTHROUGH.has(n.opType)) return false;
      v = n.inputs[0]!;
    }
    return false;
  };
  const found: TokenEmbedding[] = [];
  for (const node of g.nodes) {
    if (node.opType !== 'Gather') continue;
    const axis = node.attrs['axis'];
    if (axis && !(axis.type === 'int' && axis.value === 0)) continue;
    const table = g.initializers.get(node.inputs[0]!);
    if (!table || table.dims.length !== 2 || !fromIds(node.inputs[1]!)) continue;
    found.push({ gather: node, table, idsInput });
  }
  if (found.length !== 1) {
    throw new UserError(
      'sd-text-encoder',
      found.length === 0
        ? `text encoder '${g.name}': no token-embedding Gather (a Gather on a [vocab, width] weight indexed by '${idsInput}') was found`
        : `text encoder '${g.name}': ${found.length} Gathers look like token embeddings (${found.map((f) => `'${f.gather.name}'`).join(', ')}); expected one`,
    );
  }
  return found[0]!;
}

/**
 * Returns a copy of the text encoder with `inputs_embeds` [batch, seq, width] replacing the token
 * embedding lookup (see the file comment); the caller's model is not modified.
 */
export function exposeInputsEmbeds(model: Model, idsInput = 'input_ids'): Model {
  const { gather, table } = findTokenEmbedding(model, idsInput);
  const out = copyModel(model);
  const g = out.graph;
  if (g.inputs.some((i) => i.name === INPUTS_EMBEDS)) throw new UserError('sd-text-encoder', `text encoder '${g.name}' already has an input '${INPUTS_EMBEDS}'`);
  const embedded = gather.outputs[0]!;
  g.nodes = g.nodes
    .filter((n) => n !== gather)
    .map((n) => (n.inputs.includes(embedded) ? { ...n, inputs: n.inputs.map((i) => (i === embedded ? INPUTS_EMBEDS : i)) } : n));
  g.outputs = g.outputs.map((o) => (o.name === embedded ? { ...o, name: INPUTS_EMBEDS } : o));
  g.valueInfo.delete(embedded);
  const ids = g.inputs.find((i) => i.name === idsInput)!;
  // the lookup's output is [...ids dims, width]; the ids input is [batch, seq]
  const shape: Dim[] | undefined = ids.shape ? [...ids.shape, table.dims[1]!] : undefined;
  g.inputs.push({ name: INPUTS_EMBEDS, dtype: table.dtype, shape });
  const pruned = removeDeadCode(out);
  const stillRead = pruned.graph.nodes.some((n) => n.inputs.includes(idsInput)) || pruned.graph.outputs.some((o) => o.name === idsInput);
  if (!stillRead) pruned.graph.inputs = pruned.graph.inputs.filter((i) => i.name !== idsInput);
  return pruned;
}

export interface EmbeddingTable {
  vocabSize: number;
  width: number;
  /** the table's element type as stored (float32, or float16 as raw bit patterns) */
  dtype: Tensor['dtype'];
  /** [vocabSize, width] row-major */
  data: TensorData;
}

/**
 * Reads the token-embedding table of a text encoder (row t = the embedding of token id t).
 * `modelPath` locates external data when the table is stored outside the .onnx file.
 */
export async function tokenEmbeddingTable(model: Model, modelPath: string, idsInput = 'input_ids'): Promise<EmbeddingTable> {
  const { table } = findTokenEmbedding(model, idsInput);
  const data: TensorData = table.data ?? (await readExternalTensor(path.dirname(path.resolve(modelPath)), table, modelPath));
  const [vocabSize, width] = table.dims as [number, number];
  return { vocabSize, width, dtype: table.dtype, data };
}
