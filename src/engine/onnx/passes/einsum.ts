// Lowers Einsum to Transpose / MatMul / ReduceSum / Unsqueeze / Squeeze, for the equations SD
// models use ('bij,bjk->bik', 'bhqd,bhkd->bhqk', 'bid,bjd->bij', 'ij->ji', ...).
//
// Two operands: every index is a batch index (in both inputs and the output), a contracted one
// (in both, not in the output), or free (in one input and the output). Indices in one input only
// and not in the output are summed away first. With at most one free index per side and one
// contracted index, A -> [batch, i, k] and B -> [batch, k, j] by Transpose (Unsqueeze supplies a
// size-1 axis for a missing i, j or k), C = MatMul(A, B) = [batch, i, j], then a Transpose (and
// Squeeze of the supplied axes) gives the output order. Anything else fails naming the equation.

import type { Model, Node } from '../ir';
import { PassError, reduceSum, rewriteNodes, squeeze, unsqueeze, type RewriteContext } from './graph-edit';

const PASS = 'lowerEinsum';

interface Equation {
  inputs: string[][];
  output: string[];
}

function parseEquation(node: Node): Equation {
  const attr = node.attrs.equation;
  if (!attr || attr.type !== 'string') throw new PassError(PASS, node, 'missing equation attribute');
  const text = attr.value.replace(/\s+/g, '');
  const fail = (why: string): never => {
    throw new PassError(PASS, node, `equation '${attr.value}' is not supported: ${why}`);
  };
  if (text.includes('.')) fail('ellipsis (...) is not supported');
  const [lhs, rhs] = text.split('->');
  const inputs = lhs!.split(',').map((s) => [...s]);
  for (const term of inputs) {
    if (term.some((c) => !/[a-zA-Z]/.test(c))) fail('indices must be letters');
    if (new Set(term).size !== term.length) fail('an index repeats within one operand (diagonal)');
  }
  let output: string[];
  if (rhs === undefined) {
    // implicit form: the indices that occur once, in alphabetical order
    const counts = new Map<string, number>();
    for (const c of inputs.flat()) counts.set(c, (counts.get(c) ?? 0) + 1);
    output = [...counts].filter(([, n]) => n === 1).map(([c]) => c).sort();
  } else {
    output = [...rhs];
    if (new Set(output).size !== output.length) fail('an output index repeats');
    for (const c of output) if (!inputs.some((t) => t.includes(c))) fail(`output index '${c}' is in no input`);
  }
  if (inputs.length !== node.inputs.length) fail(`${inputs.length} operand terms for ${node.inputs.length} inputs`);
  if (inputs.length < 1 || inputs.length > 2) fail('only one or two operands are supported');
  return { inputs, output };
}

/** Sums away the indices of `term` found in neither `keep` list; returns the new value and term. */
function sumAway(ctx: RewriteContext, value: string, term: string[], keep: Set<string>): [string, string[]] {
  const axes = term.flatMap((c, i) => (keep.has(c) ? [] : [i]));
  if (axes.length === 0) return [value, term];
  return [reduceSum(ctx, value, axes), term.filter((c) => keep.has(c))];
}

function permutation(from: string[], to: string[]): number[] {
  return to.map((c) => from.indexOf(c));
}

function isIdentity(perm: number[]): boolean {
  return perm.every((p, i) => p === i);
}

function transpose(ctx: RewriteContext, value: string, from: string[], to: string[]): string {
  const perm = permutation(from, to);
  return isIdentity(perm) ? value : ctx.b.op('Transpose', [value], { perm });
}

function lowerOne(node: Node, ctx: RewriteContext, eq: Equation): void {
  const out = node.outputs[0]!;
  const outSet = new Set(eq.output);
  if (eq.inputs.length === 1) {
    const [v, term] = sumAway(ctx, node.inputs[0]!, eq.inputs[0]!, outSet);
    const perm = permutation(term, eq.output);
    ctx.b.op(isIdentity(perm) ? 'Identity' : 'Transpose', [v], isIdentity(perm) ? {} : { perm }, { output: out });
    return;
  }
  const [ta, tb] = eq.inputs as [string[], string[]];
  const [a, termA] = sumAway(ctx, node.inputs[0]!, ta, new Set([...outSet, ...tb]));
  const [b, termB] = sumAway(ctx, node.inputs[1]!, tb, new Set([...outSet, ...ta]));
  const batch = eq.output.filter((c) => termA.includes(c) && termB.includes(c));
  const contracted = termA.filter((c) => termB.includes(c) && !outSet.has(c));
  const freeA = termA.filter((c) => !termB.includes(c));
  const freeB = termB.filter((c) => !termA.includes(c));
  if (freeA.length > 1 || freeB.length > 1 || contracted.length > 1) {
    const eqText = (node.attrs.equation as { value: string }).value;
    throw new PassError(PASS, node, `equation '${eqText}' is not supported: more than one free or contracted index per operand`);
  }
  // placeholders for missing axes, made size 1 by Unsqueeze
  const I = freeA[0] ?? '#i';
  const J = freeB[0] ?? '#j';
  const K = contracted[0] ?? '#k';
  const withUnit = (v: string, term: string[], want: string[]): [string, string[]] => {
    const missing = want.filter((c) => c.startsWith('#'));
    if (missing.length === 0) return [v, term];
    // append the unit axes at the end, then they are placed by the Transpose
    return [unsqueeze(ctx, v, missing.map((_, i) => term.length + i)), [...term, ...missing]];
  };
  const wantA = [...batch, I, K];
  const wantB = [...batch, K, J];
  const [ua, ta2] = withUnit(a, termA, [I, K].filter((c) => c.startsWith('#')).length ? wantA : []);
  const [ub, tb2] = withUnit(b, termB, [K, J].filter((c) => c.startsWith('#')).length ? wantB : []);
  const product = ctx.b.op('MatMul', [transpose(ctx, ua, ta2, wantA), transpose(ctx, ub, tb2, wantB)]);
  const productTerm = [...batch, I, J];
  const units = productTerm.flatMap((c, i) => (c === '#i' || c === '#j' ? [i] : []));
  let value = product;
  let term = productTerm;
  if (units.length > 0) {
    value = squeeze(ctx, value, units);
    term = productTerm.filter((c) => !c.startsWith('#'));
  }
  const perm = permutation(term, eq.output);
  ctx.b.op(isIdentity(perm) ? 'Identity' : 'Transpose', [value], isIdentity(perm) ? {} : { perm }, { output: out });
}

/** Replaces every Einsum node; throws naming the node and equation for unsupported ones. */
export function lowerEinsum(model: Model): Model {
  return rewriteNodes(model, (node, ctx) => {
    if (node.opType !== 'Einsum' || node.domain !== '') return false;
    lowerOne(node, ctx, parseEquation(node));
    return true;
  });
}
