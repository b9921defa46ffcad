// IR -> ModelProto bytes. The codec itself (reading too, unknown-field preservation) lives in
// ./proto; this module keeps the original import path working for every caller.

export { encodeModel } from './proto/codec';
