// The fast Conv gradient paths (rules/conv.ts, FAST PATHS): im2col weight gradients for 2-D
// group-1 Conv and ConvTranspose, and the flipped-kernel Conv for stride-1 input gradients.
// Their gradients are compared with a direct float64 reference written out here (the sums that
// define the gradient, looped), on shapes that exercise each branch: per-tap and concatenated
// taps, strides, dilations, asymmetric and over-wide pads, odd sizes; and the choice of path is
// checked on the emitted graph, so groups and other ranks are seen to fall back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGradientGraph } from '../../../src/engine/autodiff/gradient';
import { composeTraining } from '../../../src/engine/autodiff/composer';
import { Adam } from '../../../src/engine/autodiff/optim';
import type { RuleVariants } from '../../../src/engine/autodiff/types';
import { PER_TAP_MIN_CHANNELS } from '../../../src/engine/autodiff/rules/conv';
import { GraphBuilder, type AttrInput } from '../../../src/engine/onnx/builder';
import type { Model } from '../../../src/engine/onnx/ir';
import { encodeModel } from '../../../src/engine/onnx/serialize';
import { createSession } from '../../../src/engine/runtime';
import { Rng } from '../../../src/shared/random';
import { gradCheck } from '../../helpers/gradcheck';

interface Geometry {
  strides: [number, number];
  dilations: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
}

/** Gradients of L = sum(Conv(x, w) * r) for 2-D group-1 Conv, by the defining sums in float64. */
function referenceConvGrads(
  x: Float32Array,
  [n, c, h, wd]: number[],
  w: Float32Array,
  [o, , kh, kw]: number[],
  r: Float32Array,
  [ho, wo]: number[],
  g: Geometry,
): { dx: Float64Array; dw: Float64Array } {
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  for (let b = 0; b < n!; b++)
    for (let oc = 0; oc < o!; oc++)
      for (let y = 0; y < ho!; y++)
        for (let z = 0; z < wo!; z++) {
          const grad = r[((b * o! + oc) * ho! + y) * wo! + z]!;
          for (let ic = 0; ic < c!; ic++)
            for (let i = 0; i < kh!; i++)
              for (let j = 0; j < kw!; j++) {
                // Y[b, oc, y, z] += W[oc, ic, i, j] * X[b, ic, y*s + i*d - padTop, z*s + j*d - padLeft]
                const row = y * g.strides[0] + i * g.dilations[0] - g.pads[0];
                const col = z * g.strides[1] + j * g.dilations[1] - g.pads[1];
                if (row < 0 || row >= h! || col < 0 || col >= wd!) continue;
                const xi = ((b * c! + ic) * h! + row) * wd! + col;
                const wi = ((oc * c! + ic) * kh! + i) * kw! + j;
                dx[xi] += grad * w[wi]!;
                dw[wi] += grad * x[xi]!;
              }
        }
  return { dx, dw };
}

function outSize(inSize: number, k: number, s: number, d: number, padSum: number): number {
  return Math.floor((inSize + padSum - d * (k - 1) - 1) / s) + 1;
}

/** Forward + loss + gradient graph for x, w as graph inputs (the general case: neither is constant). */
function convGradModel(xShape: number[], wShape: number[], g: Geometry, r: Float32Array, yShape: number[], variants?: Partial<RuleVariants>): Model {
  const b = new GraphBuilder('conv fast path');
  b.input('x', 'float32', xShape);
  b.input('w', 'float32', wShape);
  const y = b.op('Conv', ['x', 'w'], { strides: g.strides, dilations: g.dilations, pads: g.pads });
  const rv = b.constant(r, yShape, 'float32', 'r');
  b.output(b.op('ReduceSum', [b.op('Mul', [y, rv])], { keepdims: 0 }), 'loss', { dtype: 'float32', shape: [] });
  return buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['x', 'w'], ...(variants ? { variants } : {}) }).model;
}

function maxRelativeError(got: Float32Array, want: Float64Array): number {
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  return worst / Math.max(scale, 1e-12);
}

const opTypes = (m: Model): Set<string> => new Set(m.graph.nodes.map((nd) => nd.opType));

