// Where the normalisation rules take xhat and 1/std from (rules/norm.ts, normStatistics):
//  - identity affine (scale all ones, bias zero, as GroupNorm is exported): xhat is the forward's
//    output and 1/std comes from mean(x * xhat); checked against float64 central differences of
//    the forward in regimes that stress that formula (large mean, variance far below and near eps);
//  - LayerNormalization's own Mean/InvStdDev outputs, when the model declares them;
//  - other constant scales/biases fall back to recomputing the statistics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGradientGraph } from '../../../src/engine/autodiff/gradient';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import type { Model } from '../../../src/engine/onnx/ir';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession } from '../../../src/engine/runtime';
import { Rng } from '../../../src/shared/random';
import { gradCheck } from '../../helpers/gradcheck';

/** L = sum(R * InstanceNorm(x)) with unit affine, in float64, over [N, C, M] rows. */
function instanceNormLoss(x: Float64Array, r: Float32Array, rows: number, m: number, eps: number): number {
  let loss = 0;
  for (let row = 0; row < rows; row++) {
    let mean = 0;
    for (let i = 0; i < m; i++) mean += x[row * m + i]!;
    mean /= m;
    let variance = 0;
    for (let i = 0; i < m; i++) variance += (x[row * m + i]! - mean) ** 2;
    variance /= m;
    const rstd = 1 / Math.sqrt(variance + eps);
    for (let i = 0; i < m; i++) loss += r[row * m + i]! * (x[row * m + i]! - mean) * rstd;
  }
  return loss;
}

/** dL/dx by central differences of the float64 loss (step relative to each row's spread). */
function numericGradient(x: Float32Array, r: Float32Array, rows: number, m: number, eps: number, step: number): Float64Array {
  const at = Float64Array.from(x);
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const keep = at[i]!;
    at[i] = keep + step;
    const plus = instanceNormLoss(at, r, rows, m, eps);
    at[i] = keep - step;
    const minus = instanceNormLoss(at, r, rows, m, eps);
    at[i] = keep;
    grad[i] = (plus - minus) / (2 * step);
  }
  return grad;
}

function groupNormAsInstanceNorm(shape: number[], eps: number): Model {
  const b = new GraphBuilder('gn as in');
  b.input('x', 'float32', shape);
  b.input('r', 'float32', shape);
  const c = shape[1]!;
  const y = b.op('InstanceNormalization', ['x', b.constant(new Float32Array(c).fill(1), [c]), b.constant(new Float32Array(c), [c])], { epsilon: eps });
  b.output(b.op('ReduceSum', [b.op('Mul', [y, 'r'])], { keepdims: 0 }), 'loss', { dtype: 'float32', shape: [] });
  return buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['x'] }).model;
}

const readersOf = (m: Model, value: string): string[] => m.graph.nodes.filter((nd) => nd.inputs.includes(value)).map((nd) => nd.opType);

for (const regime of [
  { name: 'standard normal rows', mean: 0, std: 1, eps: 1e-5 },
  { name: 'mean 10, std 0.1', mean: 10, std: 0.1, eps: 1e-5 },
  { name: 'variance near eps (std 3e-3, eps 1e-5)', mean: 0.5, std: 3e-3, eps: 1e-5 },
  { name: 'variance far below eps (std 1e-4, eps 1e-3)', mean: -2, std: 1e-4, eps: 1e-3 },
]) {
  test(`InstanceNormalization with identity affine reuses Y: matches float64 differences, ${regime.name}`, async () => {
    const [n, c, m] = [2, 3, 24];
    const rng = new Rng(11);
    const x = Float32Array.from(rng.normals(n * c * m), (v) => regime.mean + regime.std * v);
    const r = rng.normals(n * c * m);
    const model = groupNormAsInstanceNorm([n, c, m], regime.eps);
    // the forward output is read by the backward; x only by the norm and the one mean(x * xhat)
    const y = model.graph.nodes.find((nd) => nd.opType === 'InstanceNormalization')!.outputs[0]!;
    assert.ok(readersOf(model, y).length >= 3, `Y read by ${readersOf(model, y).join(',')}`);
    assert.deepEqual(readersOf(model, 'x').sort(), ['InstanceNormalization', 'Mul']);
    const session = await createSession(encodeModel(model));
    const out = await session.run({ x: { dtype: 'float32', dims: [n, c, m], data: x }, r: { dtype: 'float32', dims: [n, c, m], data: r } });
    await session.release();
    const got = out.x_grad!.data as Float32Array;
    const want = numericGradient(x, r, n * c, m, regime.eps, regime.std * 1e-4);
    let scale = 0;
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]!));
      worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    }
    assert.ok(worst / scale < 2e-3, `max error ${worst.toExponential(2)} against gradients up to ${scale.toExponential(2)}`);
  });
}

test('InstanceNormalization with a constant non-unit scale or a non-zero bias recomputes the statistics', async () => {
  for (const [scale, bias] of [
    [2, 0],
    [1, 0.5],
  ]) {
    const report = await gradCheck({
      inputs: { x: { shape: [2, 3, 4, 2], wrt: true } },
      build: (b, i) => b.op('InstanceNormalization', [i.x!, b.constant(new Float32Array(3).fill(scale!), [3]), b.constant(new Float32Array(3).fill(bias!), [3])], { epsilon: 1e-3 }),
    });
    const readsX = readersOf(report.model, 'x').sort();
    assert.deepEqual(readsX, ['InstanceNormalization', 'ReduceMean', 'Sub'], `scale ${scale}, bias ${bias}: x read by ${readsX.join(',')}`);
    // the upstream gradient is multiplied by the scale only when it is not all ones
    const scaleMuls = report.model.graph.nodes.filter((nd) => nd.opType === 'Mul' && nd.inputs.some((v) => v.includes('Reshape'))).length;
    assert.equal(scaleMuls > 0, scale !== 1);
  }
});

test('LayerNormalization reuses its declared Mean and InvStdDev outputs', async () => {
  const report = await gradCheck({
    inputs: { x: { shape: [3, 2, 5], wrt: true }, scale: { shape: [5], wrt: true, initializer: true }, bias: { shape: [5], wrt: true, initializer: true } },
    build: (b, i) => [b.opN('LayerNormalization', [i.x!, i.scale!, i.bias!], { epsilon: 1e-3 }, { outputs: ['ln_y', 'ln_mean', 'ln_istd'] })[0]!],
  });
  assert.ok(readersOf(report.model, 'ln_istd').length > 0 && readersOf(report.model, 'ln_mean').length > 0);
  assert.ok(!readersOf(report.model, 'x').includes('ReduceMean'), 'statistics must not be recomputed');
});

test('LayerNormalization with identity affine and only InvStdDev declared reuses Y and InvStdDev', async () => {
  const report = await gradCheck({
    inputs: { x: { shape: [4, 6], wrt: true } },
    build: (b, i) => [
      b.opN('LayerNormalization', [i.x!, b.constant(new Float32Array(6).fill(1), [6])], { epsilon: 1e-2 }, { outputs: ['ln_y', '', 'ln_istd'] })[0]!,
    ],
  });
  assert.ok(readersOf(report.model, 'ln_istd').length > 0);
  assert.ok(readersOf(report.model, 'ln_y').length >= 3, 'Y is xhat');
  assert.deepEqual(readersOf(report.model, 'x'), ['LayerNormalization']);
});
