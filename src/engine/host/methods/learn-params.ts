// Checks of the learning methods' params (they cross a process boundary as unknown).
import { UserError } from '../../../shared/errors';
import { integerParam, optionalStringParam } from '../params';

export function requiredString(method: string, p: Record<string, unknown>, field: string): string {
  const v = optionalStringParam(method, p, field);
  if (v === undefined || v === '') throw new UserError('BAD_PARAMS', `${method}: ${field} is required`);
  return v;
}

export function optionalInteger(method: string, p: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  return p[field] === undefined ? undefined : integerParam(method, p, field, min, max);
}

export function optionalNumber(method: string, p: Record<string, unknown>, field: string, ok: (v: number) => boolean, range: string): number | undefined {
  const v = p[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new UserError('BAD_PARAMS', `${method}: ${field} must be ${range} (got ${JSON.stringify(v)})`);
  return v;
}

export function optionalBoolean(method: string, p: Record<string, unknown>, field: string): boolean | undefined {
  const v = p[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new UserError('BAD_PARAMS', `${method}: ${field} must be true or false (got ${JSON.stringify(v)})`);
  return v;
}

/** Drops undefined values, so optional settings fall back to their defaults. */
export function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
