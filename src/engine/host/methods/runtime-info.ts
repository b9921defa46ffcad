// What `doctor` reports: the machine as the engine process sees it and the ONNX Runtime facts.
// The runtime module is imported lazily so that starting the engine does not load the native
// onnxruntime binding until a method needs it.
import os from 'node:os';
import type { RuntimeInfoResult } from '../../../shared/engine-protocol';
import type { MethodHandler } from '../handler';

export const runtimeInfo: MethodHandler<'runtimeInfo'> = async () => {
  const runtime = await import('../../runtime');
  const { nchwcBlockSize } = await import('../../autodiff/cpu-kernels');
  const blockSize = await nchwcBlockSize();
  const ort = runtime.runtimeInfo();
  const cpus = os.cpus();
  const result: RuntimeInfoResult = {
    os: { platform: process.platform, release: os.release(), arch: process.arch },
    cpu: { model: cpus[0]?.model.trim() ?? 'unknown', cores: os.availableParallelism() },
    nodeVersion: process.versions.node,
    electronVersion: process.versions.electron ?? null,
    onnxruntimeVersion: ort.onnxruntimeVersion,
    executionProviders: ort.providersAvailable,
    chosenExecutionProvider: ort.providerChosen,
    intraOpNumThreads: ort.intraOpNumThreads,
    interOpNumThreads: ort.interOpNumThreads,
    trainingConvKernels: blockSize === undefined ? 'standard' : `nchwc (block ${blockSize})`,
    pid: process.pid,
  };
  if (ort.fallbackReason !== undefined) result.fallbackReason = ort.fallbackReason;
  return result;
};
