// The tiny LDM's denoiser: an eps-prediction UNet over the latent grid, conditioned on the
// context tokens through cross-attention at the grids in `attentionAt`.
//
//   temb = TimestepEmbedding(t)                 (sinusoidal -> Linear -> SiLU -> Linear)
//   h = conv_in(z_t)                            (maskInput: conv_in(concat(z_t, S2D(m))), below)
//   down level i (grid G / 2^i): ResBlock(c_i, temb) [+ cross-attn] -> skip_i -> stride-2 conv
//   mid (grid G / 2^L):          ResBlock, ResBlock
//   up level i (reverse):        nearest x2, concat skip_i, ResBlock(c_i, temb) [+ cross-attn]
//   eps = conv_out(SiLU(GN(h)))
//
// Adaptive attention re-weighting (METHOD.md, AAR; manifest.ts): inputs aar_weight [B, h*w] on
// the latent grid and aar_columns [B, L]. For each attention grid g the weight is average-pooled
// to g x g and the attention probabilities P [B, heads, g*g, L] are multiplied by
//   factor[b, n, l] = 1 + cols[b, l] * (w_g[b, n] - 1)
// so columns with cols = 0 (or w = 1) are untouched. Pretraining builds the UNet without AAR
// (factor = 1); the exported graph has the inputs, with the same weights.
//
// Mask input (UNetConfig.maskInput; beyond the paper, as SD's inpainting UNet takes its mask): the
// defect mask m [B, 1, S, S] (1 = defect, 0 elsewhere and when no mask is given) enters conv_in
// at full resolution, rearranged space-to-depth into f*f channels on the latent grid (f = S / G):
//   S2D(m)[b, dy*f + dx, y, x] = m[b, 0, y*f + dy, x*f + dx]
// The spatial tokens say roughly where the defect is; an 8x8 latent cell holds a 1-2 px scratch
// somewhere inside it, and only the pixel mask says where, so thin defects can be drawn on it.
//
// Family embedding (UNetConfig.familyEmbedding; ADM's class-conditional embedding, Dhariwal &
// Nichol 2021): the family slot's token c_0 = context[:, 0, :] also shifts the timestep embedding,
//   temb = TimestepEmbedding(t) + Linear(c_0)
// so every ResBlock sees the family, whatever share of the cross-attention the other 12 slots
// take. Measured on the v3 UNet (cross-attention only): the family slot held 0.01-0.08 of the
// attention in three of its four layers, and x0-hat at t = 961 had the same colour for every
// family. The input stays the context: the embedding reads the slot the context already has.

import { add, conv2d, downsample, groupNorm, linear, resBlock, silu, spatialAttention, timestepEmbedding, upsampleNearest2x, type Net, type Value } from '../../nn';
import { emitAarFactor } from '../builtin/aar-inputs';
import type { UNetConfig } from './config';

export const UNET_PREFIX = 'unet';

export interface UNetInputs {
  /** z_t [B, C, G, G] (scaled latents) */
  sample: Value;
  /** [B] float timesteps */
  timestep: Value;
  /** [B, L, W] context tokens */
  context: Value;
  aar?: { weight: Value; columns: Value };
  /** [B, 1, S, S] defect mask in {0, 1}; required exactly when the config has maskInput */
  mask?: Value;
}

/**
 * S2D(m) of the file comment: [B, 1, S, S] -> [B, f*f, S/f, S/f], as ONNX SpaceToDepth lays it
 * out (channel (dy*f + dx)*C + c, here C = 1). One SpaceToDepth node: the same values as a
 * Reshape + 5-D Transpose + Reshape (the layout packages before session 6 were exported with;
 * the weights of either read the same channels) at a fifth of the cost (0.15 against 0.73 ms of
 * a CFG step at batch 2, ORT 1.30 CPU).
 */
export function maskToLatentChannels(net: Net, mask: Value, grid: number): Value {
  const [batch, channels, size, width] = mask.shape as [number, number, number, number];
  if (channels !== 1 || size !== width || size % grid !== 0) throw new Error(`tiny LDM UNet: mask '${mask.name}' must be [${batch}, 1, S, S] with S a multiple of the latent grid ${grid}, got [${mask.shape}]`);
  const f = size / grid;
  return net.op('SpaceToDepth', [mask.name], [batch, f * f, grid, grid], { blocksize: f });
}

/** The multiplicative attention factor [B, 1, g*g, L] for one attention grid g (builtin/aar-inputs). */
function aarFactor(net: Net, aar: { weight: Value; columns: Value }, latent: number, grid: number): Value {
  const [batch] = aar.weight.shape as [number];
  const length = aar.columns.shape[1]!;
  const name = emitAarFactor(net.b, aar.weight.name, aar.columns.name, { latent: { width: latent, height: latent }, contextLength: length }, { width: grid, height: grid });
  return { name, shape: [batch, 1, grid * grid, length] };
}