interface FastCase {
  name: string;
  x: [number, number, number, number];
  /** out channels, kernel h, kernel w */
  w: [number, number, number];
  g: Geometry;
  /** the input gradient is a flipped-kernel Conv (else ConvTranspose) */
  flipped: boolean;
  /**
   * how the taps are cut: 'plain' 2-D (strided) blocks; 'wide' contiguous runs of the flattened,
   * padded rows (stride 1, little width inflation); 'phases' runs of the stride phases that
   * SpaceToDepth lays out (equal strides > 1, little width inflation); 'flat' runs of the
   * flattened images, rows unpadded (stride 1, windows as wide as the input), the wrapping taps
   * cut from masked copies
   */
  layout: 'plain' | 'wide' | 'phases' | 'flat';
  /** rule variants (default: DEFAULT_RULE_VARIANTS) */
  variants?: Partial<RuleVariants>;
}

const g = (strides: [number, number], dilations: [number, number], pads: [number, number, number, number]): Geometry => ({ strides, dilations, pads });
const fastCases: FastCase[] = [
  { name: `flat rows, dY-side concatenated (5 of ${PER_TAP_MIN_CHANNELS + 2} channels), 3x3 pads 1, odd non-square size`, x: [2, PER_TAP_MIN_CHANNELS + 2, 7, 5], w: [5, 3, 3], g: g([1, 1], [1, 1], [1, 1, 1, 1]), flipped: true, layout: 'flat' },
  { name: 'flat rows, concatenated taps (3 channels), asymmetric pads, 2x3 kernel', x: [3, 3, 6, 7], w: [4, 2, 3], g: g([1, 1], [1, 1], [0, 2, 1, 0]), flipped: true, layout: 'flat' },
  { name: 'stride 2 on odd sizes (trailing inputs no window reads)', x: [2, PER_TAP_MIN_CHANNELS, 9, 8], w: [3, 3, 3], g: g([2, 2], [1, 1], [1, 1, 1, 1]), flipped: false, layout: 'plain' },
  { name: 'stride (3, 1), dilation (1, 2)', x: [1, 5, 10, 9], w: [2, 3, 2], g: g([3, 1], [1, 2], [1, 0, 0, 2]), flipped: false, layout: 'plain' },
  { name: 'stride 1, dilation 2: flipped conv with dilated kernel', x: [2, 4, 8, 8], w: [3, 3, 3], g: g([1, 1], [2, 2], [2, 1, 0, 2]), flipped: true, layout: 'plain' },
  { name: 'stride 1 with pads wider than the kernel: ConvTranspose for dX', x: [1, 3, 4, 5], w: [2, 2, 2], g: g([1, 1], [1, 1], [2, 0, 1, 2]), flipped: false, layout: 'plain' },
  { name: `dY-side im2col per tap (${PER_TAP_MIN_CHANNELS + 1} of ${PER_TAP_MIN_CHANNELS + 4} channels), asymmetric pads`, x: [2, PER_TAP_MIN_CHANNELS + 4, 6, 5], w: [PER_TAP_MIN_CHANNELS + 1, 3, 3], g: g([1, 1], [1, 1], [1, 0, 2, 1]), flipped: true, layout: 'plain' },
  { name: 'dY-side im2col per tap, 2x3 kernel, dilation (2, 1), pads at the kernel extent (flat rows, offsets -2..0)', x: [1, PER_TAP_MIN_CHANNELS + 3, 7, 7], w: [PER_TAP_MIN_CHANNELS, 2, 3], g: g([1, 1], [2, 1], [2, 0, 1, 2]), flipped: true, layout: 'flat' },
  { name: 'dY-side im2col per tap, 2x3 kernel, width 6 > 1.125 x 5: plain blocks (Wo != W)', x: [1, PER_TAP_MIN_CHANNELS + 3, 7, 6], w: [PER_TAP_MIN_CHANNELS, 2, 3], g: g([1, 1], [2, 1], [2, 0, 1, 1]), flipped: true, layout: 'plain' },
  { name: '1x1 kernel: one whole-tensor MatMul for dW', x: [2, PER_TAP_MIN_CHANNELS + 4, 3, 4], w: [6, 1, 1], g: g([1, 1], [1, 1], [0, 0, 0, 0]), flipped: true, layout: 'wide' },
  // wide rows: width 16 and up with a 3-wide kernel (Wq/Wo = 18/16 = 1.125)
  // flat rows: stride 1, Wo = W, per-tap GEMMs (the benchmark UNet's 3x3 'same' convs)
  { name: 'flat rows, X-side per tap (more output channels), 3x3 pads 1', x: [2, PER_TAP_MIN_CHANNELS, 5, 16], w: [PER_TAP_MIN_CHANNELS + 2, 3, 3], g: g([1, 1], [1, 1], [1, 1, 1, 1]), flipped: true, layout: 'flat' },
  { name: 'flat rows, X-side, 3x3 pads 1 on a narrow 4x3 image (every run wraps)', x: [3, PER_TAP_MIN_CHANNELS, 4, 3], w: [PER_TAP_MIN_CHANNELS, 3, 3], g: g([1, 1], [1, 1], [1, 1, 1, 1]), flipped: true, layout: 'flat' },
  { name: 'flat rows, dY-side (fewer output channels), 3x3 pads 1, 8x8', x: [2, PER_TAP_MIN_CHANNELS + 8, 8, 8], w: [PER_TAP_MIN_CHANNELS, 3, 3], g: g([1, 1], [1, 1], [1, 1, 1, 1]), flipped: true, layout: 'flat' },
  { name: 'flat rows, X-side, 3x5 kernel, pads (0, 2, 2, 2): column offsets -2..2', x: [2, PER_TAP_MIN_CHANNELS, 6, 9], w: [PER_TAP_MIN_CHANNELS + 1, 3, 5], g: g([1, 1], [1, 1], [0, 2, 2, 2]), flipped: true, layout: 'flat' },
  { name: 'flat rows, X-side, 2x3 kernel, asymmetric width pads (2, 0): column offsets -2..0', x: [1, PER_TAP_MIN_CHANNELS + 2, 5, 7], w: [PER_TAP_MIN_CHANNELS + 3, 2, 3], g: g([1, 1], [1, 1], [1, 2, 0, 0]), flipped: true, layout: 'flat' },
  { name: 'flat rows, X-side, 3x3 pads 1, K = 2*16*32 = 1024: each image run gets 16 zeros (stride break)', x: [2, PER_TAP_MIN_CHANNELS, 16, 32], w: [PER_TAP_MIN_CHANNELS + 2, 3, 3], g: g([1, 1], [1, 1], [1, 1, 1, 1]), flipped: true, layout: 'flat' },
  { name: 'wide rows, X-side per tap, 3x3 with column pads (2, 0): windows narrower than the input', x: [2, PER_TAP_MIN_CHANNELS, 5, 16], w: [PER_TAP_MIN_CHANNELS + 2, 3, 3], g: g([1, 1], [1, 1], [1, 2, 1, 1]), flipped: true, layout: 'wide' },
  // the padded-row layout that train:base's pinned plans keep (RuleVariants.flatRows false) on 'same'-width convs
  { name: 'flat rows off: wide rows, X-side per tap, 3x3 pads 1', x: [2, PER_TAP_MIN_CHANNELS, 5, 16], w: [PER_TAP_MIN_CHANNELS + 2, 3, 3], g: g([1, 1], [1, 1], [1, 1, 1, 1]), flipped: true, layout: 'wide', variants: { flatRows: false } },
  { name: 'flat rows off: wide rows, dY-side concatenated (4 of 20 channels), 3x3 pads 1', x: [3, 20, 4, 18], w: [4, 3, 3], g: g([1, 1], [1, 1], [1, 1, 1, 1]), flipped: true, layout: 'wide', variants: { flatRows: false } },
  { name: 'wide rows, X-side with more input channels (X taps lead the GEMMs), stride 1, pads wider than the kernel', x: [1, PER_TAP_MIN_CHANNELS + 5, 4, 17], w: [3, 2, 2], g: g([1, 1], [1, 1], [2, 0, 1, 2]), flipped: false, layout: 'wide' },
  { name: 'wide rows, concatenated taps (3 channels), asymmetric pads, 2x3 kernel, Wo = W + 1', x: [2, 3, 6, 20], w: [4, 2, 3], g: g([1, 1], [1, 1], [0, 2, 1, 1]), flipped: true, layout: 'wide' },
  { name: 'wide rows, dY-side per tap, dilation (1, 2), asymmetric pads', x: [2, PER_TAP_MIN_CHANNELS + 4, 6, 32], w: [PER_TAP_MIN_CHANNELS + 1, 3, 3], g: g([1, 1], [1, 2], [1, 2, 0, 1]), flipped: true, layout: 'wide' },
  { name: 'wide rows, dY-side concatenated (4 of 20 channels), 3x3 pads (1, 1, 1, 0): Wo = W - 1', x: [3, 20, 4, 18], w: [4, 3, 3], g: g([1, 1], [1, 1], [1, 1, 1, 0]), flipped: true, layout: 'wide' },
  // stride phases: Wo >= 8 for a 3-wide kernel at stride 2 (Wp = Wo + 1 <= 1.125 Wo)
  { name: 'stride phases, per tap, 3x3 pads 1, stride 2 (the downsampling convs)', x: [2, PER_TAP_MIN_CHANNELS, 16, 16], w: [5, 3, 3], g: g([2, 2], [1, 1], [1, 1, 1, 1]), flipped: false, layout: 'phases' },
  { name: 'stride phases, concatenated taps (3 channels), odd sizes, trailing inputs no window reads', x: [2, 3, 17, 19], w: [4, 3, 3], g: g([2, 2], [1, 1], [1, 0, 0, 1]), flipped: false, layout: 'phases' },
  { name: 'stride phases, stride 3 with dilation 2, 3x2 kernel, asymmetric pads', x: [1, 5, 26, 28], w: [3, 3, 2], g: g([3, 3], [2, 2], [2, 1, 0, 2]), flipped: false, layout: 'phases' },
];

