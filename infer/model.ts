/**
 * Loading a model for `qattn infer`: decode (malformed files become one-line QattnErrors), inline external
 * data (stage models are handed to onnxruntime as bytes, which have no directory to resolve files against),
 * and find the attention blocks.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { QattnError } from '../core/errors.ts';
import { decodeModel, externalDataInfo, readTensorData, tensor, type ModelProto, type TensorProto } from '../onnx/index.ts';
import { PATTERN_NAMES, type AttentionBlock } from './block.ts';
import { indexGraph, type GraphIndex } from './graph.ts';
import { matchDecomposed } from './match-decomposed.ts';
import { matchFused } from './match-fused.ts';

export interface InferModel {
  readonly path: string;
  readonly model: ModelProto;
  readonly index: GraphIndex;
  readonly blocks: readonly AttentionBlock[];
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Reads and decodes an ONNX file; any decode problem is a QattnError naming the file. */
export function decodeModelFile(path: string): ModelProto {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new QattnError(`cannot read model ${path}: ${(e as NodeJS.ErrnoException).code ?? message(e)}`);
  }
  let m: ModelProto;
  try {
    m = decodeModel(bytes);
  } catch (e) {
    throw new QattnError(`${path} is not a valid ONNX model: ${message(e)}`);
  }
  if (!m.graph || !(m.graph.node ?? []).length) throw new QattnError(`${path} is not a valid ONNX model: it has no graph nodes`);
  return m;
}

/** Replaces every external-data initializer by an inline copy (read relative to `baseDir`). */
async function inlineExternal(m: ModelProto, baseDir: string): Promise<void> {
  const inits = m.graph?.initializer ?? [];
  for (let i = 0; i < inits.length; i++) {
    const t: TensorProto = inits[i]!;
    if (!externalDataInfo(t)) continue;
    try {
      const data = await readTensorData(t, baseDir);
      inits[i] = tensor(t.name ?? '', (t.dims ?? []).map(Number), data, t.dataType);
    } catch (e) {
      throw new QattnError(`cannot load external data of initializer ${t.name ?? ''}: ${message(e)}`);
    }
  }
}

/** Loads a model and finds its attention blocks; no block is a QattnError naming the patterns searched. */
export async function loadInferModel(path: string): Promise<InferModel> {
  const model = decodeModelFile(path);
  await inlineExternal(model, dirname(path));
  const index = indexGraph(model.graph!);
  const blocks = [...(await matchDecomposed(index)), ...matchFused(index)].sort((a, b) => Math.max(...a.nodes) - Math.max(...b.nodes));
  if (!blocks.length) {
    throw new QattnError(`no attention block found in ${path} (searched: ${PATTERN_NAMES.join(', ')}: MatMul → Mul/Div → Add/Where → Softmax → MatMul, ONNX Attention, com.microsoft MultiHeadAttention/Attention/GroupQueryAttention)`);
  }
  const names = new Set<string>();
  const unique = blocks.map((b, i) => (names.has(b.name) ? { ...b, name: `${b.name}#${i}` } : (names.add(b.name), b)));
  return { path, model, index, blocks: unique };
}
