// Which execution providers this machine can use, best first. Pure logic: the platform, the
// backends the ORT binding was built with and the file-existence probe are injected, so the
// choice is testable on any machine.

import path from 'node:path';

export type ProviderName = 'cuda' | 'dml' | 'cpu';

export interface ProviderProbe {
  platform: NodeJS.Platform;
  /** backend names onnxruntime-node's binding lists (listSupportedBackends) */
  bindingBackends: readonly string[];
  /** the folder holding onnxruntime_binding.node (and, for CUDA builds, the provider library) */
  bindingDir: string;
  fileExists(file: string): boolean;
}

/**
 * onnxruntime-node installed with `--onnxruntime-node-install=cuda12` puts this library beside the
 * binding; without it, asking for 'cuda' fails at session creation.
 */
export const CUDA_PROVIDER_LIBRARY = 'libonnxruntime_providers_cuda.so';

/** Providers usable here, best first; 'cpu' is always last and always present. */
export function availableProviders(probe: ProviderProbe): ProviderName[] {
  const out: ProviderName[] = [];
  if (probe.platform === 'linux' && probe.bindingBackends.includes('cuda') && probe.fileExists(path.join(probe.bindingDir, CUDA_PROVIDER_LIBRARY))) {
    out.push('cuda');
  }
  // the Windows build of onnxruntime-node bundles DirectML
  if (probe.platform === 'win32' && probe.bindingBackends.includes('dml')) out.push('dml');
  out.push('cpu');
  return out;
}

export type ProviderRequest = 'auto' | ProviderName;

/**
 * The providers to try, in order, for a request: 'auto' is the best available then CPU; an
 * explicit provider is tried even when the probe did not find it (the user asked), then CPU.
 */
export function providerAttempts(request: ProviderRequest, available: readonly ProviderName[]): ProviderName[] {
  const first = request === 'auto' ? available[0]! : request;
  return first === 'cpu' ? ['cpu'] : [first, 'cpu'];
}
