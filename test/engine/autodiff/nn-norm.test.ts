// Gradient checks for the normalisation rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradCheck } from '../../helpers/gradcheck';

test('InstanceNormalization gradient for X, scale and B (2-D spatial)', async () => {
  await gradCheck({
    inputs: {
      x: { shape: [2, 3, 4, 3], wrt: true },
      scale: { shape: [3], wrt: true, initializer: true },
      bias: { shape: [3], wrt: true, initializer: true },
    },
    build: (b, i) => b.op('InstanceNormalization', [i.x!, i.scale!, i.bias!], { epsilon: 1e-3 }),
  });
});

test('InstanceNormalization gradient, 1-D spatial, default epsilon', async () => {
  await gradCheck({
    inputs: { x: { shape: [1, 2, 7], wrt: true }, scale: { shape: [2], wrt: false, initializer: true }, bias: { shape: [2], wrt: false, initializer: true } },
    build: (b, i) => b.op('InstanceNormalization', [i.x!, i.scale!, i.bias!]),
  });
});

test('LayerNormalization gradient over the last axis', async () => {
  await gradCheck({
    inputs: {
      x: { shape: [3, 2, 6], wrt: true },
      scale: { shape: [6], wrt: true, initializer: true },
      bias: { shape: [6], wrt: true, initializer: true },
    },
    build: (b, i) => b.op('LayerNormalization', [i.x!, i.scale!, i.bias!], { epsilon: 1e-4 }),
  });
});

test('LayerNormalization gradient with axis 1 (two normalised axes), no bias', async () => {
  await gradCheck({
    inputs: { x: { shape: [2, 3, 4], wrt: true }, scale: { shape: [3, 4], wrt: true, initializer: true } },
    build: (b, i) => b.op('LayerNormalization', [i.x!, i.scale!], { axis: 1 }),
  });
});

test('LayerNormalization gradient with a scale that broadcasts along a normalised axis', async () => {
  await gradCheck({
    inputs: { x: { shape: [2, 3, 4], wrt: true }, scale: { shape: [1, 4], wrt: true, initializer: true } },
    build: (b, i) => b.op('LayerNormalization', [i.x!, i.scale!], { axis: -2 }),
  });
});

test('LayerNormalization gradient through its Mean and InvStdDev outputs too', async () => {
  await gradCheck({
    inputs: { x: { shape: [2, 5], wrt: true }, scale: { shape: [5], wrt: true, initializer: true }, bias: { shape: [5], wrt: false, initializer: true } },
    build: (b, i) => b.opN('LayerNormalization', [i.x!, i.scale!, i.bias!], { epsilon: 0.1 }, { outputs: 3 }),
  });
});

test('GroupNormalization gradient, opset 18 (one scale per group)', async () => {
  await gradCheck({
    inputs: {
      x: { shape: [2, 6, 3, 2], wrt: true },
      scale: { shape: [3], wrt: true, initializer: true },
      bias: { shape: [3], wrt: true, initializer: true },
    },
    build: (b, i) => b.op('GroupNormalization', [i.x!, i.scale!, i.bias!], { num_groups: 3, epsilon: 1e-3 }),
    opset: 18,
  });
});

test('GroupNormalization gradient, opset 21 (one scale per channel)', async () => {
  await gradCheck({
    inputs: {
      x: { shape: [2, 6, 3, 2], wrt: true },
      scale: { shape: [6], wrt: true, initializer: true },
      bias: { shape: [6], wrt: true, initializer: true },
    },
    build: (b, i) => b.op('GroupNormalization', [i.x!, i.scale!, i.bias!], { num_groups: 2 }),
    opset: 21,
  });
});

test('BatchNormalization (inference form) gradient for X, scale, B, mean and var', async () => {
  await gradCheck({
    inputs: {
      x: { shape: [2, 3, 3, 2], wrt: true },
      scale: { shape: [3], wrt: true, initializer: true },
      bias: { shape: [3], wrt: true, initializer: true },
      mean: { shape: [3], wrt: true, initializer: true },
      variance: { shape: [3], wrt: true, initializer: true, generator: (rng, n) => rng.uniforms(n, 0.5, 2) },
    },
    build: (b, i) => b.op('BatchNormalization', [i.x!, i.scale!, i.bias!, i.mean!, i.variance!], { epsilon: 1e-3 }),
  });
});

test('BatchNormalization in training mode is refused with the node named', async () => {
  await assert.rejects(
    gradCheck({
      inputs: { x: { shape: [2, 2, 2], wrt: true } },
      build: (b, i) => {
        const c = (v: number): string => b.constant([v, v], [2]);
        return b.opN('BatchNormalization', [i.x!, c(1), c(0), c(0), c(1)], { training_mode: 1 }, { outputs: 3, name: 'bn_train' })[0]!;
      },
      opset: 15,
    }),
    /bn_train.*training mode/,
  );
});
