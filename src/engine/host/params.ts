// Checks for method params that crossed the process boundary. Failures are UserErrors naming
// the method and the field, so a bad call from the UI or CLI reads as what it is.
import { UserError } from '../../shared/errors';

export function paramsObject(method: string, params: unknown): Record<string, unknown> {
  if (params === undefined || params === null) return {};
  if (typeof params !== 'object' || Array.isArray(params)) {
    throw new UserError('BAD_PARAMS', `${method}: params must be an object`);
  }
  return params as Record<string, unknown>;
}

export function integerParam(method: string, params: Record<string, unknown>, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = params[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new UserError('BAD_PARAMS', `${method}: ${field} must be an integer in [${min}, ${max}] (got ${JSON.stringify(v)})`);
  }
  return v;
}

export function optionalIntegerParam(method: string, params: Record<string, unknown>, field: string, min: number): number | undefined {
  return params[field] === undefined ? undefined : integerParam(method, params, field, min);
}

export function optionalStringParam(method: string, params: Record<string, unknown>, field: string): string | undefined {
  const v = params[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UserError('BAD_PARAMS', `${method}: ${field} must be a string (got ${JSON.stringify(v)})`);
  return v;
}
