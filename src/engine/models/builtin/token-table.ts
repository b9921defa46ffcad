// The token table: float32 rows [vocabulary size, width], one per label of the manifest's
// vocabulary. Labels: '<null>' (the unconditional token), 'family:<name>' (a texture/product
// family) and 'defect:<name>:<i>' for i = 0..defectTokens-1 (a defect family's anomaly rows).

import { UserError } from '../../../shared/errors';

export const NULL_LABEL = '<null>';
const FAMILY = 'family:';
const DEFECT = 'defect:';

export class TokenTable {
  readonly rows: number;

  constructor(
    readonly values: Float32Array,
    readonly vocabulary: Readonly<Record<string, number>>,
    readonly width: number,
    readonly defectTokens: number,
    /** names the table in messages */
    readonly source: string,
  ) {
    if (values.length % width !== 0) throw new UserError('MODEL_TOKENS', `${source}: ${values.length} values are not rows of width ${width}`);
    this.rows = values.length / width;
    const problems = vocabularyProblems(vocabulary, this.rows, defectTokens);
    if (problems.length) throw new UserError('MODEL_TOKENS', `${source}: ${problems.join('; ')}`);
  }

  /** Family names ('wood' for 'family:wood'), sorted. */
  families(): string[] {
    return labelsWith(this.vocabulary, FAMILY).sort();
  }

  /** Defect family names ('scratch' for 'defect:scratch:0..'), sorted. */
  defects(): string[] {
    return [...new Set(labelsWith(this.vocabulary, DEFECT).map((l) => l.slice(0, l.lastIndexOf(':'))))].sort();
  }

  row(label: string): Float32Array {
    const index = this.vocabulary[label];
    if (index === undefined) throw new UserError('UNKNOWN_LABEL', `${this.source}: no token '${label}'`);
    return this.values.subarray(index * this.width, (index + 1) * this.width);
  }

  /** 'wood' or 'family:wood' -> the family row; unknown names list the known ones. */
  familyRow(name: string): Float32Array {
    const label = name.startsWith(FAMILY) ? name : FAMILY + name;
    if (!(label in this.vocabulary)) {
      const known = this.families();
      throw new UserError('UNKNOWN_FAMILY', `the model has no family '${name}'; known: ${known.length ? known.join(', ') : 'none'}`);
    }
    return this.row(label);
  }

  /** The defectTokens rows of a defect family, back to back. */
  defectRows(name: string): Float32Array {
    const bare = name.startsWith(DEFECT) ? name.slice(DEFECT.length) : name;
    if (!(`${DEFECT}${bare}:0` in this.vocabulary)) {
      const known = this.defects();
      throw new UserError('UNKNOWN_DEFECT', `the model has no defect family '${bare}'; known: ${known.length ? known.join(', ') : 'none'}`);
    }
    const out = new Float32Array(this.defectTokens * this.width);
    for (let i = 0; i < this.defectTokens; i++) out.set(this.row(`${DEFECT}${bare}:${i}`), i * this.width);
    return out;
  }
}

function labelsWith(vocabulary: Readonly<Record<string, number>>, prefix: string): string[] {
  return Object.keys(vocabulary)
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length));
}

/** Everything wrong with a vocabulary for a table of `rows` rows. */
export function vocabularyProblems(vocabulary: Readonly<Record<string, number>>, rows: number, defectTokens: number): string[] {
  const problems: string[] = [];
  if (!(NULL_LABEL in vocabulary)) problems.push(`the vocabulary has no '${NULL_LABEL}' row`);
  for (const [label, index] of Object.entries(vocabulary)) {
    if (!Number.isInteger(index) || index < 0 || index >= rows) problems.push(`'${label}' points at row ${index}; the table has ${rows} rows`);
  }
  // a defect family must have every one of its rows: the context needs all of them
  const defectRows = new Map<string, Set<number>>();
  for (const label of Object.keys(vocabulary)) {
    if (!label.startsWith(DEFECT)) continue;
    const m = /^defect:(.+):(\d+)$/.exec(label);
    if (!m) {
      problems.push(`'${label}' is not of the form 'defect:<name>:<i>'`);
      continue;
    }
    const set = defectRows.get(m[1]!) ?? new Set<number>();
    set.add(Number(m[2]));
    defectRows.set(m[1]!, set);
  }
  for (const [name, set] of defectRows) {
    const missing = Array.from({ length: defectTokens }, (_, i) => i).filter((i) => !set.has(i));
    if (missing.length) problems.push(`defect family '${name}' lacks rows ${missing.map((i) => `'defect:${name}:${i}'`).join(', ')}`);
  }
  return problems;
}
