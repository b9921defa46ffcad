// A tiny runtime schema validator for IPC requests (no dependency): object shapes with unknown keys
// refused, strings, numbers, booleans, enums, optional fields and absolute paths. Each schema's
// type parameter is the TypeScript type it admits, so the request schemas are checked against the
// IPC contract at compile time. Plain Node: never imports electron.
import { isAbsolute } from 'node:path';

export class SchemaError extends Error {
  /** Where in the value the problem is, e.g. `request.dir`. */
  readonly at: string;
  constructor(at: string, problem: string) {
    super(`${at}: ${problem}`);
    this.name = 'SchemaError';
    this.at = at;
  }
}

export interface Schema<T> {
  /** Returns the value typed as T or throws a SchemaError naming `at`. */
  check(value: unknown, at: string): T;
  readonly optional?: boolean;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string of length ${value.length}`;
  if (typeof value === 'number') return Number.isFinite(value) ? `the number ${value}` : `${value}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

export interface StringOptions {
  minLength?: number;
  maxLength?: number;
}

// Paths and names have no business being megabytes long; 4096 is Linux's PATH_MAX.
const DEFAULT_MAX_STRING = 4096;

export function str(opts: StringOptions = {}): Schema<string> {
  const min = opts.minLength ?? 0;
  const max = opts.maxLength ?? DEFAULT_MAX_STRING;
  return {
    check(value, at) {
      if (typeof value !== 'string') throw new SchemaError(at, `expected a string, got ${describe(value)}`);
      if (value.length < min) throw new SchemaError(at, `must be at least ${min} characters long`);
      if (value.length > max) throw new SchemaError(at, `must be at most ${max} characters long`);
      if (value.includes('\0')) throw new SchemaError(at, 'must not contain a NUL character');
      return value;
    },
  };
}

export interface NumberOptions {
  integer?: boolean;
  min?: number;
  max?: number;
}

export function num(opts: NumberOptions = {}): Schema<number> {
  return {
    check(value, at) {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new SchemaError(at, `expected a finite number, got ${describe(value)}`);
      if (opts.integer && !Number.isInteger(value)) throw new SchemaError(at, `expected an integer, got ${value}`);
      if (opts.min !== undefined && value < opts.min) throw new SchemaError(at, `must be >= ${opts.min}, got ${value}`);
      if (opts.max !== undefined && value > opts.max) throw new SchemaError(at, `must be <= ${opts.max}, got ${value}`);
      return value;
    },
  };
}

export function bool(): Schema<boolean> {
  return {
    check(value, at) {
      if (typeof value !== 'boolean') throw new SchemaError(at, `expected true or false, got ${describe(value)}`);
      return value;
    },
  };
}

export function oneOf<const T extends string>(values: readonly T[]): Schema<T> {
  return {
    check(value, at) {
      if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
        throw new SchemaError(at, `expected one of ${values.map((v) => `'${v}'`).join(', ')}, got ${describe(value)}`);
      }
      return value as T;
    },
  };
}

/** An absolute file-system path of the platform main runs on (relative paths would depend on cwd). */
export function absolutePath(): Schema<string> {
  const base = str({ minLength: 1 });
  return {
    check(value, at) {
      const path = base.check(value, at);
      if (!isAbsolute(path)) throw new SchemaError(at, `must be an absolute path, got '${path}'`);
      return path;
    },
  };
}

export function optional<T>(inner: Schema<T>): Schema<T | undefined> & { readonly optional: true } {
  return {
    optional: true,
    check(value, at) {
      return value === undefined ? undefined : inner.check(value, at);
    },
  };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
type Infer<S> = S extends Schema<infer T> ? T : never;
export type ObjectOf<S extends Shape> = { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> };

/** A plain object with exactly these fields; unknown keys are refused so typos fail loudly. */
export function obj<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
  return {
    check(value, at) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new SchemaError(at, `expected an object, got ${describe(value)}`);
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new SchemaError(at, 'expected a plain object');
      const input = value as Record<string, unknown>;
      for (const key of Object.keys(input)) {
        if (!Object.hasOwn(shape, key)) throw new SchemaError(at, `unknown field '${key}'`);
      }
      const out: Record<string, unknown> = {};
      for (const [key, fieldSchema] of Object.entries(shape)) {
        const checked = fieldSchema.check(input[key], `${at}.${key}`);
        if (checked !== undefined) out[key] = checked;
      }
      return out as ObjectOf<S>;
    },
  };
}

/** The value or null (e.g. "no choice, use the default"). */
export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    check(value, at) {
      return value === null ? null : inner.check(value, at);
    },
  };
}

export interface ArrayOptions {
  maxLength: number;
}

/** An array whose every item passes `item`; long arrays are refused (no unbounded work per call). */
export function arrayOf<T>(item: Schema<T>, opts: ArrayOptions): Schema<T[]> {
  return {
    check(value, at) {
      if (!Array.isArray(value)) throw new SchemaError(at, `expected an array, got ${describe(value)}`);
      if (value.length > opts.maxLength) throw new SchemaError(at, `must hold at most ${opts.maxLength} items, got ${value.length}`);
      return value.map((v, i) => item.check(v, `${at}[${i}]`));
    },
  };
}

/** A string that matches `pattern` in full; `what` names the expected form in the error. */
export function matching(pattern: RegExp, what: string, opts: StringOptions = {}): Schema<string> {
  const base = str(opts);
  return {
    check(value, at) {
      const s = base.check(value, at);
      if (!pattern.test(s)) throw new SchemaError(at, `expected ${what}`);
      return s;
    },
  };
}

/** Standard base64 (what a PNG's bytes become in JSON), at most `maxLength` characters. */
export function base64(maxLength: number): Schema<string> {
  return matching(/^[A-Za-z0-9+/]*={0,2}$/, 'base64 data', { minLength: 4, maxLength });
}

/** A database row id: a positive integer. */
export function rowId(): Schema<number> {
  return num({ integer: true, min: 1, max: Number.MAX_SAFE_INTEGER });
}
