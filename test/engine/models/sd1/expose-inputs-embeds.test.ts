import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../../../src/engine/onnx/builder';
import { exposeInputsEmbeds, INPUTS_EMBEDS, tokenEmbeddingTable } from '../../../../src/engine/onnx/passes/expose-inputs-embeds';
import type { HostTensor } from '../../../../src/engine/runtime';
import { Rng } from '../../../../src/shared/random';
import { buildTextEncoder, CONTEXT_LENGTH, TEXT_WIDTH } from '../../../fixtures/sd1/models';
import { runModel } from '../../onnx/passes/helpers';

const VOCAB = 40;

function ids(rng: Rng, batch: number): number[] {
  // start token, random words, the end token (the largest id) and padding, per row
  const out: number[] = [];
  for (let b = 0; b < batch; b++) {
    const words = 3 + rng.int(10);
    const row = [VOCAB - 2, ...Array.from({ length: words }, () => rng.int(VOCAB - 2)), VOCAB - 1];
    while (row.length < CONTEXT_LENGTH) row.push(VOCAB - 1);
    out.push(...row);
  }
  return out;
}

for (const idsType of ['int32', 'int64'] as const) {
  test(`inputs_embeds = table[input_ids] reproduces the original text encoder exactly (${idsType} ids)`, async () => {
    const original = buildTextEncoder(3, VOCAB, idsType);
    const exposed = exposeInputsEmbeds(original);
    const embedsInput = exposed.graph.inputs.find((i) => i.name === INPUTS_EMBEDS);
    assert.deepEqual(embedsInput?.shape, ['batch_size', 'sequence_length', TEXT_WIDTH]);
    // the pooled output still reads input_ids (argmax finds the end token), so it stays an input
    assert.ok(exposed.graph.inputs.some((i) => i.name === 'input_ids'));
    assert.ok(!exposed.graph.nodes.some((n) => n.opType === 'Gather' && n.inputs[0] === 'text_model.embeddings.token_embedding.weight'));
    assert.ok(original.graph.nodes.some((n) => n.opType === 'Gather' && n.inputs[0] === 'text_model.embeddings.token_embedding.weight'), 'the caller\'s model is untouched');

    const batch = 2;
    const tokens = ids(new Rng(9), batch);
    const idsTensor: HostTensor = idsType === 'int64'
      ? { dtype: 'int64', dims: [batch, CONTEXT_LENGTH], data: BigInt64Array.from(tokens, (v) => BigInt(v)) }
      : { dtype: 'int32', dims: [batch, CONTEXT_LENGTH], data: Int32Array.from(tokens) };
    const table = await tokenEmbeddingTable(original, 'in-memory.onnx');
    assert.equal(table.vocabSize, VOCAB);
    assert.equal(table.width, TEXT_WIDTH);
    const values = table.data as Float32Array;
    const embeds = new Float32Array(batch * CONTEXT_LENGTH * TEXT_WIDTH);
    tokens.forEach((id, row) => embeds.set(values.subarray(id * TEXT_WIDTH, (id + 1) * TEXT_WIDTH), row * TEXT_WIDTH));

    const before = await runModel(original, { input_ids: idsTensor });
    const after = await runModel(exposed, { input_ids: idsTensor, [INPUTS_EMBEDS]: { dtype: 'float32', dims: [batch, CONTEXT_LENGTH, TEXT_WIDTH], data: embeds } });
    assert.deepEqual(after.last_hidden_state!.data, before.last_hidden_state!.data);
    assert.deepEqual(after.pooler_output!.data, before.pooler_output!.data);
  });
}

test('input_ids is removed when nothing but the lookup read it', () => {
  const b = new GraphBuilder('embed_only');
  const idsIn = b.input('input_ids', 'int64', ['batch', 4]);
  const table = b.param('emb', [10, 3]);
  b.output(b.op('Gather', [table, b.op('Cast', [idsIn], { to: 7 })]), 'out', { shape: ['batch', 4, 3] });
  const exposed = exposeInputsEmbeds(b.toModel());
  assert.deepEqual(exposed.graph.inputs.map((i) => i.name), [INPUTS_EMBEDS]);
  assert.deepEqual(exposed.graph.outputs.map((o) => o.name), ['out']);
});

test('a graph without a token-embedding lookup is refused, naming the model', () => {
  const b = new GraphBuilder('no_lookup');
  const idsIn = b.input('input_ids', 'int64', [1, 4]);
  b.output(b.op('Cast', [idsIn], { to: 1 }), 'out');
  assert.throws(() => exposeInputsEmbeds(b.toModel()), /no_lookup.*no token-embedding Gather/);
  assert.throws(() => exposeInputsEmbeds(b.toModel(), 'ids'), /has no input 'ids'/);
});
