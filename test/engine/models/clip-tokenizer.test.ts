import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClipTokenizer } from '../../../src/engine/models/clip-tokenizer';

// A tiny vocabulary whose tokenisations are derived by hand below.
const vocab: Record<string, number> = {
  '<|startoftext|>': 100, '<|endoftext|>': 101,
  'p': 1, 'h': 2, 'o': 3, 't': 4, 'o</w>': 5, 'ho': 6, 'pho': 7, 'to</w>': 8, 'photo</w>': 9,
  't</w>': 10, 'a</w>': 11, '*</w>': 12, 'Ã': 13, '©</w>': 14, '1</w>': 15, '2</w>': 16, "'s</w>": 17,
};
const merges = ['#version: 0.2', 'h o', 'p ho', 't o</w>', 'pho to</w>', "' s</w>"].join('\n');

test('BPE applies merges in rank order to the end-marked word', () => {
  const tok = new ClipTokenizer({ vocab, merges });
  // photo: p h o t o</w> -(h o)-> p ho t o</w> -(p ho)-> pho t o</w> -(t o</w>)-> pho to</w> -> photo</w>
  assert.deepEqual(tok.encodeText('photo'), [9]);
  // pot: no merge applies: p o t</w>
  assert.deepEqual(tok.encodeText('pot'), [1, 3, 10]);
});

test('text is cleaned, lower-cased and split like CLIP (digits one by one, punctuation apart)', () => {
  const tok = new ClipTokenizer({ vocab, merges });
  assert.deepEqual(tok.encodeText('  A   PHOTO  *\n'), [11, 9, 12]);
  assert.deepEqual(tok.encodeText('12'), [15, 16]);
  assert.deepEqual(tok.encodeText("a's"), [11, 17]);
});

test('non-ASCII text goes through the byte-to-unicode map', () => {
  // 'é' is UTF-8 C3 A9 -> printable code points U+00C3 'Ã' and U+00A9 '©'
  const tok = new ClipTokenizer({ vocab, merges });
  assert.deepEqual(tok.encodeText('é'), [13, 14]);
});

test('encode wraps, pads with end-of-text and truncates to the context length', () => {
  const tok = new ClipTokenizer({ vocab, merges });
  assert.deepEqual(tok.encode('a photo', 6), [100, 11, 9, 101, 101, 101]);
  assert.deepEqual(tok.encode('a a a a a a', 4), [100, 11, 11, 101]);
});

test('missing tokens and malformed merges name the file', () => {
  assert.throws(() => new ClipTokenizer({ vocab: { a: 1 }, merges: '' }, 'sd/tokenizer'), /sd\/tokenizer\/vocab\.json has no '<\|startoftext\|>'/);
  assert.throws(() => new ClipTokenizer({ vocab, merges: '#v\nabc' }, 'tk'), /tk\/merges\.txt line 2/);
  assert.throws(() => new ClipTokenizer({ vocab, merges }).encodeText('zebra'), /no entry for BPE symbol 'z'/);
});
