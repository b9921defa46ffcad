// The downstream inspector: a small segmentation U-Net in the spirit of DRAEM's discriminative
// network (encoder-decoder with skip connections, two output channels: good / defect), built
// with the graph builder so the composer can train it.
//
//   level i (resolution H/2^i, channels base*2^i): [conv3x3 -> GroupNorm -> ReLU] x 2 -> skip_i
//   between levels: stride-2 conv3x3 (cheaper to differentiate than MaxPool)
//   decoder level i: nearest x2 upsample, concat skip_i, [conv3x3 -> GroupNorm -> ReLU] x 2
//   head: conv1x1 -> 2 logits per pixel
//
// Training graph (inputs images [B,3,H,W] in [0,1], masks [B,1,H,W] in {0,1}) ends in the focal
// loss (Lin et al. 2017, as DRAEM trains its discriminative network; gamma 2, no alpha):
//   p_t = softmax(logits)[true class];  FL = mean over pixels of -(1 - p_t)^gamma * log p_t
// The inference graph (images -> anomaly [B,1,H,W] = softmax(logits)[defect]) is the same
// network built with the same names, so trained parameters carry over by name.
import { GraphBuilder } from '../../onnx/builder';
import type { Model } from '../../onnx/ir';
import { Net, conv2d, downsample, groupNorm, upsampleNearest2x, type Value } from '../../nn';

export interface InspectorConfig {
  width: number;
  height: number;
  /** channels of the first level; level i has base * 2^i */
  base: number;
  /** resolution levels; width and height must be divisible by 2^(levels - 1) */
  levels: number;
  groups: number;
  seed: number;
}

export interface InspectorGraph {
  model: Model;
  params: string[];
  /** name of the scalar loss (training graph) or of the anomaly map (inference graph) */
  output: string;
}

export const INSPECTOR_INPUT = 'images';
export const INSPECTOR_MASK = 'masks';
export const FOCAL_GAMMA = 2;

export function checkInspectorConfig(c: InspectorConfig): void {
  const step = 2 ** (c.levels - 1);
  if (c.width % step !== 0 || c.height % step !== 0) {
    throw new Error(`inspector: ${c.width}x${c.height} is not divisible by 2^${c.levels - 1} (${c.levels} levels)`);
  }
  if (c.base % c.groups !== 0) throw new Error(`inspector: ${c.base} base channels do not split into ${c.groups} groups`);
}

function convBlock(net: Net, name: string, x: Value, channels: number, groups: number): Value {
  let h = x;
  for (const k of [1, 2]) {
    h = conv2d(net, `${name}.conv${k}`, h, channels);
    h = groupNorm(net, `${name}.norm${k}`, h, groups);
    h = net.op('Relu', [h.name], h.shape);
  }
  return h;
}

/** logits [B, 2, H, W] of the U-Net on `images` */
function unet(net: Net, images: Value, c: InspectorConfig): Value {
  const skips: Value[] = [];
  // inputs in [0, 1] centred to [-1, 1]
  let h = net.op('Sub', [net.op('Mul', [images.name, net.b.scalar(2)], images.shape).name, net.b.scalar(1)], images.shape);
  for (let i = 0; i < c.levels; i++) {
    if (i > 0) h = downsample(net, `down${i}`, h, c.base * 2 ** i);
    h = convBlock(net, `enc${i}`, h, c.base * 2 ** i, c.groups);
    skips.push(h);
  }
  for (let i = c.levels - 2; i >= 0; i--) {
    const up = upsampleNearest2x(net, h);
    const skip = skips[i]!;
    const joined = net.op('Concat', [up.name, skip.name], [up.shape[0]!, up.shape[1]! + skip.shape[1]!, skip.shape[2]!, skip.shape[3]!], { axis: 1 });
    h = convBlock(net, `dec${i}`, joined, c.base * 2 ** i, c.groups);
  }
  return conv2d(net, 'head', h, 2, { kernel: 1 });
}

export function buildInspectorTraining(c: InspectorConfig, batch: number): InspectorGraph {
  checkInspectorConfig(c);
  const b = new GraphBuilder('inspector_train');
  const net = new Net(b, c.seed);
  const imageShape = [batch, 3, c.height, c.width];
  const maskShape = [batch, 1, c.height, c.width];
  const images: Value = { name: b.input(INSPECTOR_INPUT, 'float32', imageShape), shape: imageShape };
  const mask = b.input(INSPECTOR_MASK, 'float32', maskShape);
  const logits = unet(net, images, c);
  // one-hot target [1 - m, m] and the log-probability of the true class
  const target = b.op('Concat', [b.op('Sub', [b.scalar(1), mask]), mask], { axis: 1 });
  const logProbs = b.op('LogSoftmax', [logits.name], { axis: 1 });
  const logPt = b.op('ReduceSum', [b.op('Mul', [logProbs, target]), b.ints([1])], { keepdims: 1 });
  const miss = b.op('Sub', [b.scalar(1), b.op('Exp', [logPt])]);
  const focal = b.op('Neg', [b.op('Mul', [b.op('Mul', [miss, miss]), logPt])]);
  b.output(b.op('ReduceMean', [focal], { keepdims: 0 }), 'loss', { dtype: 'float32', shape: [] });
  return { model: b.toModel({ docString: 'DefectForge inspector (training, focal loss)' }), params: [...net.params], output: 'loss' };
}

export function buildInspectorInference(c: InspectorConfig, batch: number): InspectorGraph {
  checkInspectorConfig(c);
  const b = new GraphBuilder('inspector');
  const net = new Net(b, c.seed);
  const imageShape = [batch, 3, c.height, c.width];
  const images: Value = { name: b.input(INSPECTOR_INPUT, 'float32', imageShape), shape: imageShape };
  const logits = unet(net, images, c);
  const probs = b.op('Softmax', [logits.name], { axis: 1 });
  const defect = b.op('Slice', [probs, b.ints([1]), b.ints([2]), b.ints([1])]);
  b.output(defect, 'anomaly', { dtype: 'float32', shape: [batch, 1, c.height, c.width] });
  return { model: b.toModel({ docString: 'DefectForge inspector (inference)' }), params: [...net.params], output: 'anomaly' };
}
