// Build-time generator: parses onnx-subset.proto with protobufjs's parser and writes the schema
// table (schema.generated.ts) that the wire-format codec is driven by. The output is committed;
// test/engine/onnx/io-schema.test.ts fails when it is out of date.
//
//   node --import tsx src/engine/onnx/proto/generate-schema.ts

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { FieldKind, FieldSpec, MessageSpec } from './schema-types';

const SUPPORTED_KINDS = new Set<string>(['int32', 'int64', 'uint64', 'float', 'double', 'string', 'bytes']);

export const PROTO_FILE = 'onnx-subset.proto';
export const GENERATED_FILE = 'schema.generated.ts';

function collectMessages(ns: protobuf.NamespaceBase, packageName: string, out: MessageSpec[]): void {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) {
      // names relative to the package: 'TypeProto.Tensor'
      const fullName = nested.fullName.replace(/^\./, '').slice(packageName.length + 1);
      const fields: FieldSpec[] = nested.fieldsArray
        .map((f) => {
          f.resolve();
          let kind: FieldKind;
          let message: string | undefined;
          if (f.resolvedType instanceof protobuf.Type) {
            kind = 'message';
            message = f.resolvedType.fullName.replace(/^\./, '').slice(packageName.length + 1);
          } else if (SUPPORTED_KINDS.has(f.type)) {
            kind = f.type as FieldKind;
          } else {
            throw new Error(`${PROTO_FILE}: field ${fullName}.${f.name} has type '${f.type}', which the codec does not support`);
          }
          const spec: FieldSpec = { name: f.name, number: f.id, kind, repeated: f.repeated, packed: f.repeated && f.packed && kind !== 'message' && kind !== 'string' && kind !== 'bytes' };
          if (message) spec.message = message;
          return spec;
        })
        .sort((a, b) => a.number - b.number);
      out.push({ name: fullName, fields });
      collectMessages(nested, packageName, out);
    } else if (nested instanceof protobuf.Namespace) {
      collectMessages(nested, packageName, out);
    }
  }
}

/** The TypeScript source of the schema table for the given .proto text. */
export function generateSchemaSource(protoText: string): string {
  const parsed = protobuf.parse(protoText, { keepCase: true });
  const packageName = parsed.package ?? '';
  if (packageName !== 'onnx') throw new Error(`${PROTO_FILE}: expected package 'onnx', found '${packageName}'`);
  parsed.root.resolveAll();
  const pkg = parsed.root.lookup(packageName);
  if (!(pkg instanceof protobuf.Namespace)) throw new Error(`${PROTO_FILE}: package '${packageName}' not found`);
  const messages: MessageSpec[] = [];
  collectMessages(pkg, packageName, messages);
  messages.sort((a, b) => a.name.localeCompare(b.name));
  const lines = [
    `// GENERATED from ${PROTO_FILE} by generate-schema.ts. Do not edit; regenerate with`,
    '//   node --import tsx src/engine/onnx/proto/generate-schema.ts',
    '',
    "import type { Schema } from './schema-types';",
    '',
    'export const ONNX_SCHEMA: Schema = {',
  ];
  for (const m of messages) {
    lines.push(`  '${m.name}': {`, `    name: '${m.name}',`, '    fields: [');
    for (const f of m.fields) {
      const message = f.message ? `, message: '${f.message}'` : '';
      lines.push(`      { name: '${f.name}', number: ${f.number}, kind: '${f.kind}'${message}, repeated: ${f.repeated}, packed: ${f.packed} },`);
    }
    lines.push('    ],', '  },');
  }
  lines.push('};', '');
  return lines.join('\n');
}

export function protoDirectory(): string {
  return fileURLToPath(new URL('.', import.meta.url));
}

function main(): void {
  const dir = protoDirectory();
  const source = generateSchemaSource(readFileSync(join(dir, PROTO_FILE), 'utf8'));
  const target = join(dir, GENERATED_FILE);
  const temp = `${target}.${process.pid}.tmp`;
  writeFileSync(temp, source);
  renameSync(temp, target);
  console.log(`wrote ${target}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
