// The NCHWc lowering of fed-weight convs (onnx/passes/nchwc-convs.ts) and its use by the trainer
// (autodiff/cpu-kernels.ts): every lowered geometry computes what the standard Conv does, convs
// it must leave alone are left alone, and a wrong filter layout is caught.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { composeTraining } from '../../../../src/engine/autodiff/composer';
import { nchwcBlockSize } from '../../../../src/engine/autodiff/cpu-kernels';
import { Adam } from '../../../../src/engine/autodiff/optim';
import { GraphBuilder, type AttrInput } from '../../../../src/engine/onnx/builder';
import type { Model } from '../../../../src/engine/onnx/ir';
import { lowerConvsToNchwc, NCHWC_DOMAIN } from '../../../../src/engine/onnx/passes/nchwc-convs';
import type { HostTensor } from '../../../../src/engine/runtime';
import { Rng } from '../../../../src/shared/random';
import { assertClose, randomFeed, runModel } from './helpers';

/** Where MLAS has NCHWc kernels (x86-64 with AVX2 or AVX-512F), the probe must find them. */
function cpuHasNchwc(): boolean {
  if (process.arch !== 'x64') return false;
  try {
    return /\bavx2\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

async function blockSize(): Promise<number> {
  const size = await nchwcBlockSize();
  if (size === undefined) assert.ok(!cpuHasNchwc(), 'this CPU has AVX2: the NCHWc probe should have found MLAS block kernels');
  return size ?? 0;
}

const lowered = (m: Model): number => m.graph.nodes.filter((n) => n.domain === NCHWC_DOMAIN && n.opType === 'Conv').length;

interface ConvCase {
  name: string;
  /** [N, C, H, W] */
  x: (block: number) => number[];
  /** [O, kh, kw] */
  w: (block: number) => number[];
  attrs: Record<string, AttrInput>;
  bias: boolean;
}

const cases: ConvCase[] = [
  { name: 'C = O = one block, 3x3 pads 1', x: (B) => [2, B, 6, 7], w: (B) => [B, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { name: 'C two blocks, O padded up to a block, stride 2', x: (B) => [1, 2 * B, 9, 8], w: (B) => [B + 4, 3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] }, bias: true },
  { name: 'RGB input (C = 3 < block: the NCHW filter layout)', x: () => [2, 3, 8, 8], w: () => [8, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { name: 'C = 5 < block, stride 2, no bias', x: () => [1, 5, 7, 9], w: () => [6, 3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] }, bias: false },
  { name: '1x1 to 4 channels (the UNet conv_out)', x: (B) => [2, B, 5, 5], w: () => [4, 1, 1], attrs: {}, bias: true },
  { name: 'dilation 2, asymmetric pads, 2x3 kernel', x: (B) => [1, B, 7, 8], w: (B) => [B, 2, 3], attrs: { pads: [0, 2, 2, 1], dilations: [2, 2] }, bias: false },
];

for (const c of cases) {
  test(`a lowered fed-weight Conv equals the standard Conv: ${c.name}`, async (t) => {
    const block = await blockSize();
    if (!block) return t.skip('no NCHWc kernels on this CPU');
    const xShape = c.x(block);
    const [o, kh, kw] = c.w(block) as [number, number, number];
    const wShape = [o, xShape[1]!, kh, kw];
    const b = new GraphBuilder('conv');
    const inputs = [b.input('x', 'float32', xShape), b.input('w', 'float32', wShape)];
    if (c.bias) inputs.push(b.input('bias', 'float32', [o]));
    b.output(b.op('Conv', inputs, c.attrs), 'y');
    const model = b.toModel();
    const rng = new Rng(11);
    const feeds: Record<string, HostTensor> = { x: randomFeed(rng, xShape), w: randomFeed(rng, wShape, 0.3) };
    if (c.bias) feeds.bias = randomFeed(rng, [o]);
    const nchwc = lowerConvsToNchwc(model, block);
    assert.equal(lowered(nchwc), 1, 'the Conv is lowered');
    assert.equal(nchwc.graph.nodes.some((n) => n.opType === 'ReorderInput'), xShape[1]! >= block, 'blocked input exactly when C is a whole number of blocks');
    const want = await runModel(model, feeds);
    const got = await runModel(nchwc, feeds);
    assert.deepEqual(got.y!.dims, want.y!.dims);
    assertClose(got.y!.data as Float32Array, want.y!.data as Float32Array, 1e-5, c.name);
  });
}

test('convs the NCHWc kernels must not take are left alone', async (t) => {
  const block = await blockSize();
  if (!block) return t.skip('no NCHWc kernels on this CPU');
  const rng = new Rng(2);
  const unchanged = (name: string, build: (b: GraphBuilder) => string): void => {
    const b = new GraphBuilder(name);
    b.output(build(b), 'y');
    const model = b.toModel();
    assert.equal(lowerConvsToNchwc(model, block), model, `${name}: the model comes back as it was`);
  };
  const x = (b: GraphBuilder, c: number, dims = [1, c, 6, 6]): string => b.input('x', 'float32', dims);
  unchanged('initializer weights (ORT reorders those itself)', (b) => b.op('Conv', [x(b, block), b.param('w', [block, block, 3, 3], rng.normals(block * block * 9))], { pads: [1, 1, 1, 1] }));
  unchanged('weights computed from initializers (folded by ORT)', (b) => b.op('Conv', [x(b, block), b.op('Neg', [b.param('w', [block, block, 3, 3], rng.normals(block * block * 9))])]));
  unchanged('groups', (b) => b.op('Conv', [x(b, 2 * block), b.input('w', 'float32', [2 * block, block, 3, 3])], { group: 2 }));
  unchanged('1-D', (b) => b.op('Conv', [x(b, block, [1, block, 9]), b.input('w', 'float32', [block, block, 3])]));
  unchanged('channels neither below nor a multiple of the block', (b) => b.op('Conv', [x(b, block + 4), b.input('w', 'float32', [block, block + 4, 3, 3])]));
  unchanged('auto_pad', (b) => b.op('Conv', [x(b, block), b.input('w', 'float32', [block, block, 3, 3])], { auto_pad: 'SAME_UPPER' }));
  unchanged('float64', (b) => b.op('Conv', [b.input('x', 'float64', [1, block, 6, 6]), b.input('w', 'float64', [block, block, 3, 3])]));
});

test('the filter layout matters: lowering for the wrong block size does not reproduce the Conv', async (t) => {
  const block = await blockSize();
  if (!block) return t.skip('no NCHWc kernels on this CPU');
  // a layout for blocks of half the size, read by kernels that use `block`
  const half = block / 2;
  const b = new GraphBuilder('conv');
  b.output(b.op('Conv', [b.input('x', 'float32', [1, block, 6, 6]), b.input('w', 'float32', [block, block, 3, 3])], { pads: [1, 1, 1, 1] }), 'y');
  const model = b.toModel();
  const rng = new Rng(4);
  const feeds = { x: randomFeed(rng, [1, block, 6, 6]), w: randomFeed(rng, [block, block, 3, 3]) };
  const want = (await runModel(model, feeds)).y!.data as Float32Array;
  let worst = 0;
  try {
    const got = (await runModel(lowerConvsToNchwc(model, half), feeds)).y!.data as Float32Array;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  } catch {
    worst = Infinity; // ORT refused the shapes: as good a catch
  }
  assert.ok(worst > 0.1, `a wrong layout must be visible (max difference ${worst})`);
});

test('the trainer runs fed-weight convs on NCHWc kernels on CPU, with the gradients of the standard convs', async (t) => {
  const block = await blockSize();
  if (!block) return t.skip('no NCHWc kernels on this CPU');
  // two convs with a SiLU between: the forward convs and the second one's flipped dX conv are lowered
  const b = new GraphBuilder('two convs');
  const x = b.input('x', 'float32', [2, 3, 8, 8]);
  const rng = new Rng(5);
  const w1 = b.param('w1', [block, 3, 3, 3], rng.normals(block * 27, 0.3));
  const w2 = b.param('w2', [4, block, 3, 3], rng.normals(4 * block * 9, 0.2));
  const h = b.op('Conv', [x, w1], { pads: [1, 1, 1, 1] });
  const y = b.op('Conv', [b.op('Mul', [h, b.op('Sigmoid', [h])]), w2], { pads: [1, 1, 1, 1] });
  b.output(b.op('ReduceMean', [b.op('Mul', [y, y])], { keepdims: 0 }), 'loss', { dtype: 'float32', shape: [] });
  const model = b.toModel();
  const batch = { x: randomFeed(new Rng(6), [2, 3, 8, 8]) };
  const grads = async (kernels: 'nchwc' | 'standard') => {
    const trainer = await composeTraining(model, { loss: 'loss', train: ['w1', 'w2'], optimizer: new Adam({ lr: 1e-3 }), session: { provider: 'cpu' }, cpuConvKernels: kernels });
    try {
      return { lowered: lowered(trainer.trainingModel), result: await trainer.gradients(batch) };
    } finally {
      await trainer.release();
    }
  };
  const fast = await grads('nchwc');
  const standard = await grads('standard');
  assert.equal(standard.lowered, 0, "'standard' keeps every Conv");
  assert.equal(fast.lowered, 3, 'both forward convs and the flipped dX conv of w2 (w1 needs no dX)');
  assert.ok(Math.abs(fast.result.loss - standard.result.loss) <= 1e-6 * Math.abs(standard.result.loss));
  for (const name of ['w1', 'w2']) assertClose(fast.result.grads.get(name)!, standard.result.grads.get(name)!, 1e-5, `d loss / d ${name}`);
});
