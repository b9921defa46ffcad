// The ONE module that imports onnxruntime-node. Everything else passes HostTensors
// ({ dtype, dims, data }) and never sees ORT types.
//
// Execution providers: 'cuda' on Linux when ORT's CUDA provider library sits beside the binding,
// 'dml' on Windows, 'cpu' always; when the preferred provider cannot open a model the session
// falls back to CPU and the reason is logged and reported (Session.fallbackReason, runtimeInfo()).

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { SessionCache, modelIdentity } from './cache';
import { openWithFallback, type OpenDeps, type OrtSessionLike } from './open';
import { ProfileTarget, defaultProfilePrefix } from './profiling';
import { availableProviders, providerAttempts, type ProviderName, type ProviderRequest } from './providers';
import { fromOrt, toOrt, type HostTensor } from './tensors';

export type { HostTensor } from './tensors';
export type { ProviderName, ProviderRequest } from './providers';
export { summariseProfile, type OpTypeTime, type ProfileSummary } from './profiling';

export interface SessionOptions {
  /** ORT intra-op threads (default: the runtime setting, itself 1: fastest on 2-core VMs) */
  intraOpNumThreads?: number;
  /** execution provider (default: the runtime setting, itself 'auto') */
  provider?: ProviderRequest;
  /** record ORT's per-node profile (Chrome-trace JSON) until endProfiling() */
  enableProfiling?: boolean;
  /** where the profile goes: ORT writes `<prefix>_<start time>.json` (default: a unique name in the OS temp folder) */
  profileFilePrefix?: string;
}

export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** the provider the session actually runs on */
  readonly provider: ProviderName;
  /** why the preferred provider was not used, when it was not */
  readonly fallbackReason?: string;
  run(feeds: Record<string, HostTensor>, outputs?: string[]): Promise<Record<string, HostTensor>>;
  /** stops profiling (opened with enableProfiling) and returns the path of the profile file */
  endProfiling(): string;
  release(): Promise<void>;
}

export interface RuntimeSettings {
  intraOpNumThreads: number;
  provider: ProviderRequest;
  /** where fallback reasons are logged */
  log: (message: string) => void;
}

export interface RuntimeInfo {
  onnxruntimeVersion: string;
  /** usable here, best first */
  providersAvailable: ProviderName[];
  /** the provider of the most recent session; before any session, the one 'auto' would pick */
  providerChosen: ProviderName;
  fallbackReason?: string;
  intraOpNumThreads: number;
  interOpNumThreads: number;
}

const INTER_OP_THREADS = 1;

const settings: RuntimeSettings = {
  intraOpNumThreads: 1,
  provider: 'auto',
  log: (message) => console.warn(`[runtime] ${message}`),
};
let lastChosen: { provider: ProviderName; fallbackReason?: string } | undefined;
let providersCache: ProviderName[] | undefined;

/** Changes the defaults used by sessions opened from now on. */
export function configureRuntime(changes: Partial<RuntimeSettings>): void {
  if (changes.intraOpNumThreads !== undefined && !(Number.isInteger(changes.intraOpNumThreads) && changes.intraOpNumThreads >= 1)) {
    throw new Error(`intraOpNumThreads must be a positive integer, got ${changes.intraOpNumThreads}`);
  }
  Object.assign(settings, changes);
}