for (const fc of fastCases) {
  test(`fast Conv gradients match the float64 reference: ${fc.name}`, async () => {
    const rng = new Rng(7);
    const [n, c, h, wd] = fc.x;
    const [o, kh, kw] = fc.w;
    const wShape = [o, c, kh, kw];
    const ho = outSize(h, kh, fc.g.strides[0], fc.g.dilations[0], fc.g.pads[0] + fc.g.pads[2]);
    const wo = outSize(wd, kw, fc.g.strides[1], fc.g.dilations[1], fc.g.pads[1] + fc.g.pads[3]);
    const x = rng.normals(n * c * h * wd);
    const w = rng.normals(o * c * kh * kw);
    const r = rng.normals(n * o * ho * wo);
    const model = convGradModel([...fc.x], wShape, fc.g, r, [n, o, ho, wo], fc.variants);
    const types = opTypes(model);
    // the paths taken: im2col (MatMul, no grouped correlation Conv) and flipped Conv or ConvTranspose
    assert.ok(types.has('MatMul'), 'the weight gradient should be an im2col MatMul');
    assert.equal(types.has('ConvTranspose'), !fc.flipped, `ConvTranspose ${fc.flipped ? 'not ' : ''}expected for dX`);
    assert.equal(model.graph.nodes.filter((nd) => nd.opType === 'Conv').length, fc.flipped ? 2 : 1, 'Conv nodes: the forward, plus the flipped dX conv when taken');
    assert.equal(types.has('Concat'), kh * kw > 1, 'taps are concatenated (before or after the MatMuls) unless there is one');
    if (kh * kw > 1) {
      // stride-1 convs (flipped dX) cut the taps from dY when it has fewer channels than X
      const sliced = fc.flipped && o < c ? o : c;
      // the flipped dX kernel of fed weights is one more MatMul, by the tap reversal matrix
      const isReversal = (nd: (typeof model.graph.nodes)[number]): boolean => nd.inputs[1]!.startsWith('tap_reversal');
      const reversals = model.graph.nodes.filter((nd) => nd.opType === 'MatMul' && isReversal(nd)).length;
      assert.equal(reversals, fc.flipped ? 1 : 0, 'the flipped kernel is reversed by one MatMul');
      const matmuls = model.graph.nodes.filter((nd) => nd.opType === 'MatMul' && !isReversal(nd)).length;
      assert.equal(matmuls, sliced < PER_TAP_MIN_CHANNELS ? 1 : kh * kw, 'one MatMul per tap, or one over the concatenated taps');
      // flat rows: the taps of each column offset other than 0 wrap across rows and are cut from
      // a masked copy of the images (one Mul each); no other layout multiplies anything
      const [dw, padLeft] = [fc.g.dilations[1], fc.g.pads[1]];
      const offsetOf = (tj: number): number => (sliced === c ? tj * dw - padLeft : tj * dw - (dw * (kw - 1) - padLeft));
      const wrapping = fc.layout === 'flat' ? new Set(Array.from({ length: kw }, (_, tj) => offsetOf(tj)).filter((d) => d !== 0)).size : 0;
      const masks = model.graph.nodes.filter((nd) => nd.opType === 'Mul' && nd.inputs.some((v) => v.startsWith('wrap_mask')));
      assert.equal(masks.length, wrapping, 'one wrap mask per column offset other than 0');
      // the taps are sliced from the padded, transposed X or dY (through a flattening Reshape
      // in the wide layout): which one is the source, and along how many axes
      const producer = new Map(model.graph.nodes.flatMap((nd) => nd.outputs.map((v) => [v, nd] as const)));
      /** the Transpose a tap Slice cuts from, through Reshape, Pad and SpaceToDepth */
      const sourceTranspose = (slice: (typeof model.graph.nodes)[number]): (typeof model.graph.nodes)[number] | undefined => {
        let v = producer.get(slice.inputs[0]!);
        while (v && (v.opType === 'Reshape' || v.opType === 'Pad' || v.opType === 'SpaceToDepth' || v.opType === 'Mul')) v = producer.get(v.inputs[0]!);
        return v?.opType === 'Transpose' ? v : undefined;
      };
      const slices = model.graph.nodes.filter((nd) => nd.opType === 'Slice' && sourceTranspose(nd) !== undefined);
      assert.equal(slices.length, kh * kw, 'one Slice per tap');
      const slicedAxes = new Set(slices.map((nd) => (model.graph.initializers.get(nd.inputs[3]!)!.data as ArrayLike<number>).length));
      const layoutName = { plain: 'plain: 2-D blocks', wide: 'wide rows: runs of the flattened rows', phases: 'phases: a phase and a run', flat: 'flat rows: runs of the flattened images' }[fc.layout];
      assert.deepEqual([...slicedAxes], [fc.layout === 'wide' || fc.layout === 'flat' ? 1 : 2], layoutName);
      // the flat layout pads whole images only (Pad of a 3-D [A, N, H*W] view), never rows
      const tapPads = model.graph.nodes.filter((nd) => nd.opType === 'Pad' && model.graph.nodes.some((s2) => s2.opType === 'Slice' && s2.inputs[0] === nd.outputs[0] && slices.includes(s2)));
      if (fc.layout === 'flat') for (const pad of tapPads) assert.equal((model.graph.initializers.get(pad.inputs[1]!)!.data as ArrayLike<number>).length, 6, 'flat rows: a 3-D Pad of whole images');
      assert.equal(types.has('SpaceToDepth'), fc.layout === 'phases', 'SpaceToDepth exactly for the phase layout');
      const tapSources = new Set(slices.map((nd) => sourceTranspose(nd)!.inputs[0]));
      assert.equal(tapSources.size, 1, 'one padded tensor for the taps');
      assert.equal([...tapSources][0] === 'x', sliced === c, `taps cut from ${sliced === c ? 'X' : 'dY'}`);
    }
    const session = await createSession(encodeModel(model));
    const out = await session.run({ x: { dtype: 'float32', dims: [...fc.x], data: x }, w: { dtype: 'float32', dims: wShape, data: w } });
    await session.release();
    const ref = referenceConvGrads(x, [...fc.x], w, wShape, r, [ho, wo], fc.g);
    assert.deepEqual(out.x_grad!.dims, [...fc.x]);
    assert.deepEqual(out.w_grad!.dims, wShape);
    assert.ok(maxRelativeError(out.x_grad!.data as Float32Array, ref.dx) < 1e-5, `dX error ${maxRelativeError(out.x_grad!.data as Float32Array, ref.dx)}`);
    assert.ok(maxRelativeError(out.w_grad!.data as Float32Array, ref.dw) < 1e-5, `dW error ${maxRelativeError(out.w_grad!.data as Float32Array, ref.dw)}`);
  });
}

