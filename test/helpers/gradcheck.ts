// The gradient-check harness every gradient-rule test uses.
//
// gradCheck: builds the forward graph, forms the scalar loss L = sum_k ReduceSum(y_k * r_k) with
// fixed random r_k, differentiates it with buildGradientGraph, runs forward + backward in
// onnxruntime, and compares the directional derivative <dL/dx, v> with the central finite
// difference (L(x + h v) - L(x - h v)) / 2h, in float32, for a few random unit directions v per
// differentiated tensor. A rule off by 1% fails the default tolerance.
//
// adjointCheck: for an op linear in x, y = A x, the loss is L = <A x, r> and its gradient is
// A^T r, so <A x, r> = <x, A^T r> must hold to float32 rounding for any x: an exact test with
// no finite-difference noise.
import assert from 'node:assert/strict';
import { buildGradientGraph } from '../../src/engine/autodiff/gradient';
import type { RuleEntry } from '../../src/engine/autodiff/types';
import { GraphBuilder } from '../../src/engine/onnx/builder';
import { numElements, type DType, type Model, type TensorData } from '../../src/engine/onnx/ir';
import { inferShapes } from '../../src/engine/onnx/shape-inference';
import { encodeModel } from '../../src/engine/onnx/serialize';
import { createSession, type HostTensor, type Session } from '../../src/engine/runtime';
import { Rng } from '../../src/shared/random';

export interface InputSpec {
  shape: number[];
  /** default float32; integer/bool inputs (indices, masks) are never differentiated */
  dtype?: 'float32' | 'int64' | 'int32' | 'bool';
  /** explicit values (row-major) ... */
  values?: ArrayLike<number>;
  /** ... or a generator; default: standard normals */
  generator?: (rng: Rng, count: number) => ArrayLike<number>;
  /** differentiate the loss with respect to this input */
  wrt: boolean;
  /** declare as an initializer instead of a graph input (tests gradients w.r.t. initializers) */
  initializer?: boolean;
}

export interface GradCheckCase {
  /** emits the op(s) under test on the declared inputs (name -> value name); returns the output(s) */
  build: (b: GraphBuilder, inputs: Record<string, string>) => string | string[];
  inputs: Record<string, InputSpec>;
  seed?: number;
  /** relative tolerance on each directional derivative (default 3e-3) */
  tol?: number;
  /** finite-difference step along a unit direction (default 1e-2) */
  step?: number;
  /** random directions per differentiated input (default 3) */
  directions?: number;
  /** default-domain opset of the built graph (default 17) */
  opset?: number;
  /** rule entries that take precedence over the table (used to prove the checks bite) */
  rules?: readonly RuleEntry[];
}

export interface DirectionCheck {
  wrt: string;
  analytic: number;
  numeric: number;
  error: number;
}

export interface GradCheckReport {
  checks: DirectionCheck[];
  worst: number;
  /** the gradient model, for tests that inspect it */
  model: Model;
}

interface LossGraph {
  model: Model;
  loss: string;
  wrt: string[];
  /** values of every input, graph inputs and initializers alike */
  values: Map<string, HostTensor>;
  /** names declared as graph inputs (fed at run time) */
  fed: string[];
}

function makeData(dtype: DType, values: ArrayLike<number>): TensorData {
  switch (dtype) {
    case 'int64':
      return BigInt64Array.from(Array.from(values), (v) => BigInt(Math.trunc(v)));
    case 'int32':
      return Int32Array.from(values);
    case 'bool':
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
    default:
      return Float32Array.from(values);
  }
}

