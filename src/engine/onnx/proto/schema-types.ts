// The shape of the generated schema table that drives the wire-format codec.

/** Field value kinds the ONNX subset uses (protobuf scalar type names, plus 'message'). */
export type FieldKind = 'int32' | 'int64' | 'uint64' | 'float' | 'double' | 'string' | 'bytes' | 'message';

export interface FieldSpec {
  /** field name as written in the .proto */
  name: string;
  /** protobuf field number */
  number: number;
  kind: FieldKind;
  /** for kind 'message': the message's name relative to the package (e.g. 'TypeProto.Tensor') */
  message?: string;
  repeated: boolean;
  /** repeated scalars written packed (the decoder accepts both forms regardless) */
  packed: boolean;
}

export interface MessageSpec {
  name: string;
  fields: readonly FieldSpec[];
}

export type Schema = Readonly<Record<string, MessageSpec>>;

/** protobuf wire types */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_FIXED32 = 5;

/** The wire type a field of this kind uses when written one value at a time. */
export function wireTypeOf(kind: FieldKind): number {
  switch (kind) {
    case 'int32':
    case 'int64':
    case 'uint64':
      return WIRE_VARINT;
    case 'float':
      return WIRE_FIXED32;
    case 'double':
      return WIRE_FIXED64;
    case 'string':
    case 'bytes':
    case 'message':
      return WIRE_LENGTH_DELIMITED;
  }
}
