// The ONE forward graph of product adaptation that the training composer differentiates:
//
//   unet_loss = mean (eps - UNet(sqrt(abar_t) z_0 + sqrt(1 - abar_t) eps, t, <null> context))^2
//               (the plain diffusion loss on normal images: the unconditional context, '<null>' in
//               every slot, is what the package's prior answers without a defect condition)
//   vae_loss  = mean | Decoder(z_0 / scale) - image |              (L1 reconstruction, [-1, 1])
//   loss      = unet_loss + decoderWeight * vae_loss
// The two terms share no parameter, so the gradient of the sum is each term's own gradient and one
// Adam (per-parameter) trains both. The UNet part is the textual-inversion graph with no trained
// tokens and no mask (anomaly/inversion-graph.ts); the decoder is embedded beside it.

import { GraphBuilder } from '../onnx/builder';
import { embedGraph } from '../onnx/compose';
import type { Model } from '../onnx/ir';
import { specialiseShapes } from '../onnx/passes/specialise-shapes';
import type { PredictionType } from '../diffusion/schedule';
import { buildInversionGraph, noisingInputs } from '../anomaly/inversion-graph';

export interface AdaptGraphSpec {
  /** the UNet to train (with LoRA factors as initializers in 'lora' mode), float32 weights */
  unet: Model;
  /** the VAE decoder, float32 weights (input latent [B,C,h,w] unscaled, output image) */
  decoder: Model;
  batch: number;
  latent: { channels: number; width: number; height: number; scale: number };
  image: { width: number; height: number };
  tokenWidth: number;
  /** the '<null>' row repeated over the whole context: [contextLength * tokenWidth] */
  nullContext: Float32Array;
  decoderWeight: number;
  predictionType: PredictionType;
}

export interface AdaptGraph {
  model: Model;
  /** UNet initializer name -> its name in the training graph */
  unetNames: Map<string, string>;
  /** decoder initializer name -> its name in the training graph */
  decoderNames: Map<string, string>;
}

const DIFFUSION_PREFIX = 'diffusion/';
const UNET_PREFIX = 'unet/'; // inversion-graph.ts's prefix for the embedded UNet
const DECODER_PREFIX = 'decoder/';

export function buildAdaptGraph(spec: AdaptGraphSpec): AdaptGraph {
  const B = spec.batch;
  const { channels: C, width: w, height: h } = spec.latent;
  const diffusion = buildInversionGraph({
    unet: spec.unet,
    batch: B,
    latent: { channels: C, width: w, height: h },
    image: spec.image,
    tokenWidth: spec.tokenWidth,
    segments: [{ kind: 'fixed', rows: spec.nullContext }],
    maskedLoss: false,
    predictionType: spec.predictionType,
  });
  const b = new GraphBuilder('product_adaptation', { opsetImports: spec.unet.opsetImports.map((o) => ({ ...o })) });
  const latentShape = [B, C, h, w];
  const { z0, noise, sqrtAbar, sqrtOneMinus, timestep } = noisingInputs(b, latentShape);
  const image = b.input('image', 'float32', [B, 3, spec.image.height, spec.image.width]);

  const diffusionOut = embedGraph(b, diffusion.model, {
    prefix: DIFFUSION_PREFIX,
    bind: { z0, noise, sqrt_abar: sqrtAbar, sqrt_one_minus_abar: sqrtOneMinus, timestep },
  });
  const unetLoss = b.op('Identity', [diffusionOut['loss']!], {}, { output: 'unet_loss' });

  const decoder = specialiseShapes(spec.decoder, { latent: latentShape });
  const unscaled = b.op('Mul', [z0, b.scalar(1 / spec.latent.scale)]);
  const decoderOut = embedGraph(b, decoder, { prefix: DECODER_PREFIX, bind: { latent: unscaled } });
  const reconstruction = decoderOut['image'];
  if (!reconstruction) throw new Error(`VAE decoder '${spec.decoder.graph.name}' has no output 'image'`);
  const vaeLoss = b.op('ReduceMean', [b.op('Abs', [b.op('Sub', [reconstruction, image])])], { keepdims: 0 }, { output: 'vae_loss' });
  const loss = b.op('Add', [unetLoss, b.op('Mul', [vaeLoss, b.scalar(spec.decoderWeight)])], {}, { output: 'loss' });
  b.output(loss, undefined, { dtype: 'float32', shape: [] });
  b.output(unetLoss, undefined, { dtype: 'float32', shape: [] });
  b.output(vaeLoss, undefined, { dtype: 'float32', shape: [] });

  const model = b.toModel({ docString: 'DefectForge product adaptation (diffusion loss + decoder reconstruction)' });
  const names = (source: Model, prefix: string): Map<string, string> => {
    const map = new Map<string, string>();
    for (const name of source.graph.initializers.keys()) {
      const inGraph = prefix + name;
      if (model.graph.initializers.has(inGraph)) map.set(name, inGraph);
    }
    return map;
  };
  return { model, unetNames: names(spec.unet, DIFFUSION_PREFIX + UNET_PREFIX), decoderNames: names(decoder, DECODER_PREFIX) };
}
