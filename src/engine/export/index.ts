// exportDataset: writes the chosen formats of an export set into one new folder, all or nothing
// (writer.ts): <out>/<format>/... for each format.
import { UserError } from '../../shared/errors';
import { writeAnomalib } from './anomalib';
import { writeCoco } from './coco';
import { writeMvtec } from './mvtec';
import { EXPORT_FORMATS, type ExportFormat, type ExportSet, type ExportWriter } from './types';
import { fsWriter, writeAtomically, type TreeWriter } from './writer';
import { writeYolo } from './yolo';

export { EXPORT_FORMATS, type ExportFormat, type ExportSet, type ExportWriter } from './types';
export { cocoProblems } from './coco';

const WRITERS: Record<ExportFormat, (set: ExportSet, tree: TreeWriter, base: string) => Promise<void>> = {
  mvtec: writeMvtec,
  anomalib: writeAnomalib,
  coco: writeCoco,
  yolo: writeYolo,
};

export function parseFormats(text: string): ExportFormat[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new UserError('BAD_ARGS', `--format names no format; known: ${EXPORT_FORMATS.join(', ')}`);
  for (const n of names) if (!EXPORT_FORMATS.includes(n as ExportFormat)) throw new UserError('BAD_ARGS', `unknown export format ${JSON.stringify(n)}; known: ${EXPORT_FORMATS.join(', ')}`);
  return [...new Set(names as ExportFormat[])];
}

export interface ExportSummary {
  out: string;
  formats: ExportFormat[];
  synthetic: number;
  trainGood: number;
  test: number;
}

export async function exportDataset(set: ExportSet, out: string, formats: readonly ExportFormat[], writer: ExportWriter = fsWriter): Promise<ExportSummary> {
  if (formats.length === 0) throw new UserError('BAD_ARGS', 'no export format chosen');
  await writeAtomically(out, writer, async (tree) => {
    for (const format of formats) await WRITERS[format](set, tree, format);
  });
  return { out, formats: [...formats], synthetic: set.synthetic.length, trainGood: set.trainGood.length, test: set.test.length };
}
