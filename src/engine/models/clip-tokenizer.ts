// CLIP's byte-level BPE tokenizer (as openai/CLIP and Hugging Face's CLIPTokenizer), reading the
// tokenizer/vocab.json + merges.txt of an SD 1.x folder. Steps:
//  1. clean: collapse whitespace, trim, lower-case (ftfy's mojibake repair is not reproduced; it
//     only matters for broken text);
//  2. split with CLIP's pattern into words, contractions, single digits and punctuation runs;
//  3. map each word's UTF-8 bytes to printable unicode (GPT-2's bytes_to_unicode), mark the end of
//     the word with '</w>' on its last symbol, and apply BPE merges in rank order;
//  4. wrap in <|startoftext|> ... <|endoftext|> and pad/truncate to the context length.

export interface TokenizerFiles {
  /** vocab.json: token string -> id */
  vocab: Record<string, number>;
  /** merges.txt contents (first line may be a '#version' header) */
  merges: string;
}

const UTF8 = new TextEncoder();

const PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/gu;

/** GPT-2's reversible map from bytes to printable unicode characters. */
function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return table;
}

export class ClipTokenizer {
  readonly startId: number;
  readonly endId: number;
  readonly padId: number;
  private readonly ranks = new Map<string, number>();
  private readonly byteMap = bytesToUnicode();
  private readonly cache = new Map<string, string[]>();

  constructor(
    private readonly files: TokenizerFiles,
    private readonly source = 'tokenizer',
  ) {
    const lines = files.merges.split(/\r?\n/);
    let rank = 0;
    for (const [i, line] of lines.entries()) {
      if (line.length === 0 || (i === 0 && line.startsWith('#'))) continue;
      const parts = line.split(' ');
      if (parts.length !== 2) throw new Error(`${source}/merges.txt line ${i + 1}: expected two symbols, got '${line}'`);
      this.ranks.set(`${parts[0]} ${parts[1]}`, rank++);
    }
    const id = (token: string): number => {
      const v = files.vocab[token];
      if (v === undefined) throw new Error(`${source}/vocab.json has no '${token}' token`);
      return v;
    };
    this.startId = id('<|startoftext|>');
    this.endId = id('<|endoftext|>');
    this.padId = this.endId; // SD 1.x pads with <|endoftext|>
  }

  /** BPE symbols of one word (already byte-mapped). */
  private bpe(word: string): string[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const chars = Array.from(word);
    let symbols = [...chars.slice(0, -1), `${chars[chars.length - 1]}</w>`];
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const r = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const a = symbols[best]!;
      const b = symbols[best + 1]!;
      // merge every occurrence of the pair (a, b), left to right
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else merged.push(symbols[i]!);
      }
      symbols = merged;
    }
    this.cache.set(word, symbols);
    return symbols;
  }

  /** Token ids of the text, without start/end tokens. */
  encodeText(text: string): number[] {
    const clean = text.replace(/\s+/g, ' ').trim().toLowerCase();
    const ids: number[] = [];
    for (const match of clean.matchAll(PATTERN)) {
      const piece = match[0];
      if (piece === '<|startoftext|>' || piece === '<|endoftext|>') {
        ids.push(piece === '<|startoftext|>' ? this.startId : this.endId);
        continue;
      }
      const mapped = Array.from(UTF8.encode(piece), (b) => this.byteMap[b]!).join('');
      for (const symbol of this.bpe(mapped)) {
        const id = this.files.vocab[symbol];
        if (id === undefined) throw new Error(`${this.source}/vocab.json has no entry for BPE symbol '${symbol}' (from '${piece}')`);
        ids.push(id);
      }
    }
    return ids;
  }

  /** [start, ...text, end, pad...] of exactly `length` ids (text truncated to fit). */
  encode(text: string, length = 77): number[] {
    const body = this.encodeText(text).slice(0, length - 2);
    const ids = [this.startId, ...body, this.endId];
    while (ids.length < length) ids.push(this.padId);
    return ids;
  }
}