test('the reference and the check bite: a dW that drops the last tap fails', () => {
  const rng = new Rng(3);
  const x = rng.normals(1 * 2 * 4 * 4);
  const w = rng.normals(2 * 2 * 3 * 3);
  const r = rng.normals(1 * 2 * 4 * 4);
  const geometry = g([1, 1], [1, 1], [1, 1, 1, 1]);
  const ref = referenceConvGrads(x, [1, 2, 4, 4], w, [2, 2, 3, 3], r, [4, 4], geometry);
  // dW[o, c, 2, 2] by hand for o = c = 0: sum over y, z of r[0,0,y,z] * X[0,0,y+1,z+1] inside the image
  let corner = 0;
  for (let y = 0; y < 3; y++) for (let z = 0; z < 3; z++) corner += r[y * 4 + z]! * x[(y + 1) * 4 + (z + 1)]!;
  assert.ok(Math.abs(ref.dw[8]! - corner) < 1e-9);
  const broken = Float32Array.from(ref.dw, (v, i) => (i % 9 === 8 ? 0 : v));
  assert.ok(maxRelativeError(broken, ref.dw) > 1e-3);
});

const pathOf = (attrs: Record<string, AttrInput>, xShape: number[], wShape: number[]): Set<string> => {
  const b = new GraphBuilder('path');
  b.input('x', 'float32', xShape);
  b.input('w', 'float32', wShape);
  const y = b.op('Conv', ['x', 'w'], attrs);
  b.output(b.op('ReduceSum', [y], { keepdims: 0 }), 'loss', { dtype: 'float32', shape: [] });
  return opTypes(buildGradientGraph(b.toModel(), { loss: 'loss', wrt: ['x', 'w'] }).model);
};

