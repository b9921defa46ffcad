import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradCheck, type InputSpec } from '../../helpers/gradcheck';
import type { GraphBuilder } from '../../../src/engine/onnx/builder';

const w = (shape: number[]): InputSpec => ({ shape, wrt: true });
const matmul = (b: GraphBuilder, x: Record<string, string>): string => b.op('MatMul', [x.a!, x.b!]);

test('MatMul: matrices, batched, broadcast batch dims', async () => {
  await gradCheck({ build: matmul, inputs: { a: w([3, 4]), b: w([4, 2]) } });
  await gradCheck({ build: matmul, inputs: { a: w([2, 3, 4]), b: w([2, 4, 5]) } });
  await gradCheck({ build: matmul, inputs: { a: w([2, 1, 3, 4]), b: w([3, 4, 2]) } });
  await gradCheck({ build: matmul, inputs: { a: w([3, 4]), b: w([2, 4, 2]) } });
});

test('MatMul with 1-D operands: vector-matrix, matrix-vector, dot, batched-vector', async () => {
  await gradCheck({ build: matmul, inputs: { a: w([4]), b: w([4, 3]) } });
  await gradCheck({ build: matmul, inputs: { a: w([3, 4]), b: w([4]) } });
  await gradCheck({ build: matmul, inputs: { a: w([5]), b: w([5]) } });
  await gradCheck({ build: matmul, inputs: { a: w([2, 3, 4]), b: w([4]) } });
  await gradCheck({ build: matmul, inputs: { a: w([4]), b: w([2, 4, 3]) } });
});

test('Gemm: every transA/transB combination with alpha and beta', async () => {
  for (const [transA, transB] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
    await gradCheck({
      build: (b, x) => b.op('Gemm', [x.a!, x.b!, x.c!], { transA, transB, alpha: 0.7, beta: -1.3 }),
      inputs: { a: w(transA ? [4, 3] : [3, 4]), b: w(transB ? [2, 4] : [4, 2]), c: w([3, 2]) },
    });
  }
});

test('Gemm: C broadcast from [N], [M, 1] and a scalar; no C', async () => {
  const gemm = (b: GraphBuilder, x: Record<string, string>): string => b.op('Gemm', [x.a!, x.b!, x.c!], { beta: 0.5 });
  await gradCheck({ build: gemm, inputs: { a: w([3, 4]), b: w([4, 2]), c: w([2]) } });
  await gradCheck({ build: gemm, inputs: { a: w([3, 4]), b: w([4, 2]), c: w([3, 1]) } });
  await gradCheck({ build: gemm, inputs: { a: w([3, 4]), b: w([4, 2]), c: w([]) } });
  await gradCheck({ build: (b, x) => b.op('Gemm', [x.a!, x.b!], { transB: 1 }), inputs: { a: w([3, 4]), b: w([2, 4]) } });
});

test('MatMul with a 2-D weight shared over batched tokens: one GEMM over the flattened rows, no batch ReduceSum', async () => {
  for (const aShape of [
    [2, 3, 4],
    [2, 3, 5, 4],
  ]) {
    const report = await gradCheck({ build: matmul, inputs: { a: w(aShape), b: { shape: [4, 3], wrt: true, initializer: true } } });
    const ops = report.model.graph.nodes.map((nd) => nd.opType);
    assert.equal(ops.filter((t) => t === 'ReduceSum').length, 1, `[${aShape}]: only the loss's ReduceSum: ${ops.join(',')}`);
  }
});
