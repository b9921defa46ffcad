// Fixes a model's dynamic input dimensions (dim_param) to numbers. A symbolic name bound by one
// input (e.g. 'batch' = 2) is substituted everywhere it appears: other inputs, outputs and
// value_info, so the model stays self-consistent; conflicting bindings fail naming the input.

import { UserError } from '../../../shared/errors';
import type { Dim, Model, ValueInfo } from '../ir';
import { copyModel } from './graph-edit';

/**
 * `inputShapes`: full shapes for some graph inputs (fixed dims must agree with the model);
 * `dimParams`: values for symbolic names directly. Inputs not named keep their other dims.
 */
export function specialiseShapes(model: Model, inputShapes: Record<string, readonly number[]>, dimParams: Record<string, number> = {}): Model {
  const out = copyModel(model);
  const g = out.graph;
  const bound = new Map<string, { value: number; from: string }>(Object.entries(dimParams).map(([k, v]) => [k, { value: v, from: 'dimParams' }]));
  const fail = (message: string): never => {
    throw new UserError('shape-specialise', `model '${g.name}': ${message}`);
  };
  for (const [name, shape] of Object.entries(inputShapes)) {
    const input = g.inputs.find((i) => i.name === name);
    if (!input) fail(`no graph input '${name}' (inputs: ${g.inputs.map((i) => i.name).join(', ')})`);
    for (const d of shape) if (!Number.isInteger(d) || d < 0) fail(`input '${name}': [${shape}] is not a list of non-negative integers`);
    if (input!.shape && input!.shape.length !== shape.length) fail(`input '${name}' has rank ${input!.shape.length}, [${shape}] has rank ${shape.length}`);
    input!.shape?.forEach((dim, axis) => {
      const want = shape[axis]!;
      if (typeof dim === 'number') {
        if (dim !== want) fail(`input '${name}' axis ${axis} is fixed at ${dim}, not ${want}`);
      } else if (dim !== '') {
        const prior = bound.get(dim);
        if (prior && prior.value !== want) fail(`'${dim}' is ${prior.value} by ${prior.from} but ${want} by input '${name}'`);
        bound.set(dim, { value: want, from: `input '${name}'` });
      }
    });
    input!.shape = [...shape];
  }
  const substitute = (v: ValueInfo): ValueInfo => {
    if (!v.shape) return v;
    const shape: Dim[] = v.shape.map((d) => (typeof d === 'string' && bound.has(d) ? bound.get(d)!.value : d));
    return { ...v, shape };
  };
  g.inputs = g.inputs.map(substitute);
  g.outputs = g.outputs.map(substitute);
  for (const [k, v] of g.valueInfo) g.valueInfo.set(k, substitute(v));
  return out;
}
