/**
 * A GGUF file's tokenizer as a tokenizer.json description for @huggingface/tokenizers (the library that
 * encodes; lowbit decodes itself, from each token's bytes, so that a stream can hold back incomplete UTF-8).
 *
 * - `llama` (SentencePiece BPE): the file has pieces and scores, not merges. SentencePiece merges, at each
 *   step, the adjacent pair whose joined piece has the highest score (the leftmost of equals); a BPE model
 *   whose merges are every split of every piece into two pieces, ranked by the joined piece's score, makes
 *   the same choices. Text fragments get the `▁` prefix and spaces become `▁` (a normalizer, which the
 *   library runs on each fragment between special tokens, as llama.cpp prefixes each); unknown characters
 *   fall back to `<0xNN>` byte pieces.
 * - `gpt2` (byte-level BPE): merges from the file; the pre-tokenizer chosen by `tokenizer.ggml.pre`, the
 *   names llama.cpp's converter writes, each the pre-tokenizer of the tokenizer.json it was made from.
 */
import { LowbitFileError } from '../core/errors';

/** Token types of GGUF's `tokenizer.ggml.token_type` (llama.cpp's `llama_token_type`). */
export const TokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

const LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * `tokenizer.ggml.pre` names lowbit encodes: the regex that splits text before BPE (null: GPT-2's, which
 * the byte-level pre-tokenizer applies itself), whether digits are split one by one first (SmolLM's), and
 * whether a piece already in the vocabulary skips the merges (Llama 3's `ignore_merges`).
 */
export const PRE_TOKENIZERS: Readonly<Record<string, { regex: string | null; digits?: boolean; ignoreMerges: boolean }>> = {
  default: { regex: null, ignoreMerges: false },
  gpt2: { regex: null, ignoreMerges: false },
  'gpt-2': { regex: null, ignoreMerges: false },
  'llama-bpe': { regex: LLAMA3, ignoreMerges: true },
  llama3: { regex: LLAMA3, ignoreMerges: true },
  qwen2: { regex: QWEN2, ignoreMerges: false },
  'deepseek-r1-qwen': { regex: QWEN2, ignoreMerges: false },
  smollm: { regex: null, digits: true, ignoreMerges: false },
};

/** The pre-tokenizer a `tokenizer.ggml.pre` name stands for; an unknown name is `fail`'s error. */
export function preTokenizer(name: string, fail: (msg: string, field: string) => LowbitFileError): (typeof PRE_TOKENIZERS)[string] {
  const pre = PRE_TOKENIZERS[name];
  if (pre === undefined) {
    throw fail(`tokenizer.ggml.pre '${name}' is not a pre-tokenizer lowbit knows (it knows ${Object.keys(PRE_TOKENIZERS).join(', ')})`, 'tokenizer.ggml.pre');
  }
  return pre;
}

export interface VocabularyFacts {
  model: 'llama' | 'gpt2';
  pre: string;
  tokens: readonly string[];
  types: ArrayLike<number>;
  scores: ArrayLike<number> | null;
  merges: readonly string[] | null;
  unknown: number | null;
  addSpacePrefix: boolean;
}

/** The tokenizer.json object; `parseSpecial: false` leaves only user-defined tokens matched in text (llama.cpp's rule). */
export function tokenizerDescription(v: VocabularyFacts, parseSpecial: boolean, fail: (msg: string, field: string) => LowbitFileError): object {
  const vocab: Record<string, number> = Object.create(null);
  v.tokens.forEach((t, i) => {
    if (!(t in vocab)) vocab[t] = i;
  });
  const added = [];
  for (let i = 0; i < v.tokens.length; i++) {
    const type = v.types[i];
    const special = type === TokenType.control || type === TokenType.unknown;
    if (!(special || type === TokenType.userDefined) || (special && !parseSpecial) || v.tokens[i] === '') continue;
    added.push({ id: i, content: v.tokens[i], single_word: false, lstrip: false, rstrip: false, normalized: false, special });
  }
  if (v.model === 'llama') {
    return {
      version: '1.0',
      added_tokens: added,
      normalizer: {
        type: 'Sequence',
        normalizers: [
          ...(v.addSpacePrefix ? [{ type: 'Prepend', prepend: '\u2581' }] : []),
          { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' },
        ],
      },
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      model: {
        type: 'BPE', dropout: null, unk_token: v.unknown === null ? null : v.tokens[v.unknown], continuing_subword_prefix: null,
        end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: mergesFromScores(v),
      },
    };
  }
  const pre = preTokenizer(v.pre, fail);
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: pre.regex === null };
  return {
    version: '1.0',
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        ...(pre.digits ? [{ type: 'Digits', individual_digits: true }] : []),
        ...(pre.regex === null ? [] : [{ type: 'Split', pattern: { Regex: pre.regex }, behavior: 'Isolated', invert: false }]),
        byteLevel,
      ],
    },
    post_processor: null,
    decoder: null,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false,
      byte_fallback: false, ignore_merges: pre.ignoreMerges, vocab, merges: v.merges ?? [],
    },
  };
}

/** Every split of a normal piece into two normal pieces, ranked by the joined piece's score (highest first). */
function mergesFromScores(v: VocabularyFacts): string[][] {
  const scores = v.scores!;
  const normal = new Set<string>();
  for (let i = 0; i < v.tokens.length; i++) {
    if (v.types[i] === TokenType.normal) normal.add(v.tokens[i]);
  }
  const merges: Array<{ left: string; right: string; score: number; id: number }> = [];
  for (let id = 0; id < v.tokens.length; id++) {
    if (v.types[id] !== TokenType.normal) continue;
    const chars = Array.from(v.tokens[id]);
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      if (normal.has(left) && normal.has(right)) merges.push({ left, right, score: scores[id], id });
    }
  }
  merges.sort((a, b) => b.score - a.score || a.id - b.id);
  return merges.map((m) => [m.left, m.right]);
}