test('grouped, 1-D and 3-D convs keep the general path (grouped correlation Conv, ConvTranspose)', () => {
  for (const [attrs, xs, ws] of [
    [{ group: 2, pads: [1, 1, 1, 1] }, [1, 4, 5, 5], [4, 2, 3, 3]],
    [{ group: 3 }, [1, 3, 5, 5], [3, 1, 3, 3]],
    [{ pads: [1, 1] }, [1, 3, 9], [2, 3, 3]],
    [{ pads: [1, 1, 1, 1, 1, 1] }, [1, 2, 4, 4, 4], [2, 2, 3, 3, 3]],
  ] as [Record<string, AttrInput>, number[], number[]][]) {
    const types = pathOf(attrs, xs, ws);
    assert.ok(!types.has('MatMul') && types.has('ConvTranspose'), `[${xs}] ${JSON.stringify(attrs)}: ${[...types].join(',')}`);
  }
  // and the same 2-D conv with group 1 takes the fast path
  const types = pathOf({ pads: [1, 1, 1, 1] }, [1, 4, 5, 5], [4, 4, 3, 3]);
  assert.ok(types.has('MatMul') && !types.has('ConvTranspose'));
});

test('fast paths under finite differences: Conv with bias, weights as initializers (dX weights fold)', async () => {
  await gradCheck({
    inputs: {
      x: { shape: [2, PER_TAP_MIN_CHANNELS + 1, 5, 6], wrt: true },
      w: { shape: [3, PER_TAP_MIN_CHANNELS + 1, 3, 3], wrt: true, initializer: true, generator: (rng, k) => rng.normals(k, 0.2) },
      bias: { shape: [3], wrt: true, initializer: true },
    },
    build: (b, i) => b.op('Conv', [i.x!, i.w!, i.bias!], { pads: [1, 0, 1, 2] }),
    directions: 2,
  });
});

