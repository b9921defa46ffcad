// Ops through which no gradient flows: shape queries, comparisons and logic (boolean results),
// index producers, constants and generators, and piecewise-constant functions (derivative zero
// almost everywhere). Listing them stops the walk quietly instead of failing with "no rule".
import type { RuleEntry } from '../types';

const ops = [
  'Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'Range', 'ConstantOfShape', 'Constant', 'EyeLike',
  'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf',
  'Sign', 'Floor', 'Ceil', 'Round',
  'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli',
];

export const noGradientRules: RuleEntry[] = ops.map((opType) => ({ opType, rule: 'no-gradient' }));
