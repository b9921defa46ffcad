// The four standalone ONNX graphs of the built-in package (I/O names from manifest.ts), built
// from the same layer functions as the training graphs, so trained weights carry over by name.
//
// `packageGraphs` builds them at batch 1 with the trained weights and makes the batch symbolic
// (builtin/symbolic-batch: every Reshape here keeps the batch on axis 0).

import { GraphBuilder } from '../../onnx/builder';
import { symbolicBatch } from '../builtin/symbolic-batch';
import type { Model } from '../../onnx/ir';
import { Net, type Value } from '../../nn';
import { contextLength, latentSize, type TinyLdmConfig } from './config';
import { spatialEncoder } from './spatial-encoder';
import { tinyLdmUNet } from './unet';
import { vaeDecoder, vaeEncoder } from './vae';

export interface BuiltGraph {
  model: Model;
  /** trainable initializer names */
  params: string[];
}

function input(b: GraphBuilder, name: string, shape: number[]): Value {
  return { name: b.input(name, 'float32', shape), shape };
}

function finish(b: GraphBuilder, net: Net, out: Value, outName: string, doc: string): BuiltGraph {
  b.output(out.name, outName, { dtype: 'float32', shape: out.shape });
  return { model: b.toModel({ docString: doc }), params: [...net.params] };
}

export function buildVaeEncoderGraph(cfg: TinyLdmConfig, batch: number, size = cfg.imageSize): BuiltGraph {
  const b = new GraphBuilder('tiny_ldm_vae_encoder');
  const net = new Net(b, cfg.seed);
  const latent = vaeEncoder(net, input(b, 'image', [batch, 3, size, size]), cfg.vae);
  return finish(b, net, latent, 'latent', 'DefectForge tiny LDM: VAE encoder (image in [-1,1] -> unscaled latent)');
}

export function buildVaeDecoderGraph(cfg: TinyLdmConfig, batch: number, size = cfg.imageSize): BuiltGraph {
  const b = new GraphBuilder('tiny_ldm_vae_decoder');
  const net = new Net(b, cfg.seed);
  const g = size / 2 ** (cfg.vae.channels.length - 1);
  const raw = vaeDecoder(net, input(b, 'latent', [batch, cfg.vae.latentChannels, g, g]), cfg.vae);
  // the decoder is trained unbounded; the package promises images in [-1, 1]
  const image = net.op('Clip', [raw.name, b.scalar(-1), b.scalar(1)], raw.shape);
  return finish(b, net, image, 'image', 'DefectForge tiny LDM: VAE decoder (unscaled latent -> image in [-1,1])');
}

export function buildUNetGraph(cfg: TinyLdmConfig, batch: number, opts: { aar?: boolean } = {}): BuiltGraph {
  const b = new GraphBuilder('tiny_ldm_unet');
  const net = new Net(b, cfg.seed);
  const g = latentSize(cfg);
  const L = contextLength(cfg);
  const sample = input(b, 'sample', [batch, cfg.vae.latentChannels, g, g]);
  const timestep = input(b, 'timestep', [batch]);
  const context = input(b, 'context', [batch, L, cfg.tokenWidth]);
  const aar = opts.aar === false ? undefined : { weight: input(b, 'aar_weight', [batch, g * g]), columns: input(b, 'aar_columns', [batch, L]) };
  const mask = cfg.unet.maskInput ? input(b, 'mask', [batch, 1, cfg.imageSize, cfg.imageSize]) : undefined;
  const eps = tinyLdmUNet(net, { sample, timestep, context, ...(aar ? { aar } : {}), ...(mask ? { mask } : {}) }, cfg.unet);
  return finish(b, net, eps, 'eps', 'DefectForge tiny LDM: eps-prediction UNet with AAR inputs');
}

export function buildSpatialEncoderGraph(cfg: TinyLdmConfig, batch: number): BuiltGraph {
  const b = new GraphBuilder('tiny_ldm_spatial_encoder');
  const net = new Net(b, cfg.seed);
  const mask = input(b, 'mask', [batch, 1, cfg.imageSize, cfg.imageSize]);
  const tokens = spatialEncoder(net, mask, cfg.spatial, cfg.spatialTokens, cfg.tokenWidth);
  return finish(b, net, tokens, 'tokens', 'DefectForge tiny LDM: spatial encoder (mask in [-1,1] -> spatial tokens)');
}

/**
 * Writes trained values into a graph's initializers by name. Every trainable initializer must get
 * a value of the right size (a missing one would ship random weights silently).
 */
export function withWeights(built: BuiltGraph, weights: ReadonlyMap<string, Float32Array>, source: string): Model {
  const graph = { ...built.model.graph, initializers: new Map(built.model.graph.initializers) };
  for (const name of built.params) {
    const init = graph.initializers.get(name)!;
    const values = weights.get(name);
    if (!values) throw new Error(`${source}: no trained value for '${name}' of ${graph.name}`);
    const count = init.dims.reduce((a, d) => a * d, 1);
    if (values.length !== count) throw new Error(`${source}: '${name}' has ${values.length} values, ${graph.name} needs [${init.dims}] = ${count}`);
    graph.initializers.set(name, { ...init, data: values.slice() });
  }
  return { ...built.model, graph };
}

export interface PackageGraphs {
  vae_encoder: Model;
  vae_decoder: Model;
  unet: Model;
  spatial_encoder: Model;
}

/** The four package graphs with trained weights and a symbolic batch dimension. */
export function packageGraphs(cfg: TinyLdmConfig, weights: ReadonlyMap<string, Float32Array>, source: string): PackageGraphs {
  const make = (built: BuiltGraph): Model => symbolicBatch(withWeights(built, weights, source), 1);
  return {
    vae_encoder: make(buildVaeEncoderGraph(cfg, 1)),
    vae_decoder: make(buildVaeDecoderGraph(cfg, 1)),
    unet: make(buildUNetGraph(cfg, 1)),
    spatial_encoder: make(buildSpatialEncoderGraph(cfg, 1)),
  };
}
