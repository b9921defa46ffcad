// THE table of gradient rules, keyed by op type (and opset range). Each group file exports its
// entries; an op that appears in no entry fails differentiation with its name and node.
import type { RuleEntry } from './types';
import { elementwiseRules } from './rules/elementwise';
import { tensorRules } from './rules/tensor';
import { reductionRules } from './rules/reduction';
import { linalgRules } from './rules/linalg';
import { convRules } from './rules/conv';
import { poolRules } from './rules/pool';
import { normRules } from './rules/norm';
import { resizeRules } from './rules/resize';
import { noGradientRules } from './rules/no-gradient';

export const gradientTable: readonly RuleEntry[] = [
  ...elementwiseRules,
  ...tensorRules,
  ...reductionRules,
  ...linalgRules,
  ...convRules,
  ...poolRules,
  ...normRules,
  ...resizeRules,
  ...noGradientRules,
];

/** The entry for an op at an opset, or undefined when the table has none. */
export function findRule(opType: string, domain: string, opset: number): RuleEntry | undefined {
  const d = domain === 'ai.onnx' ? '' : domain;
  return gradientTable.find(
    (e) => e.opType === opType && (e.domain ?? '') === d && (e.sinceOpset ?? 0) <= opset && opset <= (e.untilOpset ?? Infinity),
  );
}
