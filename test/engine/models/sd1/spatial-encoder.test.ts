import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSd1SpatialEncoder, encoderMaskInput, SD1_ENCODER_SIDE, SD1_SPATIAL_TOKENS, tableRms } from '../../../../src/engine/models/sd1/spatial-encoder';
import { widenToFloat32, hasFloat16 } from '../../../../src/engine/models/sd1/float32-graph';
import { encodeModel } from '../../../../src/engine/onnx/serialize';
import { createSession } from '../../../../src/engine/runtime';
import { toFloat16 } from '../../../fixtures/sd1/to-float16';
import { buildTextEncoder } from '../../../fixtures/sd1/models';

const S = SD1_ENCODER_SIDE;

test('the mask E reads: a one-pixel line of a 512x512 mask survives, a 20x12 mask fills whole cells', () => {
  const big = new Uint8Array(512 * 512);
  for (let x = 100; x < 300; x++) big[257 * 512 + x] = 1; // row 257: cell row floor(257 / 8) = 32
  const a = encoderMaskInput(big, { width: 512, height: 512 });
  assert.equal(a.length, S * S);
  const hits = [...a.keys()].filter((i) => a[i] === 1);
  assert.deepEqual([...new Set(hits.map((i) => Math.floor(i / S)))], [32]);
  assert.deepEqual([Math.min(...hits.map((i) => i % S)), Math.max(...hits.map((i) => i % S))], [12, 37]); // x 100..299 / 8
  assert.ok(a.every((v) => v === 1 || v === -1));

  // an image smaller than E's input: a cell is defect when it overlaps a defect pixel (no gaps)
  const small = new Uint8Array(20 * 12);
  for (let y = 0; y < 12; y++) small[y * 20 + 19] = 1; // the last column
  const b = encoderMaskInput(small, { width: 20, height: 12 });
  for (let cy = 0; cy < S; cy++) {
    for (let cx = 0; cx < S; cx++) assert.equal(b[cy * S + cx], ((cx + 1) * 20) / S > 19 ? 1 : -1, `cell ${cx},${cy}`);
  }
  assert.throws(() => encoderMaskInput(small, { width: 10, height: 12 }), /240 pixels/);
});

test("E's tokens start at the token table's scale and depend on where the mask is", async () => {
  const width = 32;
  const scale = 0.02;
  const model = buildSd1SpatialEncoder({ tokenWidth: width, tokenScale: scale, opsetImports: [{ domain: '', version: 17 }], batch: 1 });
  const session = await createSession(encodeModel(model));
  const run = async (x0: number): Promise<Float32Array> => {
    const mask = new Uint8Array(64 * 64);
    for (let y = 10; y < 30; y++) for (let x = x0; x < x0 + 20; x++) mask[y * 64 + x] = 1;
    const out = await session.run({ mask: { dtype: 'float32', dims: [1, 1, S, S], data: encoderMaskInput(mask, { width: 64, height: 64 }) } }, ['tokens']);
    return out['tokens']!.data as Float32Array;
  };
  const left = await run(4);
  const right = await run(40);
  assert.equal(left.length, SD1_SPATIAL_TOKENS * width);
  const rms = tableRms(left);
  assert.ok(rms > scale / 30 && rms < scale * 30, `token RMS ${rms} is far from the table's ${scale}`);
  let diff = 0;
  for (let i = 0; i < left.length; i++) diff += (left[i]! - right[i]!) ** 2;
  assert.ok(Math.sqrt(diff / left.length) > 0.05 * rms, 'moving the mask changes the tokens');
  await session.release();
  // the same spec gives the same graph (an artifact stores only the weights)
  const again = buildSd1SpatialEncoder({ tokenWidth: width, tokenScale: scale, opsetImports: [{ domain: '', version: 17 }], batch: 1 });
  assert.deepEqual(encodeModel(again), encodeModel(model));
});

test('widening an fp16 text encoder to float32 computes what the fp16 graph approximates', async () => {
  const fp32 = buildTextEncoder(3, 60, 'int64');
  const fp16 = toFloat16(fp32);
  assert.ok(hasFloat16(fp16));
  const wide = widenToFloat32(fp16, 'text_encoder/model.onnx');
  assert.ok(!hasFloat16(wide));
  assert.equal(widenToFloat32(fp32, 'x'), fp32, 'a float32 graph is returned as it is');
  const ids = { dtype: 'int64' as const, dims: [1, 77], data: BigInt64Array.from({ length: 77 }, (_, i) => BigInt(i < 5 ? i + 1 : 59)) };
  const a = await createSession(encodeModel(wide));
  const b = await createSession(encodeModel(fp32));
  const wa = (await a.run({ input_ids: ids }, ['last_hidden_state']))['last_hidden_state']!.data as Float32Array;
  const wb = (await b.run({ input_ids: ids }, ['last_hidden_state']))['last_hidden_state']!.data as Float32Array;
  // the weights differ only by their float16 rounding (relative 2^-11)
  let worst = 0;
  for (let i = 0; i < wa.length; i++) worst = Math.max(worst, Math.abs(wa[i]! - wb[i]!));
  assert.ok(worst > 0 && worst < 0.02, `widened vs original float32: ${worst}`);
  await a.release();
  await b.release();
});
