// Fitting a training graph to the CPU provider's fastest conv kernels before its session opens.
//
// A trainer feeds its weights, and ORT's CPU provider runs a Conv with fed weights on its general
// path; onnx/passes/nchwc-convs.ts lowers such convs to the NCHWc kernels ORT uses for constant
// weights (measured on the benchmark UNet's training graph, batch 4: 55.4 -> 50.8 ms a step).
// Those kernels are CPU-provider internals, so the lowering is applied only when
//   - the session will run on CPU (a GPU provider would hand the nodes back to the CPU),
//   - MLAS reports its NCHWc block size (8 with AVX2, 16 with AVX-512F; probed once: ReorderInput
//     rounds 4 channels up to one block), and
//   - a lowered conv computes what the standard Conv does on this build (checked once per
//     process, on both filter layouts), so a future onnxruntime that changes the layouts falls
//     back to the standard graph, with the reason logged, instead of training on wrong convs.
import type { Model } from '../onnx/ir';
import { GraphBuilder } from '../onnx/builder';
import { encodeModel } from '../onnx/serialize';
import { lowerConvsToNchwc, NCHWC_DOMAIN } from '../onnx/passes/nchwc-convs';
import { createSession, logRuntime, plannedProvider, type HostTensor, type SessionOptions } from '../runtime';
import { Rng } from '../../shared/random';

/** How a training graph's convs are run on CPU: 'nchwc' lowers fed-weight convs when it can. */
export type CpuConvKernels = 'nchwc' | 'standard';

let blockSizeProbe: Promise<number | undefined> | undefined;

async function runOnCpu(model: Model, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const session = await createSession(encodeModel(model), { provider: 'cpu', intraOpNumThreads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** MLAS's NCHWc block size: the channels ReorderInput gives 4 input channels. */
async function reportedBlockSize(): Promise<number> {
  const b = new GraphBuilder('nchwc block size', { opsetImports: [{ domain: '', version: 17 }, { domain: NCHWC_DOMAIN, version: 1 }] });
  b.input('x', 'float32', [1, 4, 1, 1]);
  b.output(b.op('ReorderInput', ['x'], {}, { domain: NCHWC_DOMAIN }), 'y', { dtype: 'float32', shape: [1, 'c', 1, 1] });
  const out = await runOnCpu(b.toModel(), { x: { dtype: 'float32', dims: [1, 4, 1, 1], data: new Float32Array(4) } });
  return out.y!.dims[1]!;
}

/**
 * Largest |lowered - standard| relative to the largest |standard| over two fed-weight convs:
 * one per filter layout (input channels a whole block / fewer than a block), output channels
 * padded up to a block, with bias.
 */
async function loweringError(blockSize: number): Promise<number> {
  const rng = new Rng(20261127);
  const b = new GraphBuilder('nchwc check');
  const feeds: Record<string, HostTensor> = {};
  const fed = (name: string, dims: number[]): string => {
    feeds[name] = { dtype: 'float32', dims, data: rng.normals(dims.reduce((a, d) => a * d, 1)) };
    return b.input(name, 'float32', dims);
  };
  const outputs: string[] = [];
  for (const [channels, tag] of [[blockSize, 'blocked'], [3, 'nchw']] as const) {
    const outChannels = blockSize + 4;
    const y = b.op('Conv', [fed(`x_${tag}`, [2, channels, 7, 6]), fed(`w_${tag}`, [outChannels, channels, 3, 3]), fed(`b_${tag}`, [outChannels])], { pads: [1, 1, 1, 1] });
    outputs.push(b.output(y, `y_${tag}`, { dtype: 'float32', shape: [2, outChannels, 7, 6] }));
  }
  const model = b.toModel();
  const lowered = lowerConvsToNchwc(model, blockSize);
  if (!lowered.graph.nodes.some((n) => n.domain === NCHWC_DOMAIN)) throw new Error('no conv was lowered');
  const [want, got] = await Promise.all([runOnCpu(model, feeds), runOnCpu(lowered, feeds)]);
  let scale = 0;
  let error = 0;
  for (const name of outputs) {
    const w = want[name]!.data as Float32Array;
    const g = got[name]!.data as Float32Array;
    for (let i = 0; i < w.length; i++) {
      scale = Math.max(scale, Math.abs(w[i]!));
      error = Math.max(error, Math.abs(w[i]! - g[i]!));
    }
  }
  return error / scale;
}

async function probe(): Promise<number | undefined> {
  try {
    const blockSize = await reportedBlockSize();
    // MLAS without NCHWc kernels reports 1, which leaves 4 channels at 4: indistinguishable from a block of 4
    if (blockSize < 8) {
      logRuntime(`NCHWc conv kernels unused for training: block size ${blockSize}`);
      return undefined;
    }
    const error = await loweringError(blockSize);
    if (!(error < 1e-4)) {
      logRuntime(`NCHWc conv kernels unused for training: a lowered conv differs from the standard one by ${error.toExponential(2)} (relative)`);
      return undefined;
    }
    return blockSize;
  } catch (e) {
    logRuntime(`NCHWc conv kernels unused for training: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/** MLAS's NCHWc block size when lowered convs are usable here (probed and checked once per process), else undefined. */
export function nchwcBlockSize(): Promise<number | undefined> {
  blockSizeProbe ??= probe();
  return blockSizeProbe;
}

/**
 * `model` as its session should run it: with fed-weight convs lowered to NCHWc kernels when
 * `kernels` is 'nchwc', the session will run on CPU and the kernels passed the check; else as it is.
 */
export async function fitToCpuKernels(model: Model, session: SessionOptions | undefined, kernels: CpuConvKernels): Promise<Model> {
  if (kernels === 'standard' || plannedProvider(session?.provider) !== 'cpu') return model;
  const blockSize = await nchwcBlockSize();
  return blockSize === undefined ? model : lowerConvsToNchwc(model, blockSize);
}