/** Builds forward graph + loss L = sum_k ReduceSum(y_k * r_k) with seeded inputs and r_k. */
function buildLossGraph(c: GradCheckCase, rng: Rng): LossGraph {
  const b = new GraphBuilder('gradcheck', { opset: c.opset ?? 17 });
  const names: Record<string, string> = {};
  const values = new Map<string, HostTensor>();
  const fed: string[] = [];
  for (const [name, spec] of Object.entries(c.inputs)) {
    const dtype = spec.dtype ?? 'float32';
    const n = numElements(spec.shape);
    const raw = spec.values ?? (spec.generator ? spec.generator(rng, n) : rng.normals(n));
    if (raw.length !== n) throw new Error(`gradcheck input '${name}': ${raw.length} values for shape [${spec.shape}]`);
    const t: HostTensor = { dtype, dims: [...spec.shape], data: makeData(dtype, raw) };
    values.set(name, t);
    if (spec.initializer) names[name] = b.initializer({ name, dtype, dims: [...spec.shape], data: t.data });
    else {
      names[name] = b.input(name, dtype, spec.shape);
      fed.push(name);
    }
  }
  const built = c.build(b, names);
  const outputs = Array.isArray(built) ? built : [built];
  const shapes = inferShapes(b.toModel());
  const terms = outputs.map((y) => {
    const shape = shapes.type(y).shape;
    const r = b.constant(rng.normals(numElements(shape)), shape, 'float32', 'gradcheck_r');
    return b.op('ReduceSum', [b.op('Mul', [y, r])], { keepdims: 0 });
  });
  const loss = b.uniqueName('gradcheck_loss');
  if (terms.length === 1) b.op('Identity', terms, {}, { output: loss });
  else b.op('Sum', terms, {}, { output: loss });
  b.output(loss, undefined, { dtype: 'float32', shape: [] });
  const wrt = Object.entries(c.inputs)
    .filter(([, s]) => s.wrt)
    .map(([n]) => n);
  return { model: b.toModel(), loss, wrt, values, fed };
}

/** The forward-only loss model with the wrt initializers turned into inputs, so they can be perturbed. */
function probeModel(g: LossGraph): Model {
  const graph = g.model.graph;
  const initializers = new Map(graph.initializers);
  const inputs = [...graph.inputs];
  for (const name of g.wrt) {
    const t = initializers.get(name);
    if (!t) continue;
    initializers.delete(name);
    inputs.push({ name, dtype: t.dtype, shape: [...t.dims] });
  }
  return { ...g.model, graph: { ...graph, inputs, initializers, outputs: graph.outputs.filter((o) => o.name === g.loss) } };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

async function withSession<T>(model: Model, use: (s: Session) => Promise<T>): Promise<T> {
  const session = await createSession(encodeModel(model));
  try {
    return await use(session);
  } finally {
    await session.release();
  }
}

function feedsOf(g: LossGraph, names: readonly string[], override: Record<string, HostTensor> = {}): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  for (const n of names) feeds[n] = override[n] ?? g.values.get(n)!;
  return feeds;
}

const floats = (t: HostTensor): Float32Array => t.data as Float32Array;

