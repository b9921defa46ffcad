import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../../../src/engine/onnx/builder';
import type { Model } from '../../../../src/engine/onnx/ir';
import { AAR_COLUMNS, AAR_WEIGHT, findCrossAttentionSoftmax, insertAttentionReweight } from '../../../../src/engine/onnx/passes/insert-attention-reweight';
import { specialiseShapes } from '../../../../src/engine/onnx/passes/specialise-shapes';
import { attention, linear, Net, type Value } from '../../../../src/engine/nn';
import { float32ToHalf } from '../../../../src/engine/models/sd1/float16';
import type { HostTensor } from '../../../../src/engine/runtime';
import { Rng } from '../../../../src/shared/random';
import { attentionT } from '../../../fixtures/sd1/layers';
import { buildUNet, CONTEXT_LENGTH, LATENT_CHANNELS, TEXT_WIDTH } from '../../../fixtures/sd1/models';
import { toFloat16 } from '../../../fixtures/sd1/to-float16';
import { runModel } from '../../onnx/passes/helpers';

const GRID = 4;
const TOKENS = 5;
const WIDTH = 8;
const HEADS = 2;

/** tokens [B, (GRID/s)^2, WIDTH] from a [B, 1, GRID, GRID] sample, average-pooled by s */
function tokensAt(net: Net, sample: string, s: number, name: string): Value {
  const pooled = s === 1 ? sample : net.b.op('AveragePool', [sample], { kernel_shape: [s, s], strides: [s, s] });
  const flat = net.b.op('Transpose', [net.b.op('Reshape', [pooled, net.b.ints([0, 1, -1])])], { perm: [0, 2, 1] });
  const n = (GRID / s) ** 2;
  return linear(net, name, { name: flat, shape: [1, n, 1] }, WIDTH);
}

/**
 * Probs exposed as outputs: cross-attention at grid 4x4 (s = 1) and 2x2 (s = 2) in diffusers'
 * [B*heads, N, M] layout, plus a self-attention that must stay as it is.
 */
function batchHeadsGraph(): { model: Model; probs: { name: string; scale: number }[]; self: string } {
  const b = new GraphBuilder('probe_3d');
  const net = new Net(b, 4);
  const sample = b.input('sample', 'float32', ['batch', 1, GRID, GRID]);
  const context: Value = { name: b.input('encoder_hidden_states', 'float32', ['batch', TOKENS, WIDTH]), shape: [1, TOKENS, WIDTH] };
  const fine = tokensAt(net, sample, 1, 'fine');
  const softmaxCount = (): number => b.graph.nodes.filter((n) => n.opType === 'Softmax').length;
  const lastSoftmax = (): string => b.graph.nodes.filter((n) => n.opType === 'Softmax').at(-1)!.outputs[0]!;
  attentionT(net, 'cross_fine', fine, context, HEADS);
  const crossFine = lastSoftmax();
  attentionT(net, 'cross_coarse', tokensAt(net, sample, 2, 'coarse'), context, HEADS);
  const crossCoarse = lastSoftmax();
  attentionT(net, 'self', fine, undefined, HEADS);
  const self = lastSoftmax();
  assert.equal(softmaxCount(), 3);
  for (const p of [crossFine, crossCoarse, self]) b.output(p, undefined, { dtype: 'float32', shape: undefined });
  return { model: b.toModel(), probs: [{ name: crossFine, scale: 1 }, { name: crossCoarse, scale: 2 }], self };
}

/** P * (1 + cols (x) (w pooled by s - 1)) in float64, probs laid out [B, heads, N, M] (flattened either way) */
function expectedWeighted(p: Float32Array, w: Float32Array, cols: Float32Array, batch: number, s: number): Float64Array {
  const side = GRID / s;
  const n = side * side;
  const out = new Float64Array(p.length);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < HEADS; h++) {
      for (let q = 0; q < n; q++) {
        const [qy, qx] = [Math.floor(q / side), q % side];
        let mean = 0;
        for (let dy = 0; dy < s; dy++) for (let dx = 0; dx < s; dx++) mean += w[b * GRID * GRID + (qy * s + dy) * GRID + qx * s + dx]!;
        mean /= s * s;
        for (let m = 0; m < TOKENS; m++) {
          const k = ((b * HEADS + h) * n + q) * TOKENS + m;
          out[k] = p[k]! * (1 + cols[b * TOKENS + m]! * (mean - 1));
        }
      }
    }
  }
  return out;
}