/** Linear(c_0): the family slot's token [B, W] -> [B, outDim] (file comment, "Family embedding"). */
function familyEmbedding(net: Net, context: Value, outDim: number): Value {
  const [batch, , width] = context.shape as [number, number, number];
  const slot = net.slice(context, 1, 0, 1);
  return linear(net, `${UNET_PREFIX}.family_embedding`, net.reshape(slot, [batch, width]), outDim);
}

export function tinyLdmUNet(net: Net, inputs: UNetInputs, cfg: UNetConfig): Value {
  const p = UNET_PREFIX;
  const { sample, timestep, context } = inputs;
  const [batch, latentChannels, grid] = sample.shape as [number, number, number, number];
  const { channels, groups, heads } = cfg;
  const levels = channels.length;
  if (grid % 2 ** levels !== 0) throw new Error(`tiny LDM UNet: latent grid ${grid} is not divisible by 2^${levels}`);
  const grids = Array.from({ length: levels + 1 }, (_, i) => grid / 2 ** i);
  for (const g of cfg.attentionAt) if (!grids.includes(g)) throw new Error(`tiny LDM UNet: no level has the attention grid ${g} (levels: ${grids.join(', ')})`);
  if (context.shape[0] !== batch) throw new Error(`tiny LDM UNet: context '${context.name}' [${context.shape}] and sample [${sample.shape}] differ in batch`);
  if (inputs.aar) {
    const { weight, columns } = inputs.aar;
    if (weight.shape.join(',') !== [batch, grid * grid].join(',')) throw new Error(`tiny LDM UNet: aar_weight must be [${batch}, ${grid * grid}], got [${weight.shape}]`);
    if (columns.shape.join(',') !== [batch, context.shape[1]].join(',')) throw new Error(`tiny LDM UNet: aar_columns must be [${batch}, ${context.shape[1]}], got [${columns.shape}]`);
  }
  const factors = new Map<number, Value>();
  const attend = (name: string, h: Value): Value => {
    const g = h.shape[2]!;
    if (!cfg.attentionAt.includes(g)) return h;
    let reweight: Value | undefined;
    if (inputs.aar) {
      if (!factors.has(g)) factors.set(g, aarFactor(net, inputs.aar, grid, g));
      reweight = factors.get(g);
    }
    return spatialAttention(net, name, h, context, { groups, heads, ...(reweight ? { reweight } : {}) });
  };

  if (Boolean(cfg.maskInput) !== Boolean(inputs.mask)) throw new Error(`tiny LDM UNet: ${cfg.maskInput ? 'the config has maskInput but no mask was given' : 'a mask was given to a UNet config without maskInput'}`);
  let input = sample;
  if (inputs.mask) {
    if (inputs.mask.shape[0] !== batch) throw new Error(`tiny LDM UNet: mask '${inputs.mask.name}' [${inputs.mask.shape}] and sample [${sample.shape}] differ in batch`);
    const maskChannels = maskToLatentChannels(net, inputs.mask, grid);
    input = net.op('Concat', [sample.name, maskChannels.name], [batch, latentChannels + maskChannels.shape[1]!, grid, grid], { axis: 1 });
  }

  const ch0 = channels[0]!;
  let temb = timestepEmbedding(net, `${p}.time_embedding`, timestep, ch0, 4 * ch0);
  if (cfg.familyEmbedding) temb = add(net, temb, familyEmbedding(net, context, temb.shape[1]!));
  let h = conv2d(net, `${p}.conv_in`, input, ch0);
  const skips: Value[] = [];
  channels.forEach((ch, i) => {
    h = resBlock(net, `${p}.down${i}.res`, h, ch, { groups, temb });
    h = attend(`${p}.down${i}.attn`, h);
    skips.push(h);
    h = downsample(net, `${p}.down${i}.downsample`, h);
  });
  const midCh = channels[levels - 1]!;
  h = resBlock(net, `${p}.mid.res1`, h, midCh, { groups, temb });
  h = attend(`${p}.mid.attn`, h);
  h = resBlock(net, `${p}.mid.res2`, h, midCh, { groups, temb });
  for (let i = levels - 1; i >= 0; i--) {
    const up = upsampleNearest2x(net, h);
    const skip = skips[i]!;
    const joined = net.op('Concat', [up.name, skip.name], [batch, up.shape[1]! + skip.shape[1]!, skip.shape[2]!, skip.shape[3]!], { axis: 1 });
    h = resBlock(net, `${p}.up${i}.res`, joined, channels[i]!, { groups, temb });
    h = attend(`${p}.up${i}.attn`, h);
  }
  return conv2d(net, `${p}.conv_out`, silu(net, groupNorm(net, `${p}.norm_out`, h, groups)), latentChannels);
}

