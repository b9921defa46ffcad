import type { RuleEntry } from '../types';

// Owned by the nn-ops work; filled in there.
export const poolRules: RuleEntry[] = [];
