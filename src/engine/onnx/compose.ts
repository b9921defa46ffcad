// Merging one ONNX graph into another: every node, value and initializer of the source gets a
// prefix (so two graphs with a 'conv_in.weight' each can live side by side), the source's graph
// inputs are bound to values of the target, and the source's outputs come back as the prefixed
// names they now have. The training graphs of few-shot learning are built this way: the spatial
// encoder E, then the frozen UNet, both embedded into one graph with the loss.

import type { GraphBuilder } from './builder';
import type { Model } from './ir';

export interface EmbedOptions {
  /** prepended to every name of the source: values, initializers and node names */
  prefix: string;
  /** source graph input -> the target value that feeds it; every source input must be bound */
  bind: Record<string, string>;
}

/**
 * Appends `source`'s nodes to the builder's graph (after the nodes already there, so a bound
 * value must already be produced) and copies its initializers under prefixed names. Returns
 * source output name -> the value's name in the target graph.
 */
export function embedGraph(b: GraphBuilder, source: Model, options: EmbedOptions): Record<string, string> {
  const g = source.graph;
  const where = `embedding graph '${g.name}' with prefix '${options.prefix}'`;
  const inputNames = new Set(g.inputs.map((i) => i.name));
  for (const name of Object.keys(options.bind)) {
    if (!inputNames.has(name)) throw new Error(`${where}: '${name}' is not an input (inputs: ${[...inputNames].join(', ')})`);
  }
  const unbound = g.inputs.filter((i) => !(i.name in options.bind) && !g.initializers.has(i.name));
  if (unbound.length) throw new Error(`${where}: inputs ${unbound.map((i) => `'${i.name}'`).join(', ')} are not bound`);
  // subgraphs (kept as raw attribute bytes) would still refer to the old names
  for (const node of g.nodes) {
    if (['If', 'Loop', 'Scan'].includes(node.opType)) throw new Error(`${where}: node '${node.name}' (${node.opType}) holds a subgraph; control flow is not supported`);
  }

  const renamed = new Map<string, string>();
  const rename = (name: string): string => {
    if (name === '') return ''; // an omitted optional input stays omitted
    const bound = options.bind[name];
    if (bound !== undefined) return bound;
    let out = renamed.get(name);
    if (out === undefined) {
      out = b.uniqueName(options.prefix + name);
      renamed.set(name, out);
    }
    return out;
  };
  const target = b.graph;
  for (const [name, tensor] of g.initializers) {
    if (name in options.bind) continue; // an initializer overridden by a bound input
    const newName = rename(name);
    target.initializers.set(newName, { ...tensor, name: newName });
  }
  for (const node of g.nodes) {
    target.nodes.push({
      ...node,
      name: b.uniqueName(options.prefix + (node.name || node.opType)),
      inputs: node.inputs.map(rename),
      outputs: node.outputs.map(rename),
    });
  }
  for (const [name, info] of g.valueInfo) {
    if (name in options.bind) continue;
    const newName = renamed.get(name);
    if (newName !== undefined) target.valueInfo.set(newName, { ...info, name: newName });
  }
  const outputs: Record<string, string> = {};
  for (const o of g.outputs) outputs[o.name] = rename(o.name);
  return outputs;
}
