// Session creation with execution-provider fallback: try the preferred provider, and when ORT
// refuses it (library missing, driver too old, unsupported op), log why and open on CPU.

import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { ortSessionOptions, type ThreadSettings } from './session-options';
import { providerAttempts, type ProviderName, type ProviderRequest } from './providers';

/** The part of ORT's InferenceSession the runtime uses (tests substitute fakes). */
export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, Tensor>, fetches?: string[]): Promise<Record<string, Tensor>>;
  /** stops ORT's profiler (sessions opened with enableProfiling) */
  endProfiling?(): void;
  release(): Promise<void>;
}

export interface OpenDeps {
  create(model: Uint8Array | string, options: InferenceSession.SessionOptions): Promise<OrtSessionLike>;
  available: readonly ProviderName[];
  log(message: string): void;
}

export interface Opened {
  session: OrtSessionLike;
  provider: ProviderName;
  /** why the preferred provider was not used, when it was not */
  fallbackReason?: string;
}

export function describeModel(model: Uint8Array | string): string {
  return typeof model === 'string' ? `'${model}'` : `a ${model.length}-byte model`;
}

export async function openWithFallback(model: Uint8Array | string, request: ProviderRequest, threads: ThreadSettings, deps: OpenDeps): Promise<Opened> {
  const failures: string[] = [];
  for (const provider of providerAttempts(request, deps.available)) {
    try {
      const session = await deps.create(model, ortSessionOptions(provider, threads));
      const opened: Opened = { session, provider };
      if (failures.length > 0) opened.fallbackReason = failures.join('; ');
      return opened;
    } catch (e) {
      const reason = `${provider}: ${(e as Error).message.split('\n')[0]}`;
      if (provider === 'cpu') {
        throw new Error(`onnxruntime could not open ${describeModel(model)} (${[...failures, reason].join('; ')})`, { cause: e });
      }
      failures.push(reason);
      deps.log(`execution provider '${provider}' failed for ${describeModel(model)}; falling back to CPU (${reason})`);
    }
  }
  throw new Error('unreachable: the CPU provider is always attempted last');
}
