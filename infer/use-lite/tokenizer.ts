/**
 * USE-lite's sentencepiece vocabulary as a Hugging Face `tokenizer.json` (a Unigram model), so the tokenizer
 * loads with @huggingface/transformers' AutoTokenizer like any other model's, fully offline.
 *
 * It reproduces the tokenizer the TF.js model was published with (@energetic-ai/embeddings): NFKC, spaces
 * as ▁ with one ▁ prepended, then the best-scoring segmentation over the pieces; the 6 reserved symbols
 * (id 0 = unknown, <s>, </s>, extra ids) are never produced from text, so they get a prohibitive score.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const RESERVED_SYMBOLS = 6;

export function tokenizerJson(modelDir: string): string {
  const vocab = JSON.parse(readFileSync(join(modelDir, 'vocab.json'), 'utf8')) as [string, number][];
  const pieces = vocab.map(([piece, score], i): [string, number] => [piece, i > 0 && i < RESERVED_SYMBOLS ? -1e9 : score]);
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFKC' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }, { type: 'Prepend', prepend: '▁' }],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 0, vocab: pieces, byte_fallback: false },
  });
}

export const TOKENIZER_CONFIG = JSON.stringify({
  tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: 128, unk_token: '�', pad_token: '�', padding_side: 'right',
});
