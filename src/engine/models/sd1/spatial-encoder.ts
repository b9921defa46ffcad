// The spatial encoder E for SD 1.x folders (METHOD.md, spatial anomaly embedding). An SD export
// has no E of its own, so DefectForge defines one: the built-in model's pyramid encoder
// (tiny-ldm/spatial-encoder.ts) at a small fixed input size, ending in n tokens of the text
// encoder's embedding width. The graph is a pure function of (token width, token scale, opset,
// batch), so an artifact only stores E's trained weights by name and synthesis rebuilds the same
// graph around them.
//
// Input: the mask resized to SIDE x SIDE (a cell is defect when any pixel of it is, so a thin
// defect never vanishes), mapped to [-1, 1]. The encoder ends in one linear layer per token whose
// outputs are O(1) at initialisation, while CLIP's token embeddings are much smaller (SD 1.5:
// about 0.014 per element); the tokens are multiplied by the embedding table's RMS so e_s starts
// at the scale the text encoder was trained on.

import { GraphBuilder } from '../../onnx/builder';
import type { Model, OpsetImport } from '../../onnx/ir';
import { mul, Net } from '../../nn';
import { spatialEncoder } from '../tiny-ldm/spatial-encoder';
import type { SpatialEncoderConfig } from '../tiny-ldm/config';
import type { Size2 } from '../types';

/** E reads the mask at SIDE x SIDE (a power of two >= 16, as the pyramid needs) */
export const SD1_ENCODER_SIDE = 64;
/** n: spatial tokens (METHOD.md) */
export const SD1_SPATIAL_TOKENS = 4;
/** k: anomaly tokens (METHOD.md, the paper's figure) */
export const SD1_ANOMALY_TOKENS = 8;
const CONFIG: SpatialEncoderConfig = { tapChannels: [8, 16, 16], fusedChannels: 16, groups: 4 };
/** initialisation seed of E's weights: fixed, so every project starts from the same E */
const SEED = 0x5d1e5;

export interface Sd1EncoderSpec {
  tokenWidth: number;
  /** the RMS of the token-embedding table (see the file comment) */
  tokenScale: number;
  /** the opset imports of the graph E will be embedded in (the text encoder's / UNet's) */
  opsetImports: OpsetImport[];
  batch: number;
}

/** E as an ONNX graph: input 'mask' [batch, 1, SIDE, SIDE] in [-1, 1], output 'tokens' [batch, n, width]. */
export function buildSd1SpatialEncoder(spec: Sd1EncoderSpec): Model {
  const b = new GraphBuilder('sd1_spatial_encoder', { opsetImports: spec.opsetImports.map((o) => ({ ...o })) });
  const net = new Net(b, SEED);
  const shape = [spec.batch, 1, SD1_ENCODER_SIDE, SD1_ENCODER_SIDE];
  const mask = { name: b.input('mask', 'float32', shape), shape };
  const raw = spatialEncoder(net, mask, CONFIG, SD1_SPATIAL_TOKENS, spec.tokenWidth);
  const tokens = mul(net, raw, { name: b.scalar(spec.tokenScale), shape: [] });
  b.output(tokens.name, 'tokens', { dtype: 'float32', shape: raw.shape });
  return b.toModel({ docString: 'DefectForge spatial encoder for SD 1.x (mask in [-1,1] -> spatial tokens at the token-embedding scale)' });
}

/** RMS of a token-embedding table (all rows). */
export function tableRms(table: Float32Array): number {
  let sum = 0;
  for (const v of table) sum += v * v;
  return Math.sqrt(sum / Math.max(1, table.length)) || 1;
}

/**
 * A pixel mask (0 / non-zero, image size) as E's input: SIDE x SIDE, +1 where any pixel of the
 * cell is defect, else -1. Cells are the image split evenly (the image need not be square).
 */
export function encoderMaskInput(mask: ArrayLike<number>, image: Size2): Float32Array {
  const { width: W, height: H } = image;
  if (mask.length !== W * H) throw new RangeError(`mask has ${mask.length} pixels; the image is ${W}x${H}`);
  const S = SD1_ENCODER_SIDE;
  // cell c covers pixels [floor(c N / S), ceil((c + 1) N / S)): at least one pixel, also when N < S
  const span = (c: number, n: number): [number, number] => {
    const lo = Math.min(n - 1, Math.floor((c * n) / S));
    return [lo, Math.max(lo + 1, Math.ceil(((c + 1) * n) / S))];
  };
  const out = new Float32Array(S * S);
  for (let cy = 0; cy < S; cy++) {
    const [y0, y1] = span(cy, H);
    for (let cx = 0; cx < S; cx++) {
      const [x0, x1] = span(cx, W);
      let hit = false;
      for (let y = y0; y < y1 && !hit; y++) for (let x = x0; x < x1 && !hit; x++) hit = mask[y * W + x]! > 0;
      out[cy * S + cx] = hit ? 1 : -1;
    }
  }
  return out;
}