function assertMatches(actual: Float32Array, expected: Float64Array, label: string): void {
  assert.equal(actual.length, expected.length, label);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= 1e-6 * (1 + Math.abs(expected[i]!)), `${label}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

function aarFeeds(rng: Rng, batch: number): { w: Float32Array; cols: Float32Array } {
  const w = rng.uniforms(batch * GRID * GRID, 0.5, 2);
  const cols = Float32Array.from({ length: batch * TOKENS }, (_, i) => (i % TOKENS === 1 || i % TOKENS === 2 || i === TOKENS + 4 ? 1 : 0));
  return { w, cols };
}

test('cross-attention probabilities in [B*heads, N, M] change exactly as the AAR formula says; self-attention does not', async () => {
  const { model, probs, self } = batchHeadsGraph();
  const batch = 2;
  const { model: weighted, layers } = insertAttentionReweight(model, { probeShapes: { sample: [1, 1, GRID, GRID], encoder_hidden_states: [1, TOKENS, WIDTH] } });
  assert.deepEqual(layers.map((l) => [l.grid.width, l.scale, l.heads, l.layout]), [[4, 1, 2, 'batch-heads'], [2, 2, 2, 'batch-heads']]);
  assert.deepEqual(weighted.graph.inputs.find((i) => i.name === AAR_WEIGHT)?.shape, ['batch', GRID * GRID]);
  const rng = new Rng(21);
  const base: Record<string, HostTensor> = {
    sample: { dtype: 'float32', dims: [batch, 1, GRID, GRID], data: rng.normals(batch * GRID * GRID) },
    encoder_hidden_states: { dtype: 'float32', dims: [batch, TOKENS, WIDTH], data: rng.normals(batch * TOKENS * WIDTH) },
  };
  const { w, cols } = aarFeeds(rng, batch);
  const before = await runModel(model, base);
  const after = await runModel(weighted, { ...base, [AAR_WEIGHT]: { dtype: 'float32', dims: [batch, GRID * GRID], data: w }, [AAR_COLUMNS]: { dtype: 'float32', dims: [batch, TOKENS], data: cols } });
  for (const { name, scale } of probs) {
    assertMatches(after[name]!.data as Float32Array, expectedWeighted(before[name]!.data as Float32Array, w, cols, batch, scale), name);
  }
  assert.deepEqual(after[self]!.data, before[self]!.data);
});

test('the [B, heads, N, M] layout is re-weighted per batch item and head the same way', async () => {
  const batch = 2;
  const b = new GraphBuilder('probe_4d');
  const net = new Net(b, 5);
  const sample = b.input('sample', 'float32', [batch, 1, GRID, GRID]);
  const context: Value = { name: b.input('encoder_hidden_states', 'float32', [batch, TOKENS, WIDTH]), shape: [batch, TOKENS, WIDTH] };
  const flat = b.op('Transpose', [b.op('Reshape', [sample, b.ints([batch, 1, GRID * GRID])])], { perm: [0, 2, 1] });
  const out = attention(net, 'cross', linear(net, 'in', { name: flat, shape: [batch, GRID * GRID, 1] }, WIDTH), context, { heads: HEADS });
  b.output(out.name, 'out', { shape: [batch, GRID * GRID, WIDTH] });
  const softmax = b.graph.nodes.find((n) => n.opType === 'Softmax')!.outputs[0]!;
  b.output(softmax, undefined, { shape: [batch, HEADS, GRID * GRID, TOKENS] });
  const model = b.toModel();
  const { model: weighted, layers } = insertAttentionReweight(model, { probeShapes: { sample: [batch, 1, GRID, GRID], encoder_hidden_states: [batch, TOKENS, WIDTH] } });
  assert.deepEqual(layers.map((l) => l.layout), ['batch-by-heads']);
  const rng = new Rng(22);
  const base: Record<string, HostTensor> = {
    sample: { dtype: 'float32', dims: [batch, 1, GRID, GRID], data: rng.normals(batch * GRID * GRID) },
    encoder_hidden_states: { dtype: 'float32', dims: [batch, TOKENS, WIDTH], data: rng.normals(batch * TOKENS * WIDTH) },
  };
  const { w, cols } = aarFeeds(rng, batch);
  const before = await runModel(model, base);
  const after = await runModel(weighted, { ...base, [AAR_WEIGHT]: { dtype: 'float32', dims: [batch, GRID * GRID], data: w }, [AAR_COLUMNS]: { dtype: 'float32', dims: [batch, TOKENS], data: cols } });
  assertMatches(after[softmax]!.data as Float32Array, expectedWeighted(before[softmax]!.data as Float32Array, w, cols, batch, 1), softmax);
});

for (const precision of ['fp32', 'fp16'] as const) {
  test(`with w = 1 the re-weighted SD UNet is bit-identical to the exported one (${precision})`, async () => {
    const exported = buildUNet(8, { timestepType: 'int64', timestepRank: 1 });
    const unet = specialiseShapes(precision === 'fp16' ? toFloat16(exported) : exported, {}, { height: 8, width: 8 });
    const cross = findCrossAttentionSoftmax(unet);
    assert.equal(unet.graph.nodes.filter((n) => n.opType === 'Softmax').length, 10);
    assert.equal(cross.length, 5, 'the five cross-attention layers, none of the self-attention ones');
    assert.ok(cross.every((n) => n.name.includes('Softmax')));
    const probe = { sample: [1, LATENT_CHANNELS, 8, 8], timestep: [1], encoder_hidden_states: [1, CONTEXT_LENGTH, TEXT_WIDTH] };
    const { model: weighted, layers } = insertAttentionReweight(unet, { probeShapes: probe });
    assert.deepEqual(layers.map((l) => l.grid.width), [8, 4, 2, 4, 8]);
    const batch = 2;
    const rng = new Rng(30);
    const float = (n: number): { dtype: 'float32' | 'float16'; data: Float32Array | Uint16Array } =>
      precision === 'fp16' ? { dtype: 'float16', data: float32ToHalf(rng.normals(n)) } : { dtype: 'float32', data: rng.normals(n) };
    const feeds: Record<string, HostTensor> = {
      sample: { ...float(batch * 4 * 64), dims: [batch, 4, 8, 8] },
      timestep: { dtype: 'int64', dims: [batch], data: new BigInt64Array([500n, 20n]) },
      encoder_hidden_states: { ...float(batch * CONTEXT_LENGTH * TEXT_WIDTH), dims: [batch, CONTEXT_LENGTH, TEXT_WIDTH] },
    };
    const before = await runModel(unet, feeds);
    const ones = new Float32Array(batch * 64).fill(1);
    // every column marked: the factor 1 + 1 * (1 - 1) must still be exactly 1
    const cols = new Float32Array(batch * CONTEXT_LENGTH).fill(1);
    const after = await runModel(weighted, { ...feeds, [AAR_WEIGHT]: { dtype: 'float32', dims: [batch, 64], data: ones }, [AAR_COLUMNS]: { dtype: 'float32', dims: [batch, CONTEXT_LENGTH], data: cols } });
    assert.deepEqual(after.out_sample!.data, before.out_sample!.data);
    const w = Float32Array.from(ones, (_, i) => (i % 64 < 32 ? 1.5 : 1));
    const moved = await runModel(weighted, { ...feeds, [AAR_WEIGHT]: { dtype: 'float32', dims: [batch, 64], data: w }, [AAR_COLUMNS]: { dtype: 'float32', dims: [batch, CONTEXT_LENGTH], data: cols } });
    assert.notDeepEqual(moved.out_sample!.data, before.out_sample!.data);
  });
}

test('a UNet with symbolic spatial size, or without cross-attention, is refused with the reason', () => {
  const unet = buildUNet(8, { timestepType: 'int64', timestepRank: 1 });
  const probe = { sample: [1, 4, 8, 8], timestep: [1], encoder_hidden_states: [1, CONTEXT_LENGTH, TEXT_WIDTH] };
  assert.throws(() => insertAttentionReweight(unet, { probeShapes: probe }), /symbolic spatial size.*specialise/);
  const b = new GraphBuilder('no_cross');
  b.input('sample', 'float32', [1, 1, 2, 2]);
  const ctx = b.input('encoder_hidden_states', 'float32', [1, 3, 4]);
  b.output(b.op('Softmax', [ctx], { axis: -1 }), 'out');
  assert.throws(() => insertAttentionReweight(b.toModel(), { probeShapes: { sample: [1, 1, 2, 2], encoder_hidden_states: [1, 3, 4] } }), /no_cross.*no cross-attention Softmax/);
});
