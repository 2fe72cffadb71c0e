/**
 * Downstream score of a mechanism on the default model: embed both sentences of every pair with the
 * unmodified and the swapped model (one batch, one infer call), and compare the rankings of their cosine
 * similarities by Spearman's ρ — with exact attention's ranking and with the human grades.
 */
import type { OptionValue } from '../attention/types.ts';
import { infer } from './infer.ts';
import type { InferModel } from './model.ts';
import { SIMILARITY_PAIRS, type SimilarityPair } from './similarity-pairs.ts';
import { asFloat32, type HostTensor } from './tensors.ts';
import { textFeeds, tokenize } from './text.ts';

/** Ranks with ties averaged (1-based), as Spearman's ρ needs. */
export function ranks(x: readonly number[]): number[] {
  const order = x.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(x.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation (Pearson correlation of the tie-averaged ranks). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  const ra = ranks(a), rb = ranks(b), n = a.length;
  const mean = (n + 1) / 2;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i]! - mean) * (rb[i]! - mean);
    da += (ra[i]! - mean) ** 2;
    db += (rb[i]! - mean) ** 2;
  }
  return da === 0 || db === 0 ? 0 : num / Math.sqrt(da * db);
}

/** Cosine similarity of rows i and j of a [B, D] embedding tensor. */
function cosineRows(e: Float32Array, dim: number, i: number, j: number): number {
  let ab = 0, aa = 0, bb = 0;
  for (let c = 0; c < dim; c++) {
    const x = e[i * dim + c]!, y = e[j * dim + c]!;
    ab += x * y; aa += x * x; bb += y * y;
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

export interface SimilarityScore {
  readonly pairs: number;
  /** Spearman ρ of the swapped model's pair similarities against exact attention's. */
  readonly spearmanVsExact: number;
  readonly spearmanVsGrades: number;
  readonly exactSpearmanVsGrades: number;
}

export function pairCosines(emb: HostTensor, pairs: readonly SimilarityPair[]): number[] {
  const e = asFloat32(emb, 'embeddings'), dim = emb.dims.at(-1)!;
  return pairs.map((_, p) => cosineRows(e, dim, 2 * p, 2 * p + 1));
}

export async function similarityScore(
  im: InferModel, method: string, options: Readonly<Record<string, OptionValue>>, seed = 0, pairs: readonly SimilarityPair[] = SIMILARITY_PAIRS,
): Promise<SimilarityScore> {
  const tokens = await tokenize(im.path, pairs.flatMap((p) => [p.a, p.b]));
  const feeds = textFeeds(tokens, (im.model.graph?.input ?? []).map((v) => v.name ?? ''));
  const r = await infer({ model: im, feeds, method, options, seed });
  const out = (im.model.graph?.output ?? [])[0]?.name ?? '';
  const swapped = pairCosines(r.swapped.get(out)!, pairs), exact = pairCosines(r.reference.get(out)!, pairs);
  const grades = pairs.map((p) => p.grade);
  return { pairs: pairs.length, spearmanVsExact: spearman(swapped, exact), spearmanVsGrades: spearman(swapped, grades), exactSpearmanVsGrades: spearman(exact, grades) };
}
