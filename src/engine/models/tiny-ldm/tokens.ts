// The token table of the tiny LDM: one learned row of width W per corpus label. Its rows are
// the context tokens the UNet's cross-attention reads (manifest.ts, context layout):
//   '<null>'                the unconditional token (every slot of the CFG context)
//   'family:<normal>'       one per normal family of the procedural corpus
//   'family:mask'           masks shown as images (mask generation's prior, METHOD.md)
//   'defect:<name>:0..7'    8 rows per defect family, in the same space as the few-shot anomaly
//                           embedding e_a (8 tokens) that later replaces them
// Rows are looked up as a one-hot matrix product (onehot [B, L, V] x table [V, W]) so the
// gradient is a plain MatMul gradient.

import { DEFECT_FAMILIES, NORMAL_FAMILIES } from '../../corpus';
import { Rng } from '../../../shared/random';

export const NULL_TOKEN = '<null>';
export const MASK_FAMILY_TOKEN = 'family:mask';

export const familyToken = (family: string): string => `family:${family}`;
export const defectToken = (defect: string, index: number): string => `defect:${defect}:${index}`;

export interface TokenVocabulary {
  /** row index per label */
  index: Record<string, number>;
  /** labels in row order */
  labels: string[];
}

export function buildVocabulary(defectTokens: number): TokenVocabulary {
  const labels = [NULL_TOKEN, ...NORMAL_FAMILIES.map((f) => familyToken(f.name)), MASK_FAMILY_TOKEN];
  for (const d of DEFECT_FAMILIES) for (let i = 0; i < defectTokens; i++) labels.push(defectToken(d.name, i));
  return { labels, index: Object.fromEntries(labels.map((l, i) => [l, i])) };
}

export function tokenRow(vocab: TokenVocabulary, label: string): number {
  const row = vocab.index[label];
  if (row === undefined) throw new Error(`token table: no row for label '${label}'`);
  return row;
}

/**
 * Initial rows: N(0, 1) per entry, so a token has about the norm of a LayerNorm'ed text
 * embedding of the same width; the null row starts at zero (an 'empty' prompt).
 */
export function initialTokenTable(vocab: TokenVocabulary, width: number, seed: number): Float32Array {
  const table = new Rng(seed ^ 0x70b1e).normals(vocab.labels.length * width);
  table.fill(0, 0, width);
  return table;
}

/**
 * One-hot rows for a batch of label sequences: [B, L, V] row-major, 1 at (b, l, row(label)).
 */
export function oneHot(vocab: TokenVocabulary, sequences: readonly (readonly string[])[]): Float32Array {
  const v = vocab.labels.length;
  const length = sequences[0]?.length ?? 0;
  const out = new Float32Array(sequences.length * length * v);
  sequences.forEach((seq, b) => {
    if (seq.length !== length) throw new Error(`token one-hot: sequence ${b} has ${seq.length} labels, the first has ${length}`);
    seq.forEach((label, l) => (out[(b * length + l) * v + tokenRow(vocab, label)] = 1));
  });
  return out;
}
