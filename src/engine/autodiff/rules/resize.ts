// Gradient rule for Resize (and the older Upsample).
//
// For every mode except tf_crop_and_resize, Resize is linear and separable: along each resized
// axis a, Y = M_a X with an [out, in] matrix M_a of interpolation weights (one-hot rows for
// nearest, two taps for linear, four for cubic, wider with antialias). So
//   dX = (prod over resized axes of M_a^T) dY,   applied one axis at a time with MatMul.
// The matrices are not re-derived here. The rule asks the runtime for them by resizing an
// identity: a 2-D Resize of I_in with scales [1, s_a] (or sizes [in, out]) and the node's own
// attributes returns R[j, o] = sum_i M_a[o, i] I[j, i] = M_a[o, j], that is M_a^T, with exactly
// the coordinate transform, rounding and weights the forward node uses (nearest_mode,
// half_pixel, float32 arithmetic and all), on whatever execution provider runs the graph. The
// identity is a constant expression, so the runtime folds the matrices once at session creation.
import { attrString, nodeError } from '../../onnx/shapes/elementwise';
import { resizeOperands } from '../../onnx/shapes/nn';
import type { GradContext, RuleEntry } from '../types';
import { zerosOf } from '../unbroadcast';

/** Attributes the 2-D identity Resize must not copy (they refer to the forward's rank). */
const RANK_SPECIFIC = new Set(['axes']);

const resizeGrad = (ctx: GradContext): (string | undefined)[] => {
  const { b, node } = ctx;
  const dy = ctx.gradOutput(0);
  const x = node.inputs[0]!;
  if (dy === undefined || !ctx.needsGrad(0)) return ctx.node.inputs.map(() => undefined);
  const dtype = ctx.dtype(x);
  if (dtype !== 'float32') nodeError(node, `Resize gradients are built for float32 tensors, got ${dtype}`);
  if (attrString(node, 'coordinate_transformation_mode', 'half_pixel') === 'tf_crop_and_resize') {
    nodeError(node, "the gradient of coordinate_transformation_mode 'tf_crop_and_resize' is not supported");
  }
  const xShape = ctx.shape(x);
  const yShape = ctx.shape(node.outputs[0]!);
  const rank = xShape.length;
  const constantOf = (i: number): number[] | undefined => (node.inputs[i] ? ctx.constant(node.inputs[i]!) : undefined);
  const operands = resizeOperands(
    {
      node,
      opset: ctx.opset,
      input: (i) => (node.inputs[i] ? { dtype: ctx.dtype(node.inputs[i]!), shape: ctx.shape(node.inputs[i]!) } : undefined),
      constant: constantOf,
    },
    rank,
  );
  const attrs = Object.fromEntries(Object.entries(node.attrs).filter(([k]) => !RANK_SPECIFIC.has(k)));

  /** I_n: EyeLike of a run-time zeros matrix (no n*n initializer), or a constant before opset 9. */
  const identityMatrix = (n: number): string => {
    if (ctx.opset >= 9) return b.op('EyeLike', [zerosOf(b, [n, n], 'float32')]);
    const values = new Float32Array(n * n);
    for (let i = 0; i < n; i++) values[i * n + i] = 1;
    return b.constant(values, [n, n], 'float32', 'resize_identity');
  };

  /** M_a^T [in, out] for axis a, computed by the runtime from an identity. */
  const transposedWeights = (axisIndex: number): string => {
    const axis = operands.axes[axisIndex]!;
    const inSize = xShape[axis]!;
    const eye = identityMatrix(inSize);
    const scales2d = operands.scales ? b.constant([1, operands.scales[axisIndex]!], [2], 'float32', 'resize_scales') : undefined;
    const sizes2d = operands.sizes ? b.ints([inSize, yShape[axis]!]) : undefined;
    if (node.opType === 'Upsample') {
      if (node.attrs['scales'] !== undefined) return b.op('Upsample', [eye], { ...attrs, scales: { type: 'floats', value: [1, operands.scales![axisIndex]!] } });
      return b.op('Upsample', [eye, scales2d!], attrs);
    }
    if (ctx.opset < 11) return b.op('Resize', [eye, scales2d!], attrs);
    // opset 11/12 want roi and scales inputs even when unused: empty tensors
    const empty = (): string => b.constant([], [0], 'float32', 'resize_unused');
    const roi = ctx.opset < 13 ? empty() : '';
    const scalesInput = scales2d ?? (ctx.opset < 13 ? empty() : '');
    return b.op('Resize', sizes2d ? [eye, roi, scalesInput, sizes2d] : [eye, roi, scalesInput], attrs);
  };

  let grad = dy;
  operands.axes.forEach((axis, i) => {
    const unchanged = operands.scales ? operands.scales[i] === 1 : operands.sizes![i] === xShape[axis];
    if (unchanged) return;
    const mt = transposedWeights(i);
    if (axis === rank - 1) {
      // [..., out] x [out, in]
      grad = b.op('MatMul', [grad, b.op('Transpose', [mt], { perm: [1, 0] })]);
    } else {
      // bring the axis next to last, [in, out] x [..., out, last], and back
      const perm = Array.from({ length: rank }, (_, k) => k);
      perm[axis] = rank - 2;
      perm[rank - 2] = axis;
      const moved = axis === rank - 2 ? grad : b.op('Transpose', [grad], { perm });
      const product = b.op('MatMul', [mt, moved]);
      grad = axis === rank - 2 ? product : b.op('Transpose', [product], { perm });
    }
  });
  return [grad];
};

export const resizeRules: RuleEntry[] = [
  { opType: 'Resize', rule: resizeGrad },
  { opType: 'Upsample', rule: resizeGrad },
];
