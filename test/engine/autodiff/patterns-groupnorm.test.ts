// The GroupNorm pattern (rules/patterns.ts): Reshape -> InstanceNormalization(1, 0) -> Reshape ->
// * gamma + beta differentiated jointly. Checked under finite differences for x, gamma and beta
// together and one at a time, against the pattern-free walk (the Add, Mul and
// InstanceNormalization rules) to float32 rounding, against a float64 reference in plain JS,
// and where it must not apply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGradientGraph } from '../../../src/engine/autodiff/gradient';
import { GraphBuilder } from '../../../src/engine/onnx/builder';
import type { Model } from '../../../src/engine/onnx/ir';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession, type HostTensor } from '../../../src/engine/runtime';
import { Rng } from '../../../src/shared/random';
import { gradCheck } from '../../helpers/gradcheck';

interface GroupNormSpec {
  x: number[];
  groups: number;
  /** shape of gamma and beta: [C, 1, ...] or [1, C, 1, ...] */
  param: number[];
  eps?: number;
  /** IN scale value (1 = the pattern's identity affine) */
  inScale?: number;
}

/** Emits the GroupNorm chain the way src/engine/nn/norm.ts does; returns y and the xhat value. */
function emitGroupNorm(b: GraphBuilder, x: string, gamma: string, beta: string, spec: GroupNormSpec): { y: string; xhat: string } {
  const [n, c] = spec.x as [number, number];
  const m = (c / spec.groups) * spec.x.slice(2).reduce((a, d) => a * d, 1);
  const grouped = b.op('Reshape', [x, b.ints([n, spec.groups, m])]);
  const scale = b.constant(new Float32Array(spec.groups).fill(spec.inScale ?? 1), [spec.groups], 'float32', 'in_scale');
  const bias = b.constant(new Float32Array(spec.groups), [spec.groups], 'float32', 'in_bias');
  const normed = b.op('InstanceNormalization', [grouped, scale, bias], { epsilon: spec.eps ?? 1e-5 });
  const xhat = b.op('Reshape', [normed, b.ints(spec.x)]);
  return { y: b.op('Add', [b.op('Mul', [xhat, gamma]), beta]), xhat };
}

const backwardOps = (model: Model, forward: number): string[] => model.graph.nodes.slice(forward).map((nd) => nd.opType);
/** The InstanceNormalization rule's mark: its three ReduceMeans (the pattern has one). */
const reduceMeans = (ops: string[]): number => ops.filter((t) => t === 'ReduceMean').length;

test('GroupNorm pattern under finite differences: x, gamma and beta, 4-D, gamma [C, 1, 1]', async () => {
  const spec: GroupNormSpec = { x: [2, 6, 3, 4], groups: 3, param: [6, 1, 1] };
  const report = await gradCheck({
    inputs: {
      // a large mean: the variance must not come from E[x^2] - E[x]^2
      x: { shape: spec.x, wrt: true, generator: (rng, k) => Float32Array.from(rng.normals(k, 2), (v) => v + 5) },
      gamma: { shape: spec.param, wrt: true, initializer: true, generator: (rng, k) => rng.normals(k, 1) },
      beta: { shape: spec.param, wrt: true, initializer: true },
    },
    build: (b, i) => emitGroupNorm(b, i.x!, i.gamma!, i.beta!, spec).y,
  });
  assert.equal(reduceMeans(report.model.graph.nodes.map((nd) => nd.opType)), 1, 'the pattern, not the InstanceNormalization rule');
});

for (const only of ['x', 'gamma', 'beta'] as const) {
  test(`GroupNorm pattern under finite differences, only ${only} differentiated, 3-D input, gamma [1, C, 1]`, async () => {
    const spec: GroupNormSpec = { x: [3, 4, 5], groups: 2, param: [1, 4, 1], eps: 1e-3 };
    await gradCheck({
      inputs: {
        x: { shape: spec.x, wrt: only === 'x' },
        gamma: { shape: spec.param, wrt: only === 'gamma', initializer: true },
        beta: { shape: spec.param, wrt: only === 'beta', initializer: true },
      },
      build: (b, i) => {
        // a nonlinearity after the norm so that dL/dy is not constant over a group
        const { y } = emitGroupNorm(b, i.x!, i.gamma!, i.beta!, spec);
        return b.op('Mul', [y, b.op('Tanh', [y])]);
      },
    });
  });
}

