// What each model of an SD 1.x folder takes and returns, read from the graphs themselves. Exports
// differ: timestep int64 (Optimum) or float (diffusers' script, float16 in fp16 exports), a scalar
// or one per batch item; the VAE encoder returns a latent sample or the posterior's parameters
// (mean and log-variance, 2C channels); float32 or float16 throughout. Anything else is refused
// here, naming the model, the input and its shape, before any compute.

import { UserError } from '../../../shared/errors';
import type { DType, Model, ValueInfo } from '../../onnx/ir';

export type FloatType = 'float32' | 'float16';
export type TimestepType = 'int64' | 'int32' | 'float32' | 'float16';

export interface TextEncoderSignature {
  idsInput: string;
  idsType: 'int32' | 'int64';
  hiddenOutput: string;
}

export interface UNetSignature {
  dtype: FloatType;
  sample: ValueInfo;
  context: ValueInfo;
  timestep: { name: string; dtype: TimestepType; rank: 0 | 1 };
  output: string;
}

export interface VaeSignature {
  dtype: FloatType;
  input: ValueInfo;
  output: string;
  /** encoder: 'parameters' = [B, 2C, h, w] mean then log-variance */
  outputKind: 'sample' | 'parameters';
}

const describe = (v: ValueInfo): string => `'${v.name}' (${v.dtype} [${v.shape?.join(', ') ?? '?'}])`;

function fail(file: string, problem: string): never {
  throw new UserError('sd-signature', `${file}: ${problem}`);
}

function floatType(file: string, v: ValueInfo): FloatType {
  if (v.dtype !== 'float32' && v.dtype !== 'float16') fail(file, `input ${describe(v)} must be float32 or float16`);
  return v.dtype;
}

function rank(file: string, v: ValueInfo, expected: number): void {
  if (v.shape?.length !== expected) fail(file, `input ${describe(v)} must have rank ${expected}`);
}

function only(file: string, model: Model, allowed: readonly string[]): void {
  for (const v of model.graph.inputs) {
    if (!allowed.includes(v.name)) fail(file, `input ${describe(v)} is not understood (an SD 1.x model takes ${allowed.join(', ')})`);
  }
  for (const name of allowed) if (!model.graph.inputs.some((v) => v.name === name)) fail(file, `has no input '${name}' (inputs: ${model.graph.inputs.map(describe).join(', ')})`);
}

function input(model: Model, name: string): ValueInfo {
  return model.graph.inputs.find((v) => v.name === name)!;
}

function outputNamed(file: string, model: Model, names: readonly string[]): string {
  const found = model.graph.outputs.find((o) => names.includes(o.name));
  if (!found) fail(file, `has no output ${names.map((n) => `'${n}'`).join(' or ')} (outputs: ${model.graph.outputs.map(describe).join(', ')})`);
  return found.name;
}

export function textEncoderSignature(file: string, model: Model): TextEncoderSignature {
  only(file, model, ['input_ids']);
  const ids = input(model, 'input_ids');
  rank(file, ids, 2);
  if (ids.dtype !== 'int32' && ids.dtype !== 'int64') fail(file, `input ${describe(ids)} must be int32 or int64`);
  return { idsInput: ids.name, idsType: ids.dtype, hiddenOutput: outputNamed(file, model, ['last_hidden_state']) };
}

export function unetSignature(file: string, model: Model): UNetSignature {
  only(file, model, ['sample', 'timestep', 'encoder_hidden_states']);
  const sample = input(model, 'sample');
  const context = input(model, 'encoder_hidden_states');
  const timestep = input(model, 'timestep');
  rank(file, sample, 4);
  rank(file, context, 3);
  const dtype = floatType(file, sample);
  if (floatType(file, context) !== dtype) fail(file, `inputs ${describe(sample)} and ${describe(context)} differ in precision`);
  const timestepTypes: readonly DType[] = ['int64', 'int32', 'float32', 'float16'];
  if (!timestepTypes.includes(timestep.dtype)) fail(file, `input ${describe(timestep)} must be int64, int32, float32 or float16`);
  const r = timestep.shape?.length;
  if (r !== 0 && r !== 1) fail(file, `input ${describe(timestep)} must be a scalar or [batch]`);
  return { dtype, sample, context, timestep: { name: timestep.name, dtype: timestep.dtype as TimestepType, rank: r }, output: outputNamed(file, model, ['out_sample']) };
}

export function vaeEncoderSignature(file: string, model: Model): VaeSignature {
  only(file, model, ['sample']);
  const sample = input(model, 'sample');
  rank(file, sample, 4);
  const output = outputNamed(file, model, ['latent_parameters', 'latent_sample', 'latent_dist']);
  return { dtype: floatType(file, sample), input: sample, output, outputKind: output === 'latent_sample' ? 'sample' : 'parameters' };
}

export function vaeDecoderSignature(file: string, model: Model): VaeSignature {
  only(file, model, ['latent_sample']);
  const latent = input(model, 'latent_sample');
  rank(file, latent, 4);
  return { dtype: floatType(file, latent), input: latent, output: outputNamed(file, model, ['sample']), outputKind: 'sample' };
}
