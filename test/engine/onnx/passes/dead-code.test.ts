import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { GraphBuilder } from '../../../../src/engine/onnx/builder';
import { decodeModel } from '../../../../src/engine/onnx/proto';
import { removeDeadCode } from '../../../../src/engine/onnx/passes/dead-code';
import { Rng } from '../../../../src/shared/random';
import { assertSameOutputs, randomFeed } from './helpers';

test('nodes, initializers and value_info that reach no output are removed; outputs are unchanged', async () => {
  const b = new GraphBuilder('dce');
  const x = b.input('x', 'float32', [2, 3]);
  const unused = b.input('unused', 'float32', [1]);
  const w = b.param('w', [3, 3], Array.from({ length: 9 }, (_, i) => i - 4));
  const dead = b.param('dead_w', [3, 3]);
  const y = b.op('MatMul', [x, w]);
  const deadBranch = b.op('Tanh', [b.op('MatMul', [x, dead])]);
  b.graph.valueInfo.set(deadBranch, { name: deadBranch, dtype: 'float32', shape: [2, 3] });
  b.op('Neg', [unused]);
  b.output(b.op('Relu', [y]), 'out');
  const model = b.toModel();
  const pruned = removeDeadCode(model);
  assert.deepEqual(pruned.graph.nodes.map((n) => n.opType), ['MatMul', 'Relu', 'Identity']);
  assert.deepEqual([...pruned.graph.initializers.keys()], [w]);
  assert.equal(pruned.graph.valueInfo.size, 0);
  assert.deepEqual(pruned.graph.inputs.map((i) => i.name), ['x', 'unused'], 'inputs stay unless asked');
  assert.deepEqual(removeDeadCode(model, { pruneInputs: true }).graph.inputs.map((i) => i.name), ['x']);
  assert.equal(model.graph.nodes.length, 6, 'the original is untouched');
  const rng = new Rng(9);
  await assertSameOutputs(model, pruned, { x: randomFeed(rng, [2, 3]), unused: randomFeed(rng, [1]) });
});

test('values read only inside an If branch stay alive', () => {
  // outer: a = Relu(x); b = Neg(x) (dead); If(cond) whose then-branch reads 'a' from the outer scope
  const root = protobuf.parse(`syntax = "proto2"; package onnx;
    message NodeProto { repeated string input = 1; repeated string output = 2; optional string op_type = 4; repeated AttributeProto attribute = 5; }
    message AttributeProto { optional string name = 1; optional GraphProto g = 6; optional int32 type = 20; }
    message TypeProto { message Tensor { optional int32 elem_type = 1; } optional Tensor tensor_type = 1; }
    message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; }
    message GraphProto { repeated NodeProto node = 1; optional string name = 2; repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; }
    message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
    message ModelProto { optional int64 ir_version = 1; optional GraphProto graph = 7; repeated OperatorSetIdProto opset_import = 8; }`,
    { keepCase: true },
  ).root;
  const M = root.lookupType('onnx.ModelProto');
  const t = { tensor_type: { elem_type: 1 } };
  const bytes = M.encode(
    M.fromObject({
      ir_version: 8,
      opset_import: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        node: [
          { op_type: 'Relu', input: ['x'], output: ['a'] },
          { op_type: 'Neg', input: ['x'], output: ['b'] },
          { op_type: 'If', input: ['cond'], output: ['y'], attribute: [{ name: 'then_branch', type: 5, g: { name: 't', node: [{ op_type: 'Identity', input: ['a'], output: ['t_out'] }], output: [{ name: 't_out', type: t }] } }] },
        ],
        input: [{ name: 'x', type: t }, { name: 'cond', type: { tensor_type: { elem_type: 9 } } }],
        output: [{ name: 'y', type: t }],
      },
    }),
  ).finish();
  const pruned = removeDeadCode(decodeModel(bytes));
  assert.deepEqual(pruned.graph.nodes.map((n) => n.opType), ['Relu', 'If']);
});
