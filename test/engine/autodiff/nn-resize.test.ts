// Gradient checks, adjoint tests and independent reference values for the Resize/Upsample rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adjointCheck, gradCheck } from '../../helpers/gradcheck';
import type { AttrInput, GraphBuilder } from '../../../src/engine/onnx/builder';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession } from '../../../src/engine/runtime';

interface ResizeCase {
  name: string;
  x: number[];
  scales?: number[];
  sizes?: number[];
  attrs: Record<string, AttrInput>;
  opset?: number;
}

const cases: ResizeCase[] = [
  { name: 'nearest x2, asymmetric, floor (the tiny LDM upsampler)', x: [1, 2, 3, 4], scales: [1, 1, 2, 2], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' } },
  { name: 'nearest x3, half_pixel, round_prefer_floor', x: [1, 1, 3, 2], scales: [1, 1, 3, 3], attrs: { mode: 'nearest' } },
  { name: 'nearest x1.5 / x0.6, half_pixel, round_prefer_floor', x: [1, 2, 4, 5], scales: [1, 1, 1.5, 0.6], attrs: { mode: 'nearest' } },
  { name: 'nearest to sizes, align_corners, round_prefer_ceil', x: [2, 1, 4, 3], sizes: [2, 1, 7, 5], attrs: { mode: 'nearest', coordinate_transformation_mode: 'align_corners', nearest_mode: 'round_prefer_ceil' } },
  { name: 'nearest x2.5, asymmetric, floor', x: [1, 1, 3, 3], scales: [1, 1, 2.5, 2.5], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' } },
  { name: 'linear x2, half_pixel', x: [1, 2, 3, 4], scales: [1, 1, 2, 2], attrs: { mode: 'linear' } },
  { name: 'linear x2, align_corners', x: [1, 1, 4, 3], scales: [1, 1, 2, 2], attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' } },
  { name: 'linear x1.7 / x0.5, half_pixel', x: [1, 2, 4, 6], scales: [1, 1, 1.7, 0.5], attrs: { mode: 'linear' } },
  { name: 'linear to sizes, pytorch_half_pixel, asymmetric growth', x: [1, 1, 5, 3], sizes: [1, 1, 3, 8], attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' } },
  { name: 'cubic x2, half_pixel', x: [1, 1, 4, 4], scales: [1, 1, 2, 2], attrs: { mode: 'cubic' } },
  { name: 'linear antialias downscale (opset 18)', x: [1, 1, 8, 6], scales: [1, 1, 0.5, 0.5], attrs: { mode: 'linear', antialias: 1 }, opset: 18 },
  { name: 'nearest with axes [2, 3] (opset 18)', x: [1, 2, 3, 4], scales: [2, 1.5], attrs: { mode: 'nearest', axes: [2, 3] }, opset: 18 },
  { name: 'nearest on the channel axis too', x: [1, 2, 3, 2], scales: [1, 2, 2, 1], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' } },
  { name: 'linear on a 3-D tensor (last axis)', x: [2, 3, 5], scales: [1, 1, 1.6], attrs: { mode: 'linear' } },
  { name: 'nearest to sizes at opset 11 (empty roi and scales inputs)', x: [1, 1, 3, 3], sizes: [1, 1, 6, 4], attrs: { mode: 'nearest' }, opset: 11 },
  { name: 'linear x2 at opset 11, asymmetric', x: [1, 1, 3, 3], scales: [1, 1, 2, 2], attrs: { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }, opset: 11 },
];

function buildResize(c: ResizeCase): (b: GraphBuilder, i: Record<string, string>) => string {
  return (b, i) => {
    // before opset 13 roi and scales are required inputs: empty tensors when unused
    const unused = (): string => ((c.opset ?? 17) < 13 ? b.constant([], [0]) : '');
    if (c.sizes) return b.op('Resize', [i.x!, unused(), unused(), b.ints(c.sizes)], c.attrs);
    return b.op('Resize', [i.x!, unused(), b.constant(c.scales!, [c.scales!.length])], c.attrs);
  };
}

for (const c of cases) {
  test(`Resize gradient and adjoint: ${c.name}`, async () => {
    const spec = { inputs: { x: { shape: c.x, wrt: true } }, build: buildResize(c), opset: c.opset };
    await gradCheck({ ...spec, directions: 2 });
    await adjointCheck(spec);
  });
}

test('Upsample (opset 8, scales attribute) adjoint', async () => {
  await adjointCheck({
    inputs: { x: { shape: [1, 1, 3, 3], wrt: true } },
    build: (b, i) => b.op('Upsample', [i.x!], { mode: 'nearest', scales: { type: 'floats', value: [1, 1, 2, 3] } }),
    opset: 8,
  });
});

test('Upsample (opset 9) gradient and adjoint, nearest and linear', async () => {
  for (const mode of ['nearest', 'linear']) {
    const spec = {
      inputs: { x: { shape: [1, 2, 3, 3], wrt: true } },
      build: (b: GraphBuilder, i: Record<string, string>) => b.op('Upsample', [i.x!, b.constant([1, 1, 2, 3], [4])], { mode }),
      opset: 9,
    };
    await gradCheck(spec);
    await adjointCheck(spec);
  }
});

/** Runs the gradient graph of `resize` with upstream gradient R (the loss's fixed r) and returns dX and R. */
async function gradientOf(c: ResizeCase, x: Float32Array): Promise<{ dx: Float32Array }> {
  const report = await adjointCheck({ inputs: { x: { shape: c.x, wrt: true, values: x } }, build: buildResize(c), opset: c.opset, trials: 1 });
  const s = await createSession(encodeModel(report.model));
  const out = await s.run({ x: { dtype: 'float32', dims: c.x, data: x } });
  await s.release();
  return { dx: out['x_grad']!.data as Float32Array };
}

/** The fixed r of the harness's loss, read back as the gradient of a Resize that is the identity. */
async function upstream(shape: number[], opset?: number): Promise<Float32Array> {
  // sizes equal to the input: the rule returns dY unchanged, i.e. r itself
  const { dx } = await gradientOf({ name: 'identity', x: shape, sizes: shape, attrs: { mode: 'nearest' }, opset }, new Float32Array(shape.reduce((a, d) => a * d, 1)));
  return dx;
}

test('nearest x2 asymmetric: dX is the 2x2 block sum of dY (independent reference)', async () => {
  const c = cases[0]!;
  const [n, ch, h, w] = c.x as [number, number, number, number];
  const r = await upstream([n, ch, 2 * h, 2 * w]);
  const { dx } = await gradientOf(c, new Float32Array(n * ch * h * w));
  for (let p = 0; p < n * ch; p++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        let expected = 0;
        for (const [di, dj] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) expected += r[(p * 2 * h + 2 * i + di) * 2 * w + 2 * j + dj]!;
        assert.ok(Math.abs(dx[(p * h + i) * w + j]! - expected) < 1e-5, `dX[${p},${i},${j}] = ${dx[(p * h + i) * w + j]} vs ${expected}`);
      }
    }
  }
});

test('linear align_corners along one axis: dX matches hand-computed interpolation weights', async () => {
  // 1-D problem on the last axis: in 3 -> out 5, align_corners: x = o * (3-1)/(5-1) = o/2
  const c: ResizeCase = { name: 'ac', x: [1, 1, 1, 3], sizes: [1, 1, 1, 5], attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' } };
  const r = await upstream([1, 1, 1, 5]);
  const { dx } = await gradientOf(c, new Float32Array(3));
  // output o reads x0 = floor(o/2) with weight 1 - frac and x0+1 with weight frac
  const expected = [0, 0, 0];
  for (let o = 0; o < 5; o++) {
    const pos = o / 2;
    const lo = Math.floor(pos);
    const frac = pos - lo;
    expected[lo]! += (1 - frac) * r[o]!;
    if (frac > 0) expected[lo + 1]! += frac * r[o]!;
  }
  expected.forEach((e, i) => assert.ok(Math.abs(dx[i]! - e) < 1e-5, `dX[${i}] = ${dx[i]} vs ${e}`));
});

test('tf_crop_and_resize is refused with the node named', async () => {
  await assert.rejects(
    gradCheck({
      inputs: { x: { shape: [1, 1, 2, 2], wrt: true } },
      build: (b, i) =>
        b.op('Resize', [i.x!, b.constant([0, 0, 0, 0, 1, 1, 1, 1], [8]), b.constant([1, 1, 2, 2], [4])], { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize' }, { name: 'crop_resize' }),
    }),
    /crop_resize.*tf_crop_and_resize/,
  );
});