function bindingDir(): string {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  return path.join(path.dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

function providersHere(): ProviderName[] {
  providersCache ??= availableProviders({
    platform: process.platform,
    bindingBackends: ort.listSupportedBackends().map((b) => b.name),
    bindingDir: bindingDir(),
    fileExists: existsSync,
  });
  return providersCache;
}

const realDeps = (): OpenDeps => ({
  create: async (model, options) => {
    const s = typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
    return {
      inputNames: s.inputNames,
      outputNames: s.outputNames,
      run: async (feeds, fetches) => (fetches ? await s.run(feeds, fetches) : await s.run(feeds)) as Record<string, ort.Tensor>,
      endProfiling: () => s.endProfiling(),
      release: () => s.release(),
    };
  },
  available: providersHere(),
  log: settings.log,
});

function wrap(inner: OrtSessionLike, opened: Omit<OpenedSession, 'inner'>, release: () => Promise<void>): Session {
  const { provider, fallbackReason, profile } = opened;
  const session: Session = {
    inputNames: inner.inputNames,
    outputNames: inner.outputNames,
    provider,
    async run(feeds, outputs) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrt(v, k);
      const result = outputs ? await inner.run(ortFeeds, outputs) : await inner.run(ortFeeds);
      const out: Record<string, HostTensor> = {};
      for (const [k, v] of Object.entries(result)) out[k] = fromOrt(v);
      return out;
    },
    endProfiling() {
      if (profile === undefined) throw new Error('endProfiling: this session was not opened with enableProfiling');
      if (inner.endProfiling === undefined) throw new Error('endProfiling: the onnxruntime session cannot profile');
      inner.endProfiling();
      return profile.writtenFile();
    },
    release,
  };
  return fallbackReason === undefined ? session : { ...session, fallbackReason };
}

interface OpenedSession {
  inner: OrtSessionLike;
  provider: ProviderName;
  fallbackReason?: string;
  /** set when the session profiles */
  profile?: ProfileTarget;
}

/** deps whose sessions profile into `target` (the listing before opening tells its file apart). */
function profilingDeps(deps: OpenDeps, target: ProfileTarget): OpenDeps {
  return { ...deps, create: (model, ortOptions) => deps.create(model, { ...ortOptions, enableProfiling: true, profileFilePrefix: target.prefix }) };
}

async function open(model: Uint8Array | string, options: SessionOptions, deps: OpenDeps): Promise<OpenedSession> {
  const intraOpNumThreads = options.intraOpNumThreads ?? settings.intraOpNumThreads;
  const profile = options.enableProfiling ? new ProfileTarget(options.profileFilePrefix ?? defaultProfilePrefix()) : undefined;
  const openDeps = profile ? profilingDeps(deps, profile) : deps;
  const opened = await openWithFallback(model, options.provider ?? settings.provider, { intraOpNumThreads, interOpNumThreads: INTER_OP_THREADS }, openDeps);
  lastChosen = { provider: opened.provider };
  if (opened.fallbackReason !== undefined) lastChosen.fallbackReason = opened.fallbackReason;
  return {
    inner: opened.session,
    provider: opened.provider,
    ...(opened.fallbackReason !== undefined ? { fallbackReason: opened.fallbackReason } : {}),
    ...(profile ? { profile } : {}),
  };
}

/**
 * Creates an inference session from model bytes or a path to a .onnx file (use the path when the
 * model has external data, so ORT resolves it). The caller owns it and releases it.
 */
export async function createSession(model: Uint8Array | string, options: SessionOptions = {}): Promise<Session> {
  const { inner, ...opened } = await open(model, options, realDeps());
  return wrap(inner, opened, () => inner.release());
}

const cache = new SessionCache<Session>();

function cacheKey(model: Uint8Array | string, options: SessionOptions): string {
  const intra = options.intraOpNumThreads ?? settings.intraOpNumThreads;
  const provider = options.provider ?? settings.provider;
  // a profiling session records only its own runs, so it is never shared with plain ones
  const profile = options.enableProfiling ? `|profile=${options.profileFilePrefix ?? 'default'}` : '';
  return `${modelIdentity(model)}|intra=${intra}|provider=${provider}${profile}`;
}

/**
 * A session shared by everyone asking for the same model with the same options. `release()` on
 * it closes it for all holders; releaseCachedSessions() closes every one.
 */
export function cachedSession(model: Uint8Array | string, options: SessionOptions = {}): Promise<Session> {
  const key = cacheKey(model, options);
  return cache.getOrOpen(key, async () => {
    const { inner, ...opened } = await open(model, options, realDeps());
    let released = false;
    return wrap(inner, opened, async () => {
      if (released) return;
      released = true;
      void cache.evict(key).catch(() => undefined);
      await inner.release();
    });
  });
}

export function releaseCachedSessions(): Promise<void> {
  return cache.clear();
}

export function cachedSessionCount(): number {
  return cache.size;
}

/** Logs through the runtime's log (configureRuntime), where provider fallbacks go. */
export function logRuntime(message: string): void {
  settings.log(message);
}

/** The provider a session opened with `request` (default: the runtime setting) tries first. */
export function plannedProvider(request?: ProviderRequest): ProviderName {
  return providerAttempts(request ?? settings.provider, providersHere())[0]!;
}

export function runtimeInfo(): RuntimeInfo {
  const providersAvailable = providersHere();
  const info: RuntimeInfo = {
    onnxruntimeVersion: onnxruntimeVersion(),
    providersAvailable: [...providersAvailable],
    providerChosen: lastChosen?.provider ?? (settings.provider === 'auto' ? providersAvailable[0]! : settings.provider),
    intraOpNumThreads: settings.intraOpNumThreads,
    interOpNumThreads: INTER_OP_THREADS,
  };
  if (lastChosen?.fallbackReason !== undefined) info.fallbackReason = lastChosen.fallbackReason;
  return info;
}

export function onnxruntimeVersion(): string {
  return ort.env.versions.common ?? 'unknown';
}