test('flat rows with the stride break under finite differences: the bias gradient sums dY rows that carry zeros', async () => {
  // K = N*H*W = 2*16*32 = 1024 floats, so every image's run is padded (strideBreak) and the
  // X-side dW's dY rows, which the bias gradient sums, hold those zeros
  await gradCheck({
    inputs: {
      x: { shape: [2, 4, 16, 32], wrt: true },
      w: { shape: [6, 4, 3, 3], wrt: true, generator: (rng, k) => rng.normals(k, 0.2) },
      bias: { shape: [6], wrt: true },
    },
    build: (b, i) => b.op('Conv', [i.x!, i.w!, i.bias!], { pads: [1, 1, 1, 1] }),
    directions: 2,
  });
});

test('ConvTranspose weight gradient by im2col, per tap (many output channels) and concatenated (few)', async () => {
  for (const [cin, cout] of [
    [3, PER_TAP_MIN_CHANNELS + 1],
    [4, 2],
  ] as [number, number][]) {
    const report = await gradCheck({
      inputs: {
        x: { shape: [2, cin, 3, 4], wrt: true },
        w: { shape: [cin, cout, 3, 2], wrt: true, initializer: true },
      },
      build: (b, i) => b.op('ConvTranspose', [i.x!, i.w!], { strides: [2, 1], pads: [1, 0, 0, 1], output_padding: [1, 0] }),
      directions: 2,
    });
    const matmuls = report.model.graph.nodes.filter((nd) => nd.opType === 'MatMul').length;
    assert.equal(matmuls, cout < PER_TAP_MIN_CHANNELS ? 1 : 6, `Cout ${cout}`);
  }
});