/** Loss = sum(r * y) with gamma, beta as graph inputs; gradients with and without patterns. */
async function bothWalks(
  spec: GroupNormSpec,
  seed: number,
  opset?: number,
): Promise<{ fused: Record<string, Float32Array>; plain: Record<string, Float32Array>; feeds: Record<string, HostTensor>; r: Float32Array; fusedOps: string[] }> {
  const rng = new Rng(seed);
  const b = new GraphBuilder('group norm', opset === undefined ? {} : { opset });
  const x = b.input('x', 'float32', spec.x);
  const gamma = b.input('gamma', 'float32', spec.param);
  const beta = b.input('beta', 'float32', spec.param);
  const size = spec.x.reduce((a, d) => a * d, 1);
  const r = Float32Array.from(rng.normals(size));
  const { y } = emitGroupNorm(b, x, gamma, beta, spec);
  b.output(b.op('ReduceSum', [b.op('Mul', [y, b.constant(r, spec.x, 'float32', 'r')])], { keepdims: 0 }), 'loss');
  const forward = b.toModel();
  const paramSize = spec.param.reduce((a, d) => a * d, 1);
  const feeds: Record<string, HostTensor> = {
    x: { dtype: 'float32', dims: spec.x, data: Float32Array.from(rng.normals(size, 3)) },
    gamma: { dtype: 'float32', dims: spec.param, data: Float32Array.from(rng.normals(paramSize)) },
    beta: { dtype: 'float32', dims: spec.param, data: Float32Array.from(rng.normals(paramSize)) },
  };
  const run = async (patternsOn: boolean): Promise<{ out: Record<string, Float32Array>; ops: string[] }> => {
    const { model } = buildGradientGraph(forward, { loss: 'loss', wrt: ['x', 'gamma', 'beta'], ...(patternsOn ? {} : { patterns: [] }) });
    const s = await createSession(encodeModel(model));
    try {
      const out = await s.run(feeds);
      return { out: Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array])), ops: backwardOps(model, forward.graph.nodes.length) };
    } finally {
      await s.release();
    }
  };
  const fused = await run(true);
  const plain = await run(false);
  assert.equal(reduceMeans(plain.ops), 3, 'without patterns the InstanceNormalization rule runs');
  return { fused: fused.out, plain: plain.out, feeds, r, fusedOps: fused.ops };
}

function maxRelativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  return worst / Math.max(scale, 1e-12);
}

