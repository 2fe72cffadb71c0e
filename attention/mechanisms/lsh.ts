/**
 * `lsh`: SimHash locality-sensitive hashing attention.
 *
 * SimHash (Charikar, "Similarity estimation techniques from rounding algorithms", STOC 2002): each bit is the
 * sign of a Gaussian random hyperplane projection, so two vectors at angle φ agree on a bit with probability
 * 1 − φ/π and land in the same bucket of a `bits`-bit table with probability (1 − φ/π)^bits. With L
 * independent tables a key becomes a candidate of a query when they collide in at least one table:
 * P(candidate) = 1 − (1 − (1 − φ/π)^bits)^L.
 *
 * Keys and queries are hashed once per call; candidates are the union of the query's buckets over the L
 * tables (Reformer, Kitaev et al. arXiv 2001.04451, uses the same angular LSH to pick attention keys). Then:
 *  - mode `topk`: exact scores on the candidates, heap top-k, softmax over the k;
 *  - mode `sample`: MagicPIG (Chen et al. arXiv 2410.16179) — the candidates ARE the importance sample, each
 *    weighted exp(score)/P(candidate) and self-normalised, which estimates softmax attention over all keys
 *    rather than truncating it. `k` is not used in this mode (every candidate is a sample, as in MagicPIG).
 * A query none of whose buckets holds a visible key attends to nothing: its output row is 0 (qattn's
 * convention for an empty selection, as for a fully masked query), counted in `extra.emptyQueries`.
 * bits = 0 puts every key in one bucket, so every key is a candidate with probability 1: with k = n both
 * modes are exact attention (the exhaustive setting).
 */
import { createRng, normalArray } from '../../core/rng.ts';
import { dot, softmaxInPlace, weightedValues } from '../math.ts';
import { optNumber, optString } from '../options.ts';
import { TopKHeap, meanSize, softmaxOverSelected } from '../select.ts';
import type { AttentionInput, AttentionOutput, Mechanism, Options } from '../types.ts';
import { singlePhase } from '../define.ts';
import { emptyCost } from '../types.ts';
import { effectiveScale, maskAt, visibleKeys } from '../validate.ts';
import { K_MAX } from './topk-exact.ts';

interface Hasher {
  readonly tables: number;
  readonly bits: number;
  readonly d: number;
  /** tables·bits hyperplanes of dimension d, row-major. */
  readonly planes: Float32Array;
}

/** The L bucket codes of row `row` of `x` (a row-major [·×d] matrix), written to codes[0..L). */
function hashRow(h: Hasher, x: Float32Array, row: number, codes: Int32Array): void {
  const xo = row * h.d;
  for (let t = 0; t < h.tables; t++) {
    let code = 0;
    for (let b = 0; b < h.bits; b++) {
      const po = (t * h.bits + b) * h.d;
      let s = 0;
      for (let c = 0; c < h.d; c++) s += h.planes[po + c]! * x[xo + c]!;
      if (s >= 0) code |= 1 << b;
    }
    codes[t] = code;
  }
}

/** One Map per table from bucket code to the (ascending) keys in that bucket. */
function buildTables(h: Hasher, input: AttentionInput): Map<number, number[]>[] {
  const tables = Array.from({ length: h.tables }, () => new Map<number, number[]>());
  const codes = new Int32Array(h.tables);
  for (let j = 0; j < input.n; j++) {
    hashRow(h, input.k, j, codes);
    for (let t = 0; t < h.tables; t++) {
      const bucket = tables[t]!.get(codes[t]!);
      if (bucket) bucket.push(j);
      else tables[t]!.set(codes[t]!, [j]);
    }
  }
  return tables;
}

/** Visible keys sharing a bucket with query i in at least one table, ascending. `stamp` dedups (length n). */
function candidates(h: Hasher, input: AttentionInput, tables: Map<number, number[]>[], i: number, stamp: Int32Array): Int32Array {
  const codes = new Int32Array(h.tables);
  hashRow(h, input.q, i, codes);
  const vis = visibleKeys(input, i);
  const found: number[] = [];
  for (let t = 0; t < h.tables; t++) {
    for (const j of tables[t]!.get(codes[t]!) ?? []) {
      if (j >= vis) break; // buckets are ascending, so the rest are outside the causal window too
      if (stamp[j] === i + 1) continue;
      stamp[j] = i + 1;
      found.push(j);
    }
  }
  return Int32Array.from(found.sort((a, b) => a - b));
}

/** ln P(candidate) for SimHash with angle φ between q and k: ln(1 − (1 − (1 − φ/π)^bits)^L). */
export function logCollisionProbability(cosine: number, bits: number, tables: number): number {
  const phi = Math.acos(Math.max(-1, Math.min(1, cosine)));
  const perTable = Math.pow(1 - phi / Math.PI, bits);
  if (perTable >= 1) return 0;
  // 1 − (1 − p)^L computed as −expm1(L·log1p(−p)) so tiny p keeps its precision.
  return Math.log(-Math.expm1(tables * Math.log1p(-perTable)));
}

