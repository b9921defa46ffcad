// ORT session options per execution provider.

import type { InferenceSession } from 'onnxruntime-node';
import type { ProviderName } from './providers';

export interface ThreadSettings {
  /** ORT intra-op threads; 1 is fastest on 2-core VMs (measured, see test/engine/runtime) */
  intraOpNumThreads: number;
  interOpNumThreads: number;
}

export function ortSessionOptions(provider: ProviderName, threads: ThreadSettings): InferenceSession.SessionOptions {
  const options: InferenceSession.SessionOptions = {
    // a GPU provider lists CPU second so nodes it lacks still run
    executionProviders: provider === 'cpu' ? ['cpu'] : [provider, 'cpu'],
    intraOpNumThreads: threads.intraOpNumThreads,
    interOpNumThreads: threads.interOpNumThreads,
    graphOptimizationLevel: 'all',
  };
  if (provider === 'dml') {
    // DirectML supports neither parallel execution nor ORT's memory-pattern planning
    options.executionMode = 'sequential';
    options.enableMemPattern = false;
  }
  return options;
}
