/**
 * Models `qattn infer` and `qattn eval` select by name: `use-lite` (the default encoder, converted from its npm
 * package on first use and cached) and `gpt2-bytes` (a trained byte-level causal LM shipped in
 * models/gpt2-bytes/, with the validation parts of its two corpora). Any other `--model` value is a path.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QattnError } from '../core/errors.ts';
import { ensureUseLite } from './use-lite/cache.ts';

export type ModelName = 'use-lite' | 'gpt2-bytes';
export const MODEL_NAMES: readonly ModelName[] = ['use-lite', 'gpt2-bytes'];

/** How a model's text inputs become token ids. */
export type Tokenizer = 'tokenizer.json' | 'bytes';

export interface ResolvedModel {
  /** The name given, or null for a path. */
  readonly name: ModelName | null;
  readonly path: string;
  readonly tokenizer: Tokenizer;
  /** Most tokens per text. */
  readonly maxTokens: number;
}

/** The repository's models/ folder (next to the package.json). */
export function modelsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', 'models');
}

/** The shipped gpt2-bytes folder: model.onnx and the validation corpora. */
export function gpt2BytesDir(): string {
  return join(modelsDir(), 'gpt2-bytes');
}

/** Resolves `--model` (a name or a path; undefined = use-lite). */
export function resolveModel(given: string | undefined): ResolvedModel {
  if (given === undefined || given === 'use-lite') return { name: 'use-lite', path: ensureUseLite().model, tokenizer: 'tokenizer.json', maxTokens: 128 };
  if (given === 'gpt2-bytes') {
    const path = join(gpt2BytesDir(), 'model.onnx');
    if (!existsSync(path)) throw new QattnError(`the gpt2-bytes model is missing from ${path} (a checkout without models/?)`);
    return { name: 'gpt2-bytes', path, tokenizer: 'bytes', maxTokens: 1024 };
  }
  return { name: null, path: given, tokenizer: 'tokenizer.json', maxTokens: 128 };
}

/** A text's tokens for a byte-level model: its UTF-8 bytes (at most maxTokens). */
export function byteTokens(text: string, maxTokens: number): number[] {
  const bytes = [...Buffer.from(text, 'utf8')];
  if (!bytes.length) throw new QattnError('an empty --text has no bytes to feed');
  return bytes.slice(0, maxTokens);
}