function rowNorms(x: Float32Array, rows: number, d: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < d; c++) s += x[r * d + c]! ** 2;
    out[r] = Math.sqrt(s);
  }
  return out;
}

/** MagicPIG estimate for query i: self-normalised weights exp(logit)/P(candidate) over the candidates. */
function sampleRow(input: AttentionInput, i: number, cand: Int32Array, h: Hasher, kNorm: Float64Array, out: Float32Array): void {
  const scale = effectiveScale(input);
  const qNorm = rowNorms(input.q.subarray(i * input.d, (i + 1) * input.d), 1, input.d)[0]!;
  const w = new Float64Array(cand.length);
  for (let t = 0; t < cand.length; t++) {
    const j = cand[t]!;
    const s = dot(input, i, j);
    const den = qNorm * kNorm[j]!;
    const logP = logCollisionProbability(den > 0 ? s / den : 0, h.bits, h.tables);
    // logP = −∞ (angle π) cannot occur for a key that did collide; clamp so rounding can't make it +∞ weight.
    w[t] = s * scale + maskAt(input, i, j) - Math.max(logP, -700);
  }
  softmaxInPlace(w);
  weightedValues(input, i, w, out, cand);
}

async function attend(input: AttentionInput, options: Options): Promise<AttentionOutput> {
  const { m, n, d, dv } = input;
  const tables = optNumber(options, 'tables'), bits = optNumber(options, 'bits');
  const k = Math.min(optNumber(options, 'k'), n);
  const sample = optString(options, 'mode') === 'sample';
  const h: Hasher = { tables, bits, d, planes: normalArray(createRng(input.seed ?? 0), tables * bits * d) };
  const buckets = buildTables(h, input);
  const kNorm = sample ? rowNorms(input.k, n, d) : new Float64Array(0);
  const scale = effectiveScale(input);
  const out = new Float32Array(m * dv);
  const stamp = new Int32Array(n);
  const heap = new TopKHeap(k);
  const logits = new Float64Array(n);
  const selected: Int32Array[] = [];
  let scored = 0, empty = 0;
  for (let i = 0; i < m; i++) {
    const cand = candidates(h, input, buckets, i, stamp);
    scored += cand.length;
    if (cand.length === 0) empty++;
    if (sample) {
      sampleRow(input, i, cand, h, kNorm, out);
      selected.push(cand);
      continue;
    }
    heap.clear();
    for (const j of cand) {
      logits[j] = dot(input, i, j) * scale + maskAt(input, i, j);
      heap.push(j, logits[j]!);
    }
    const sel = heap.indices();
    softmaxOverSelected(input, i, sel, (j) => logits[j]!, out);
    selected.push(sel);
  }
  const cost = emptyCost();
  cost.scoreEvaluations = scored;
  cost.samples = sample ? scored : null;
  cost.selectedPerQuery = meanSize(selected);
  cost.extra.hashEvaluations = (n + m) * tables * bits;
  cost.extra.emptyQueries = empty;
  return { out, cost, selected, path: sample ? 'simhash-sample' : 'simhash-topk' };
}

export const lsh: Mechanism = singlePhase({
  name: 'lsh',
  family: 'classical',
  summary: 'SimHash LSH candidates (L tables × bits), then exact top-k or MagicPIG importance sampling',
  reference: 'Charikar, STOC 2002 (SimHash); Kitaev et al. arXiv 2001.04451 (Reformer); Chen et al. arXiv 2410.16179 (MagicPIG)',
  options: {
    tables: { type: 'int', default: 8, min: 1, max: 256, description: 'number of hash tables L (more tables: more candidates, higher recall)' },
    bits: { type: 'int', default: 8, min: 0, max: 30, description: 'hyperplanes per table (more bits: smaller buckets; 0 = every key is a candidate)' },
    k: { type: 'int', default: 32, min: 1, max: K_MAX, description: 'keys kept per query in topk mode (clamped to n; unused in sample mode)' },
    mode: { type: 'enum', default: 'topk', values: ['topk', 'sample'], description: 'topk: exact top-k of the candidates; sample: MagicPIG self-normalised importance weights exp(s)/P(collision)' },
  },
  tolerance: {
    exhaustiveRelL2: 1e-6,
    note: 'bits = 0 makes every key a candidate with collision probability 1, so with k = n both modes are the exact float64 softmax up to float32 output rounding',
  },
  costFields: {
    scoreEvaluations: 'sum', samples: 'sum', selectedPerQuery: 'mean', 'extra.hashEvaluations': 'sum',
    'extra.emptyQueries': 'sum',
  },
  exhaustiveOptions: (n) => ({ bits: 0, k: Math.min(n, K_MAX) }),
  notSupportedReasons: () => [],
  attend,
});
