// Token ids of a prompt with a placeholder where learned vectors go (METHOD.md: "a photo of a *",
// the 12 vectors e_a then e_s replace *). The words either side are tokenized separately so the
// injected rows are known exactly; the slots carry the placeholder's own token id, so input_ids
// still has its single end-of-text token (the text encoder's pooling finds it with argmax).

import { UserError } from '../../../shared/errors';
import type { ClipTokenizer } from '../clip-tokenizer';

export interface PromptTokens {
  /** [length] token ids: start, words, slots, words, end, padding */
  ids: number[];
  /** positions of the injected vectors, in order */
  slots: number[];
}

export function promptTokens(tokenizer: ClipTokenizer, prompt: string, placeholder: string, injectedCount: number, length: number): PromptTokens {
  const parts = prompt.split(placeholder);
  if (injectedCount === 0) {
    // nothing to inject: the placeholder is dropped and the words stay
    return { ids: tokenizer.encode(parts.join(' '), length), slots: [] };
  }
  if (parts.length !== 2) {
    throw new UserError('sd-prompt', `prompt '${prompt}' must contain the placeholder '${placeholder}' exactly once to place ${injectedCount} learned vectors`);
  }
  const slotIds = tokenizer.encodeText(placeholder);
  if (slotIds.length !== 1) throw new UserError('sd-prompt', `placeholder '${placeholder}' is ${slotIds.length} tokens in this vocabulary; choose one that is a single token`);
  const before = tokenizer.encodeText(parts[0]!);
  const after = tokenizer.encodeText(parts[1]!);
  const total = 2 + before.length + injectedCount + after.length;
  if (total > length) throw new UserError('sd-prompt', `prompt '${prompt}' with ${injectedCount} learned vectors needs ${total} tokens; the text encoder takes ${length}`);
  const slots = Array.from({ length: injectedCount }, (_, i) => 1 + before.length + i);
  const ids = [tokenizer.startId, ...before, ...new Array<number>(injectedCount).fill(slotIds[0]!), ...after, tokenizer.endId];
  while (ids.length < length) ids.push(tokenizer.padId);
  return { ids, slots };
}
