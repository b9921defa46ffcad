import type { RuleEntry } from '../types';

// Owned by the autodiff-core work; filled in there.
export const elementwiseRules: RuleEntry[] = [];
