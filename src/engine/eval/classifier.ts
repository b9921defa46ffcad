// The defect-type classifier (METHOD.md, Evaluation: "classification of defect type as an
// extra"): trained on a generator's pairs only, tested on the real held-out defects. It sees the
// image and the defect's mask (4 input channels: it is told where the defect is and asked what
// it is), so it measures whether a generator's defects look like their type.
//
//   [conv3x3 -> ReLU] at full size, then two [stride-2 conv3x3 -> ReLU], global average pool,
//   linear -> K logits; loss = cross-entropy = -mean_b sum_k onehot_bk * log softmax(logits)_bk
// Adam, fixed step count, seeded batches with random mirroring. Prediction = argmax.
import { composeTraining } from '../autodiff/composer';
import { Adam } from '../autodiff/optim';
import { Net, conv2d, downsample, linear, type Value } from '../nn';
import { GraphBuilder } from '../onnx/builder';
import { encodeModel } from '../onnx/serialize';
import { createSession, type HostTensor } from '../runtime';
import { Rng } from '../../shared/random';
import { flipPair, type Mask, type Picture } from './picture';

export interface LabelledPair {
  picture: Picture;
  mask: Mask;
  /** index into the type list */
  label: number;
}

export interface ClassifierOptions {
  classes: number;
  width: number;
  height: number;
  channels: number;
  batch: number;
  steps: number;
  lr: number;
  seed: number;
}

export interface ClassifierResult {
  accuracy: number;
  /** confusion[true][predicted], counts */
  confusion: number[][];
  losses: number[];
}

function features(net: Net, x: Value, channels: number): Value {
  let h = net.op('Relu', [conv2d(net, 'c1', x, channels).name], [x.shape[0]!, channels, x.shape[2]!, x.shape[3]!]);
  for (const [name, ch] of [['c2', 2 * channels], ['c3', 4 * channels]] as const) {
    const d = downsample(net, name, h, ch);
    h = net.op('Relu', [d.name], d.shape);
  }
  const pooled = net.op('GlobalAveragePool', [h.name], [h.shape[0]!, h.shape[1]!, 1, 1]);
  return net.reshape(pooled, [h.shape[0]!, h.shape[1]!]);
}

function build(o: ClassifierOptions, batch: number, withLoss: boolean): { model: ReturnType<GraphBuilder['toModel']>; params: string[]; output: string } {
  const b = new GraphBuilder(withLoss ? 'type_classifier_train' : 'type_classifier');
  const net = new Net(b, o.seed);
  const shape = [batch, 4, o.height, o.width];
  const x: Value = { name: b.input('inputs', 'float32', shape), shape };
  const logits = linear(net, 'fc', features(net, x, o.channels), o.classes);
  if (!withLoss) {
    b.output(logits.name, 'logits', { dtype: 'float32', shape: [batch, o.classes] });
    return { model: b.toModel(), params: [...net.params], output: 'logits' };
  }
  const onehot = b.input('onehot', 'float32', [batch, o.classes]);
  const logp = b.op('LogSoftmax', [logits.name], { axis: 1 });
  const nll = b.op('Neg', [b.op('ReduceSum', [b.op('Mul', [logp, onehot]), b.ints([1])], { keepdims: 0 })]);
  b.output(b.op('ReduceMean', [nll], { keepdims: 0 }), 'loss', { dtype: 'float32', shape: [] });
  return { model: b.toModel(), params: [...net.params], output: 'loss' };
}

/** [B, 4, H, W]: RGB planes and the mask plane */
function inputs(items: readonly { picture: Picture; mask: Mask }[], o: ClassifierOptions): HostTensor {
  const plane = o.width * o.height;
  const data = new Float32Array(items.length * 4 * plane);
  items.forEach((it, b) => {
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) data[(b * 4 + c) * plane + i] = it.picture.data[i * 3 + c]! * 2 - 1;
      data[(b * 4 + 3) * plane + i] = it.mask.data[i]! ? 1 : -1;
    }
  });
  return { dtype: 'float32', dims: [items.length, 4, o.height, o.width], data };
}

export async function trainAndTestClassifier(train: readonly LabelledPair[], test: readonly LabelledPair[], o: ClassifierOptions): Promise<ClassifierResult> {
  const graph = build(o, o.batch, true);
  const trainer = await composeTraining(graph.model, { loss: 'loss', train: graph.params, optimizer: new Adam({ lr: o.lr }) });
  const rng = new Rng(o.seed);
  const losses: number[] = [];
  try {
    for (let step = 0; step < o.steps; step++) {
      const items: LabelledPair[] = [];
      for (let k = 0; k < o.batch; k++) {
        const it = train[rng.int(train.length)]!;
        items.push({ ...flipPair(it.picture, it.mask, rng.uniform() < 0.5, rng.uniform() < 0.5), label: it.label });
      }
      const onehot = new Float32Array(o.batch * o.classes);
      items.forEach((it, b) => (onehot[b * o.classes + it.label] = 1));
      const r = await trainer.step({ inputs: inputs(items, o), onehot: { dtype: 'float32', dims: [o.batch, o.classes], data: onehot } });
      losses.push(r.loss);
    }
    // the same network without the loss, batch 1, with the trained weights (same names)
    const infer = build(o, 1, false);
    for (const name of infer.params) infer.model.graph.initializers.set(name, { ...infer.model.graph.initializers.get(name)!, data: trainer.params.get(name)! });
    const session = await createSession(encodeModel(infer.model));
    const confusion = Array.from({ length: o.classes }, () => new Array<number>(o.classes).fill(0));
    let correct = 0;
    try {
      for (const it of test) {
        const out = (await session.run({ inputs: inputs([it], o) }))[infer.output]!.data as Float32Array;
        let best = 0;
        for (let k = 1; k < o.classes; k++) if (out[k]! > out[best]!) best = k;
        confusion[it.label]![best]!++;
        if (best === it.label) correct++;
      }
    } finally {
      await session.release();
    }
    return { accuracy: test.length ? correct / test.length : Number.NaN, confusion, losses };
  } finally {
    await trainer.release();
  }
}