/** Checks a gradient rule numerically; throws an AssertionError listing every failed direction. */
export async function gradCheck(c: GradCheckCase): Promise<GradCheckReport> {
  const rng = new Rng(c.seed ?? 1);
  const tol = c.tol ?? 3e-3;
  const h = c.step ?? 1e-2;
  const g = buildLossGraph(c, rng);
  if (g.wrt.length === 0) throw new Error('gradCheck: no input has wrt: true');
  const result = buildGradientGraph(g.model, { loss: g.loss, wrt: g.wrt, rules: c.rules });
  const grads = await withSession(result.model, (s) => s.run(feedsOf(g, g.fed)));
  for (const name of g.wrt) {
    const grad = grads[result.gradNames[name]!]!;
    assert.deepEqual(grad.dims, c.inputs[name]!.shape, `gradient of '${name}' has dims [${grad.dims}]`);
  }
  const probe = probeModel(g);
  const probeInputs = probe.graph.inputs.map((v) => v.name);
  const checks: DirectionCheck[] = [];
  await withSession(probe, async (s) => {
    const lossAt = async (name: string, x: Float32Array): Promise<number> => {
      const out = await s.run(feedsOf(g, probeInputs, { [name]: { dtype: 'float32', dims: c.inputs[name]!.shape, data: x } }));
      return floats(out[g.loss]!)[0]!;
    };
    for (const name of g.wrt) {
      const x = floats(g.values.get(name)!);
      const grad = floats(grads[result.gradNames[name]!]!);
      const gradNorm = Math.sqrt(dot(grad, grad));
      for (let d = 0; d < (c.directions ?? 3); d++) {
        const v = rng.normals(x.length);
        const norm = Math.sqrt(dot(v, v));
        for (let i = 0; i < v.length; i++) v[i]! /= norm;
        const plus = x.map((xi, i) => xi + h * v[i]!);
        const minus = x.map((xi, i) => xi - h * v[i]!);
        const numeric = ((await lossAt(name, plus)) - (await lossAt(name, minus))) / (2 * h);
        const analytic = dot(grad, v);
        // relative error; the floor keeps directions almost orthogonal to the gradient from
        // turning finite-difference noise into a large relative number
        const scale = Math.max(Math.abs(analytic), Math.abs(numeric), 0.1 * gradNorm, 1e-4);
        checks.push({ wrt: name, analytic, numeric, error: Math.abs(analytic - numeric) / scale });
      }
    }
  });
  const worst = Math.max(...checks.map((k) => k.error));
  const failed = checks.filter((k) => !(k.error <= tol));
  if (failed.length > 0) {
    assert.fail(
      `gradient check failed (tol ${tol}):\n` +
        failed.map((k) => `  d/d${k.wrt}: analytic ${k.analytic.toPrecision(7)} vs finite difference ${k.numeric.toPrecision(7)} (rel. error ${k.error.toExponential(2)})`).join('\n'),
    );
  }
  return { checks, worst, model: result.model };
}

export interface AdjointReport {
  /** worst |<A x, r> - <x, A^T r>| / (|x| |A^T r|) over the trials */
  worst: number;
  model: Model;
}

/**
 * Checks the gradient of an op that is linear in its single wrt input: <A x, r> = <x, A^T r> for a
 * few random x (the other inputs stay fixed). Throws an AssertionError when the identity fails.
 */
export async function adjointCheck(c: GradCheckCase & { trials?: number }): Promise<AdjointReport> {
  const rng = new Rng(c.seed ?? 1);
  const tol = c.tol ?? 1e-5;
  const g = buildLossGraph(c, rng);
  if (g.wrt.length !== 1) throw new Error('adjointCheck: exactly one input must have wrt: true');
  const name = g.wrt[0]!;
  if (c.inputs[name]!.initializer) throw new Error('adjointCheck: the linear input must be a graph input');
  const result = buildGradientGraph(g.model, { loss: g.loss, wrt: g.wrt, rules: c.rules });
  let worst = 0;
  await withSession(result.model, async (s) => {
    for (let t = 0; t < (c.trials ?? 3); t++) {
      const x = t === 0 ? floats(g.values.get(name)!) : rng.normals(numElements(c.inputs[name]!.shape));
      const out = await s.run(feedsOf(g, g.fed, { [name]: { dtype: 'float32', dims: c.inputs[name]!.shape, data: x } }));
      const forward = floats(out[g.loss]!)[0]!; // <A x, r>
      const adjoint = floats(out[result.gradNames[name]!]!); // A^T r
      assert.deepEqual(out[result.gradNames[name]!]!.dims, c.inputs[name]!.shape, `gradient of '${name}' has the wrong dims`);
      const scale = Math.max(Math.sqrt(dot(x, x) * dot(adjoint, adjoint)), 1e-6);
      const error = Math.abs(forward - dot(x, adjoint)) / scale;
      worst = Math.max(worst, error);
      if (!(error <= tol)) {
        assert.fail(`adjoint check failed (tol ${tol}): <A x, r> = ${forward.toPrecision(7)} but <x, A^T r> = ${dot(x, adjoint).toPrecision(7)} (rel. error ${error.toExponential(2)})`);
      }
    }
  });
  return { worst, model: result.model };
}
