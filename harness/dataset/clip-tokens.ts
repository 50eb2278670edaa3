// How many CLIP tokens a caption takes, as the training script's tokenizers count them. The script encodes
// every caption with SDXL's two CLIP tokenizers (model_max_length 77: <|startoftext|>, 75 tokens,
// <|endoftext|>) and truncation on: whatever comes after the 75th token is dropped without a word.
// With the pinned model snapshot's tokenizer/vocab.json + merges.txt the count is exact (the BPE runs in
// @huggingface/tokenizers, from the same files transformers reads); without them it is an estimate.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

/** Tokens a caption may use: 77 minus <|startoftext|> and <|endoftext|>. */
export const CLIP_CAPTION_TOKENS = 75;

/** CLIP's pre-tokenizer pattern (transformers' CLIPTokenizer and its fast converter). */
const CLIP_PATTERN = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";
const WORDS = new RegExp(CLIP_PATTERN.replace(/\\\|/g, '\\|'), 'gu');

export interface TokenCount {
  tokens: number;
  /** false: no tokenizer files, so `tokens` is a lower bound (one token per word or punctuation run) */
  exact: boolean;
  /** the part of the caption after the 75th token (what the script drops), or null when it fits */
  dropped: string | null;
}

export interface CaptionTokenizer {
  /** where the vocabulary came from, or null for the estimate */
  source: string | null;
  count(caption: string): TokenCount;
}

/** The words CLIP's pre-tokenizer sees (after its lower-casing and whitespace clean-up), with where they start. */
function words(caption: string): { text: string; start: number }[] {
  const normalized = caption.normalize('NFC').toLowerCase();
  return [...normalized.matchAll(WORDS)].map((m) => ({ text: m[0], start: m.index }));
}

function counter(source: string | null, tokensOf: (word: string) => number): CaptionTokenizer {
  return {
    source,
    count(caption) {
      let total = 0;
      let dropped: string | null = null;
      for (const word of words(caption)) {
        const n = tokensOf(word.text);
        if (dropped === null && total + n > CLIP_CAPTION_TOKENS) dropped = caption.normalize('NFC').slice(word.start).trim();
        total += n;
      }
      return { tokens: total, exact: source !== null, dropped };
    },
  };
}

/** The estimate: one token per word, number digit or punctuation run (real BPE splits rare words further). */
export const ESTIMATED_TOKENIZER: CaptionTokenizer = counter(null, () => 1);

/**
 * The tokenizer of a diffusers model folder (`<model>/tokenizer/vocab.json` + `merges.txt`), or the estimate
 * when the folder or its files are not there.
 */
export async function captionTokenizer(modelDir: string | null | undefined): Promise<CaptionTokenizer> {
  if (!modelDir) return ESTIMATED_TOKENIZER;
  const dir = path.join(modelDir, 'tokenizer');
  let vocab: Record<string, number>;
  let merges: string[];
  try {
    vocab = JSON.parse(await readFile(path.join(dir, 'vocab.json'), 'utf8')) as Record<string, number>;
    merges = (await readFile(path.join(dir, 'merges.txt'), 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#version'));
  } catch {
    return ESTIMATED_TOKENIZER;
  }
  const tokenizer = new Tokenizer(clipTokenizerJson(vocab, merges), { model_max_length: 77 });
  const cache = new Map<string, number>();
  return counter(dir, (word) => {
    const known = cache.get(word);
    if (known !== undefined) return known;
    const n = tokenizer.encode(word, { add_special_tokens: false }).ids.length;
    cache.set(word, n);
    return n;
  });
}

/** The tokenizer.json transformers' CLIP converter builds from vocab.json + merges.txt. */
export function clipTokenizerJson(vocab: Record<string, number>, merges: string[]): Record<string, unknown> {
  const bos = '<|startoftext|>';
  const eos = '<|endoftext|>';
  const special = (content: string) => ({ id: vocab[content] ?? 0, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(bos), special(eos)],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_PATTERN }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: { type: 'RobertaProcessing', sep: [eos, vocab[eos] ?? 0], cls: [bos, vocab[bos] ?? 0], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: eos,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map((line) => line.split(' ')),
    },
  };
}
