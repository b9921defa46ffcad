// The UNet context of a built-in model (manifest.ts):
//   [ family token | defectTokens anomaly slots | spatialTokens spatial slots ]   (each of width W)
// filled from a Conditioning:
//   family   cond.prompt names the family ('wood' or 'family:wood'); no prompt: '<null>'
//   anomaly  cond.injected's first defectTokens vectors (a learned e_a), else the rows of the
//            defect family cond.defect ('defect:<name>:i'), else '<null>'
//   spatial  cond.injected's next spatialTokens vectors when it holds them (a learned e_s), else
//            the spatial encoder run on cond.mask, else '<null>'
// The unconditional context (null) is '<null>' in every slot. anomalyColumns marks the anomaly
// slots (the columns AAR re-weights) of a conditional context.

import { UserError } from '../../../shared/errors';
import type { Conditioning } from '../types';
import { NULL_LABEL, type TokenTable } from './token-table';

export interface ContextLayout {
  defectTokens: number;
  spatialTokens: number;
}

export interface BuiltContext {
  /** [contextLength, width] */
  context: Float32Array;
  /** [contextLength]: 1 on the anomaly slots */
  anomalyColumns: Float32Array;
}

/** `spatialFromMask` runs the spatial encoder: mask -> [spatialTokens, width]. */
export async function buildContext(
  cond: Conditioning | null,
  table: TokenTable,
  layout: ContextLayout,
  spatialFromMask: (mask: NonNullable<Conditioning['mask']>) => Promise<Float32Array>,
): Promise<BuiltContext> {
  const { defectTokens: k, spatialTokens: n } = layout;
  const W = table.width;
  const length = 1 + k + n;
  const context = new Float32Array(length * W);
  const anomalyColumns = new Float32Array(length);
  const nullRow = table.row(NULL_LABEL);
  const fillNull = (from: number, count: number): void => {
    for (let i = 0; i < count; i++) context.set(nullRow, (from + i) * W);
  };
  if (cond === null) {
    fillNull(0, length);
    return { context, anomalyColumns };
  }

  const prompt = cond.prompt?.trim();
  context.set(prompt ? table.familyRow(prompt) : nullRow, 0);

  let injectedCount = 0;
  if (cond.injected) {
    if (cond.injected.length % W !== 0) throw new UserError('BAD_CONDITIONING', `injected vectors: ${cond.injected.length} values are not rows of the model's token width ${W}`);
    injectedCount = cond.injected.length / W;
    if (injectedCount !== k && injectedCount !== k + n) {
      throw new UserError('BAD_CONDITIONING', `injected vectors: got ${injectedCount}; the model takes ${k} anomaly vectors, or ${k + n} (anomaly then spatial)`);
    }
    context.set(cond.injected.subarray(0, k * W), W);
  } else if (cond.defect) {
    context.set(table.defectRows(cond.defect), W);
  } else {
    fillNull(1, k);
  }
  anomalyColumns.fill(1, 1, 1 + k);

  if (injectedCount === k + n) {
    context.set(cond.injected!.subarray(k * W), (1 + k) * W);
  } else if (cond.mask) {
    const tokens = await spatialFromMask(cond.mask);
    if (tokens.length !== n * W) throw new Error(`spatial encoder returned ${tokens.length} values; expected ${n}x${W}`);
    context.set(tokens, (1 + k) * W);
  } else {
    fillNull(1 + k, n);
  }
  return { context, anomalyColumns };
}