test("the trainer's rule variants reach the Conv rule: flat rows by default, padded rows when pinned (train:base's plans), the same gradients", async () => {
  // a 3x3 'same' conv, so that the weight gradient takes the flat rows unless they are switched off
  const b = new GraphBuilder('one conv');
  const x = b.input('x', 'float32', [2, PER_TAP_MIN_CHANNELS, 6, 6]);
  const rng = new Rng(8);
  const w = b.param('w', [PER_TAP_MIN_CHANNELS + 2, PER_TAP_MIN_CHANNELS, 3, 3], rng.normals((PER_TAP_MIN_CHANNELS + 2) * PER_TAP_MIN_CHANNELS * 9, 0.2));
  const y = b.op('Conv', [x, w], { pads: [1, 1, 1, 1] });
  b.output(b.op('ReduceMean', [b.op('Mul', [y, y])], { keepdims: 0 }), 'loss', { dtype: 'float32', shape: [] });
  const batch = { x: { dtype: 'float32' as const, dims: [2, PER_TAP_MIN_CHANNELS, 6, 6], data: new Rng(9).normals(2 * PER_TAP_MIN_CHANNELS * 36) } };
  const run = async (ruleVariants?: Partial<RuleVariants>) => {
    const trainer = await composeTraining(b.toModel(), { loss: 'loss', train: ['w'], optimizer: new Adam({ lr: 1e-3 }), cpuConvKernels: 'standard', ...(ruleVariants ? { ruleVariants } : {}) });
    try {
      const masks = trainer.trainingModel.graph.nodes.filter((nd) => nd.opType === 'Mul' && nd.inputs.some((v) => v.startsWith('wrap_mask'))).length;
      return { masks, grad: (await trainer.gradients(batch)).grads.get('w')! };
    } finally {
      await trainer.release();
    }
  };
  const flat = await run();
  const padded = await run({ flatRows: false });
  assert.equal(flat.masks, 2, 'flat rows: one wrap mask per column offset -1 and +1');
  assert.equal(padded.masks, 0, 'padded rows: no wrap masks');
  assert.ok(maxRelativeError(flat.grad, Float64Array.from(padded.grad)) < 1e-5);
});
