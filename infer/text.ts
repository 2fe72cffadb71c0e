/**
 * `--text` inputs: tokenized with the tokenizer.json that sits next to the model (the default model's cache
 * folder has one), through @huggingface/transformers' AutoTokenizer with remote loading off, then padded
 * into the feeds such models take: input_ids, attention_mask and (if the model has it) token_type_ids.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { QattnError } from '../core/errors.ts';
import type { TensorMap } from './execute.ts';

/** Most tokens per text (USE-lite's limit; longer texts are cut, as the TF model clips them). */
export const MAX_TOKENS = 128;

export async function tokenize(modelPath: string, texts: readonly string[]): Promise<number[][]> {
  const dir = dirname(modelPath);
  if (!existsSync(join(dir, 'tokenizer.json'))) {
    throw new QattnError(`--text needs a tokenizer.json next to ${modelPath}; give --feed NAME=FILE.npy instead`);
  }
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false; // offline by contract: never fetch a tokenizer
  env.allowLocalModels = true;
  const tok = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
  return texts.map((t) => {
    const ids = tok.encode(t, { add_special_tokens: false }) as number[];
    if (!ids.length) throw new QattnError(`text '${t}' has no tokens`);
    return ids.slice(0, MAX_TOKENS);
  });
}

/** Right-padded int64 feeds for a batch of token lists. */
export function textFeeds(tokens: readonly number[][], inputNames: readonly string[]): TensorMap {
  const b = tokens.length, len = Math.max(...tokens.map((t) => t.length));
  const ids = new BigInt64Array(b * len), mask = new BigInt64Array(b * len);
  tokens.forEach((t, i) => t.forEach((x, j) => { ids[i * len + j] = BigInt(x); mask[i * len + j] = 1n; }));
  const feeds: TensorMap = new Map([['input_ids', { type: 'int64', dims: [b, len], data: ids }]]);
  if (inputNames.includes('attention_mask')) feeds.set('attention_mask', { type: 'int64', dims: [b, len], data: mask });
  if (inputNames.includes('token_type_ids')) feeds.set('token_type_ids', { type: 'int64', dims: [b, len], data: new BigInt64Array(b * len) });
  if (!inputNames.includes('input_ids')) throw new QattnError(`--text feeds input_ids, but the model's inputs are ${inputNames.join(', ')}`);
  return feeds;
}