test('GroupNorm pattern agrees with the pattern-free walk and with a float64 reference (UNet-like shape)', async () => {
  const spec: GroupNormSpec = { x: [2, 8, 6, 6], groups: 4, param: [8, 1, 1] };
  const { fused, plain, feeds, r, fusedOps } = await bothWalks(spec, 11);
  assert.equal(reduceMeans(fusedOps), 1);
  for (const name of ['x_grad', 'gamma_grad', 'beta_grad']) {
    assert.ok(maxRelativeError(fused[name]!, plain[name]!) < 1e-5, `${name}: ${maxRelativeError(fused[name]!, plain[name]!)}`);
  }
  // float64 reference from the definition: per group mean/var, xhat, y = gamma xhat + beta, and
  // the standard backward dx = (1/std)(dxhat - mean(dxhat) - xhat mean(dxhat xhat))
  const [n, c, h, w] = spec.x as [number, number, number, number];
  const x = feeds.x!.data as Float32Array;
  const gamma = feeds.gamma!.data as Float32Array;
  const k = c / spec.groups;
  const m = k * h * w;
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(c);
  const dbeta = new Float64Array(c);
  for (let b = 0; b < n; b++)
    for (let grp = 0; grp < spec.groups; grp++) {
      const base = (b * c + grp * k) * h * w;
      let mean = 0;
      for (let i = 0; i < m; i++) mean += x[base + i]!;
      mean /= m;
      let variance = 0;
      for (let i = 0; i < m; i++) variance += (x[base + i]! - mean) ** 2;
      variance /= m;
      const rstd = 1 / Math.sqrt(variance + 1e-5);
      let meanD = 0;
      let meanDX = 0;
      for (let i = 0; i < m; i++) {
        const ch = grp * k + Math.floor(i / (h * w));
        const xhat = (x[base + i]! - mean) * rstd;
        const dxhat = r[base + i]! * gamma[ch]!;
        meanD += dxhat / m;
        meanDX += (dxhat * xhat) / m;
        dgamma[ch] += r[base + i]! * xhat;
        dbeta[ch] += r[base + i]!;
      }
      for (let i = 0; i < m; i++) {
        const ch = grp * k + Math.floor(i / (h * w));
        const xhat = (x[base + i]! - mean) * rstd;
        dx[base + i] = rstd * (r[base + i]! * gamma[ch]! - meanD - xhat * meanDX);
      }
    }
  assert.ok(maxRelativeError(fused.x_grad!, dx) < 1e-4, `dx ${maxRelativeError(fused.x_grad!, dx)}`);
  assert.ok(maxRelativeError(fused.gamma_grad!, dgamma) < 1e-4, `dgamma ${maxRelativeError(fused.gamma_grad!, dgamma)}`);
  assert.ok(maxRelativeError(fused.beta_grad!, dbeta) < 1e-5, `dbeta ${maxRelativeError(fused.beta_grad!, dbeta)}`);
});

test('GroupNorm pattern: B xhat + D is one BatchNormalization from opset 9, a Mul and an Add before; both agree with the plain walk', async () => {
  const spec: GroupNormSpec = { x: [2, 6, 4, 5], groups: 3, param: [6, 1, 1] };
  for (const opset of [17, 8]) {
    const { fused, plain, fusedOps } = await bothWalks(spec, 5, opset);
    assert.equal(reduceMeans(fusedOps), 1, `opset ${opset}: the pattern`);
    assert.equal(fusedOps.filter((t) => t === 'BatchNormalization').length, opset >= 9 ? 1 : 0, `opset ${opset}: ${fusedOps.join(',')}`);
    for (const name of ['x_grad', 'gamma_grad', 'beta_grad']) {
      assert.ok(maxRelativeError(fused[name]!, plain[name]!) < 1e-5, `opset ${opset} ${name}: ${maxRelativeError(fused[name]!, plain[name]!)}`);
    }
  }
});

test('GroupNorm pattern does not apply to a scaled InstanceNormalization or a normalised value read elsewhere', async () => {
  // IN scale 2: not the identity affine the pattern assumes
  const scaled: GroupNormSpec = { x: [2, 4, 3, 3], groups: 2, param: [4, 1, 1], inScale: 2 };
  const report = await gradCheck({
    inputs: {
      x: { shape: scaled.x, wrt: true },
      gamma: { shape: scaled.param, wrt: true, initializer: true },
      beta: { shape: scaled.param, wrt: true, initializer: true },
    },
    build: (b, i) => emitGroupNorm(b, i.x!, i.gamma!, i.beta!, scaled).y,
  });
  assert.ok(reduceMeans(report.model.graph.nodes.map((nd) => nd.opType)) >= 3, 'the single-node rules');
  // xhat also feeds the loss directly: its gradient is not only what flows through * gamma + beta
  const spec: GroupNormSpec = { x: [2, 4, 3, 3], groups: 2, param: [4, 1, 1] };
  const shared = await gradCheck({
    inputs: {
      x: { shape: spec.x, wrt: true },
      gamma: { shape: spec.param, wrt: true, initializer: true },
      beta: { shape: spec.param, wrt: true, initializer: true },
    },
    build: (b, i) => {
      const { y, xhat } = emitGroupNorm(b, i.x!, i.gamma!, i.beta!, spec);
      return [y, b.op('Mul', [xhat, xhat])];
    },
  });
  assert.ok(reduceMeans(shared.model.graph.nodes.map((nd) => nd.opType)) >= 3, 'the single-node rules');
});
