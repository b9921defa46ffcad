// Dead-code removal: drops nodes whose outputs reach no graph output, then initializers and
// value_info nobody uses. Subgraph bodies (If/Loop) count their outer-scope reads as uses.

import type { Model, Node } from '../ir';
import { subgraphValueReferences } from '../proto/subgraphs';
import { copyModel } from './graph-edit';

export interface DeadCodeOptions {
  /** also drop graph inputs nothing reads (changes the model's interface; default false) */
  pruneInputs?: boolean;
}

function nodeReads(node: Node): string[] {
  const reads = node.inputs.filter((i) => i !== '');
  for (const a of Object.values(node.attrs)) if (a.type === 'raw') reads.push(...subgraphValueReferences(a));
  return reads;
}

export function removeDeadCode(model: Model, options: DeadCodeOptions = {}): Model {
  const out = copyModel(model);
  const g = out.graph;
  const producer = new Map<string, Node>();
  for (const node of g.nodes) for (const o of node.outputs) if (o) producer.set(o, node);

  // walk back from the outputs; a node is live when any output of it is needed
  const liveValues = new Set<string>();
  const liveNodes = new Set<Node>();
  const pending = g.outputs.map((o) => o.name);
  while (pending.length > 0) {
    const value = pending.pop()!;
    if (liveValues.has(value)) continue;
    liveValues.add(value);
    const node = producer.get(value);
    if (node && !liveNodes.has(node)) {
      liveNodes.add(node);
      pending.push(...nodeReads(node));
    }
  }
  g.nodes = g.nodes.filter((n) => liveNodes.has(n));
  for (const name of [...g.initializers.keys()]) if (!liveValues.has(name)) g.initializers.delete(name);
  for (const name of [...g.valueInfo.keys()]) if (!liveValues.has(name)) g.valueInfo.delete(name);
  if (options.pruneInputs) g.inputs = g.inputs.filter((i) => liveValues.has(i.name));
  return out;
}
