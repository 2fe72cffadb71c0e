/**
 * `lsh`: SimHash locality-sensitive hashing attention.
 *
 * SimHash (Charikar, "Similarity estimation techniques from rounding algorithms", STOC 2002): each bit is the
 * sign of a Gaussian random hyperplane projection, so two vectors at angle φ agree on a bit with probability
 * 1 − φ/π and land in the same bucket of a `bits`-bit table with probability (1 − φ/π)^bits. With L
 * independent tables a key becomes a candidate of a query when they collide in at least one table:
 * P(candidate) = 1 − (1 − (1 − φ/π)^bits)^L.
 *
 * Two phases, as an LSH index is used (Indyk & Motwani, STOC 1998: preprocess the points once, then answer
 * queries): `prepare` hashes every key once and files it in L bucket tables; a query hashes q, looks up its L
 * buckets and takes the union of the keys there as candidates (Reformer, Kitaev et al. arXiv 2001.04451, uses
 * the same angular LSH to pick attention keys). Then:
 *  - mode `topk`: exact scores on the candidates, heap top-k, softmax over the k;
 *  - mode `sample`: MagicPIG (Chen et al. arXiv 2410.16179) — the candidates ARE the importance sample, each
 *    weighted exp(score)/P(candidate) and self-normalised, which estimates softmax attention over all keys
 *    rather than truncating it. `k` is not used in this mode (every candidate is a sample, as in MagicPIG).
 * A query none of whose buckets holds a visible key attends to nothing: its output row is 0 (qattn's
 * convention for an empty selection, as for a fully masked query), counted in `extra.emptyQueries`.
 * bits = 0 puts every key in one bucket, so every key is a candidate with probability 1: with k = n both
 * modes are exact attention (the exhaustive setting).
 *
 * Tables are typed arrays, one CSR per table: the distinct codes in ascending order, offsets, and the key ids
 * of each bucket in ascending order — a query finds its bucket by binary search. Keys are projected on the
 * L·bits hyperplanes as one Gemm per chunk in onnxruntime (float32, as a practitioner computes K·Pᵀ on BLAS);
 * a projection whose float32 value lies within the float32 rounding bound of 0 is recomputed in float64, so
 * every key's code equals `hashRow`'s float64 definition bit for bit, whatever path or chunking computed it —
 * the same code the query side uses, and the same after an append as in a fresh prepare.
 *
 * Append: the logarithmic method (Bentley & Saxe, "Decomposable searching problems I", J. Algorithms 1980).
 * The keys are split into levels of contiguous ids, each with its own tables; new keys form a new level, and
 * the two newest levels merge while the older is no larger than the newer, so there are O(log n) levels and a
 * key is re-filed O(log n) times — only the new keys are hashed. A bucket is the union of its levels' buckets,
 * so the candidates (and outputs) equal those of preparing the concatenation.
 */
import { createRng, normalArray } from '../../core/rng.ts';
import { softmaxInPlace, weightedValues } from '../math.ts';
import { TopKHeap, meanSize } from '../select.ts';
import type { AttentionInput, AttentionOutput, Mechanism, OptionValues, PrepareCost, QueryInput } from '../types.ts';
import { defineMechanism, fullInput, type TypedPrepared } from '../define.ts';
import { emptyCost } from '../types.ts';
import { effectiveScale, maskAt, visibleKeys } from '../validate.ts';
import { ortProject } from '../kernels/ort/favor.ts';
import { maxRowNormJs } from '../kernels/ort/scores.ts';
import { ortUnavailableReason } from '../kernels/ort/sessions.ts';
import { K_MAX } from './topk-exact.ts';

const OPTIONS = {
  tables: { type: 'int', default: 8, min: 1, max: 1024, description: 'number of hash tables L (more tables: more candidates, higher recall; MagicPIG uses 150–300)' },
  bits: { type: 'int', default: 8, min: 0, max: 30, description: 'hyperplanes per table (more bits: smaller buckets; 0 = every key is a candidate)' },
  k: { type: 'int', default: 32, min: 1, max: K_MAX, description: 'keys kept per query in topk mode (clamped to n; unused in sample mode)' },
  mode: { type: 'enum', default: 'topk', values: ['topk', 'sample'], description: 'topk: exact top-k of the candidates; sample: MagicPIG self-normalised importance weights exp(s)/P(collision)' },
  transform: { type: 'enum', default: 'none', values: ['none', 'simple'], description: 'none: SimHash of the keys (angle); simple: simple-LSH for maximum inner product (Neyshabur & Srebro 2015), keys k/M with a coordinate √(1 − ‖k/M‖²)' },
} as const;

/**
 * simple-LSH (Neyshabur & Srebro, "On Symmetric and Asymmetric LSHs for Inner Product Search", ICML 2015): SimHash
 * finds keys by angle, so a key that wins by its norm (a large q·k at an ordinary angle) is missed. Scaling every
 * key by the largest key norm M and appending √(1 − ‖k/M‖²) puts all keys on the unit sphere of d + 1 dimensions,
 * and a query [q, 0] then has cos = q·k/(‖q‖·M): the angle is monotone in the inner product, so SimHash collisions
 * follow q·k. M is the largest norm of the cache; an append with a larger key rebuilds the tables with the new M
 * (what preparing the concatenation does), else it hashes only the new keys.
 */
function augmentKeys(k: Float32Array, count: number, d: number, maxNorm: number): Float32Array {
  const out = new Float32Array(count * (d + 1));
  const inv = maxNorm > 0 ? 1 / maxNorm : 0;
  for (let j = 0; j < count; j++) {
    let sq = 0;
    for (let c = 0; c < d; c++) {
      const x = k[j * d + c]! * inv;
      out[j * (d + 1) + c] = x;
      sq += x * x;
    }
    out[j * (d + 1) + d] = Math.sqrt(Math.max(0, 1 - sq));
  }
  return out;
}

/** [q, 0] per query: the same signs on every hyperplane as the unit query simple-LSH defines. */
function augmentQueries(q: Float32Array, m: number, d: number): Float32Array {
  const out = new Float32Array(m * (d + 1));
  for (let i = 0; i < m; i++) out.set(q.subarray(i * d, (i + 1) * d), i * (d + 1));
  return out;
}

/** The largest norm of the first `count` rows, in float64 (scores.ts's JS loop: no float32 upper bound, so exact M). */
const maxNormOf = (k: Float32Array, count: number, d: number): number => maxRowNormJs(k.subarray(0, count * d), d);

interface Hasher {
  readonly tables: number;
  readonly bits: number;
  readonly d: number;
  /** tables·bits hyperplanes of dimension d, row-major: table t uses rows t·bits … t·bits + bits − 1. */
  readonly planes: Float32Array;
  /** ‖plane‖₂ of each hyperplane (for the float32 rounding bound). */
  readonly planeNorms: Float64Array;
}

function makeHasher(seed: number, tables: number, bits: number, d: number): Hasher {
  // Drawn in table order, so more tables only add hyperplanes (and candidates) to fewer tables'.
  const planes = normalArray(createRng(seed), tables * bits * d);
  const planeNorms = new Float64Array(tables * bits);
  for (let p = 0; p < planeNorms.length; p++) planeNorms[p] = Math.sqrt(sqNorm(planes, p * d, d));
  return { tables, bits, d, planes, planeNorms };
}

function sqNorm(x: Float32Array, off: number, d: number): number {
  let s = 0;
  for (let c = 0; c < d; c++) s += x[off + c]! * x[off + c]!;
  return s;
}

/** Projection of x[xo … xo+d) on hyperplane p in float64 (products of float32 values are exact in float64). */
function projection(h: Hasher, p: number, x: Float32Array, xo: number): number {
  const po = p * h.d;
  let s = 0;
  for (let c = 0; c < h.d; c++) s += h.planes[po + c]! * x[xo + c]!;
  return s;
}

/** The L bucket codes of row `row` of `x` (a row-major [·×d] matrix), written to codes[0..L): the definition. */
function hashRow(h: Hasher, x: Float32Array, row: number, codes: Int32Array): void {
  const xo = row * h.d;
  for (let t = 0; t < h.tables; t++) {
    let code = 0;
    for (let b = 0; b < h.bits; b++) if (projection(h, t * h.bits + b, x, xo) >= 0) code |= 1 << b;
    codes[t] = code;
  }
}

type Codes = Uint8Array | Uint16Array | Int32Array;

const codeArray = (bits: number, len: number): Codes =>
  bits <= 8 ? new Uint8Array(len) : bits <= 16 ? new Uint16Array(len) : new Int32Array(len);

/** Keys projected per onnxruntime call: bounds its input and output buffers to a few MiB. */
const ORT_CHUNK_VALUES = 2 ** 21;
/** Fewer keys than this (a decode append) are projected in JS: an ORT call costs more than their Gemm. */
const ORT_MIN_ROWS = 64;

/**
 * The codes of rows 0 … count−1 of x, per table, and their norms. Through ORT where it is loadable: a float32
 * dot product of d terms is within γ_d·Σ|p_c·x_c| ≤ (d+1)·2⁻²⁴·‖p‖·‖x‖ of the exact value in any summation
 * order (Higham, Accuracy and Stability of Numerical Algorithms, §3.1; plus an absolute term for flushed
 * subnormals), so where |float32 value| exceeds twice that bound its sign is the exact sign — and the float64
 * sum's, whose own error is ~2⁻⁵³ relative. Only the few projections inside the bound are recomputed in float64.
 */
async function hashKeys(h: Hasher, x: Float32Array, count: number): Promise<{ codes: Codes[]; norms: Float64Array; rechecks: number }> {
  const { d, tables, bits } = h;
  const P = tables * bits;
  const codes = Array.from({ length: tables }, () => codeArray(bits, count));
  const norms = new Float64Array(count);
  for (let r = 0; r < count; r++) norms[r] = Math.sqrt(sqNorm(x, r * d, d));
  if (P === 0) return { codes, norms, rechecks: 0 };
  if (count < ORT_MIN_ROWS || ortUnavailableReason() !== null) {
    const row = new Int32Array(tables);
    for (let r = 0; r < count; r++) {
      hashRow(h, x, r, row);
      for (let t = 0; t < tables; t++) codes[t]![r] = row[t]!;
    }
    return { codes, norms, rechecks: 0 };
  }
  const wt = new Float32Array(d * P); // Pᵀ [d×P]
  for (let p = 0; p < P; p++) for (let c = 0; c < d; c++) wt[c * P + p] = h.planes[p * d + c]!;
  const chunk = Math.max(1, Math.floor(ORT_CHUNK_VALUES / Math.max(P, d)));
  const zeros = new Float32Array(Math.min(chunk, count));
  const tauRel = 2 * (d + 2) * (2 ** -24 + 2 ** -53), tauAbs = 2 * (d + 2) * 2 ** -126;
  let rechecks = 0;
  for (let r0 = 0; r0 < count; r0 += chunk) {
    const rows = Math.min(chunk, count - r0);
    const a = await ortProject(x.subarray(r0 * d, (r0 + rows) * d), zeros.subarray(0, rows), wt, { rows, d, r: P });
    for (let r = 0; r < rows; r++) {
      const tau = tauRel * norms[r0 + r]!, ao = r * P;
      for (let t = 0, p = 0; t < tables; t++) {
        let code = 0;
        for (let b = 0; b < bits; b++, p++) {
          let s = a[ao + p]!;
          const abs = Math.abs(s);
          // NaN fails the first test; ±∞ (a float32 overflow of a finite float64 sum) the second.
          if (!(abs > tau * h.planeNorms[p]! + tauAbs) || abs === Infinity) s = projection(h, p, x, (r0 + r) * d), rechecks++;
          if (s >= 0) code |= 1 << b;
        }
        codes[t]![r0 + r] = code;
      }
    }
  }
  return { codes, norms, rechecks };
}

/** One table of one level: distinct codes ascending, CSR offsets, key ids (ascending within a bucket). */
interface Table {
  readonly codes: Int32Array;
  readonly offsets: Int32Array;
  readonly ids: Int32Array;
}

/** Keys start … start+count−1 and their L tables. */
interface Level {
  readonly start: number;
  readonly count: number;
  readonly tables: readonly Table[];
}

/** The table of `codes` (of keys start, start+1, …): a stable LSD radix sort by code, 16 bits a pass. */
function buildTable(codes: Codes, start: number, bits: number): Table {
  const count = codes.length;
  let order = new Int32Array(count);
  for (let r = 0; r < count; r++) order[r] = r;
  for (let shift = 0; shift < bits; shift += 16) {
    const width = Math.min(16, bits - shift), mask = (1 << width) - 1;
    const at = new Int32Array((1 << width) + 1);
    for (let r = 0; r < count; r++) at[((codes[r]! >>> shift) & mask) + 1]!++;
    for (let b = 1; b < at.length; b++) at[b]! += at[b - 1]!;
    const next = new Int32Array(count);
    for (let u = 0; u < count; u++) {
      const r = order[u]!;
      next[at[(codes[r]! >>> shift) & mask]!++] = r;
    }
    order = next;
  }
  let distinct = 0;
  for (let u = 0; u < count; u++) if (u === 0 || codes[order[u]!] !== codes[order[u - 1]!]) distinct++;
  const out = new Int32Array(distinct), offsets = new Int32Array(distinct + 1);
  let g = -1;
  for (let u = 0; u < count; u++) {
    const c = codes[order[u]!]!;
    if (g < 0 || out[g] !== c) out[++g] = c, offsets[g] = u;
    order[u]! += start;
  }
  offsets[distinct] = count;
  return { codes: out, offsets, ids: order };
}

/** Table of the keys of a (older, lower ids) and b (newer): per code, a's ids then b's, so still ascending. */
function mergeTables(a: Table, b: Table): Table {
  let distinct = 0;
  for (let x = 0, y = 0; x < a.codes.length || y < b.codes.length; distinct++) {
    if (y >= b.codes.length || (x < a.codes.length && a.codes[x]! < b.codes[y]!)) x++;
    else if (x >= a.codes.length || b.codes[y]! < a.codes[x]!) y++;
    else x++, y++;
  }
  const codes = new Int32Array(distinct), offsets = new Int32Array(distinct + 1), ids = new Int32Array(a.ids.length + b.ids.length);
  let x = 0, y = 0, w = 0;
  for (let g = 0; g < distinct; g++) {
    const ca = x < a.codes.length ? a.codes[x]! : Infinity, cb = y < b.codes.length ? b.codes[y]! : Infinity;
    const c = Math.min(ca, cb);
    codes[g] = c;
    offsets[g] = w;
    if (ca === c) ids.set(a.ids.subarray(a.offsets[x]!, a.offsets[x + 1]!), w), w += a.offsets[x + 1]! - a.offsets[x]!, x++;
    if (cb === c) ids.set(b.ids.subarray(b.offsets[y]!, b.offsets[y + 1]!), w), w += b.offsets[y + 1]! - b.offsets[y]!, y++;
  }
  offsets[distinct] = w;
  return { codes, offsets, ids };
}

function mergeLevels(a: Level, b: Level): Level {
  return { start: a.start, count: a.count + b.count, tables: a.tables.map((t, i) => mergeTables(t, b.tables[i]!)) };
}

/** Bucket of `code` in a table as [lo, hi) into its ids; lo = hi when empty. Binary search. */
function bucket(t: Table, code: number): [number, number] {
  let lo = 0, hi = t.codes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t.codes[mid]! < code) lo = mid + 1;
    else hi = mid;
  }
  return lo < t.codes.length && t.codes[lo] === code ? [t.offsets[lo]!, t.offsets[lo + 1]!] : [0, 0];
}

/**
 * Key norms (sample mode's collision probabilities need them) with room to grow: `claim.n` is how much of
 * `buf` the newest state uses, so only that state appends in place; an older state's view stays as it was.
 */
interface Norms {
  readonly buf: Float64Array;
  readonly claim: { n: number };
}

function grownNorms(prev: Norms | null, n: number, add: Float64Array): Norms {
  if (prev && prev.claim.n === n && prev.buf.length >= n + add.length) {
    prev.buf.set(add, n);
    prev.claim.n = n + add.length;
    return prev;
  }
  const buf = new Float64Array(Math.max(n + add.length, prev ? 2 * n : 0));
  if (prev) buf.set(prev.buf.subarray(0, n));
  buf.set(add, n);
  return { buf, claim: { n: n + add.length } };
}

interface State {
  readonly hasher: Hasher;
  /** Levels in key order; their ranges tile 0 … n−1. */
  readonly levels: readonly Level[];
  /** ‖k_j‖ (sample mode only; entries 0 … n−1 belong to this state; M for every key under simple-LSH). */
  readonly norms: Norms | null;
  /** simple-LSH: the largest key norm M the keys were scaled by (null: plain SimHash). */
  readonly simpleNorm: number | null;
}

/**
 * The tables of keys [0, n) of k: SimHash of the keys, or under simple-LSH of their augmented copies (hyperplanes
 * of d + 1 dimensions; the sample mode's norms are then M for every key, so its collision probabilities use the
 * augmented angle, cos = q·k/(‖q‖·M)).
 */
async function prepareLsh(k: Float32Array, n: number, d: number, seed: number, o: OptionValues<typeof OPTIONS>): Promise<{ state: State; cost: PrepareCost }> {
  const simpleNorm = o.transform === 'simple' ? maxNormOf(k, n, d) : null;
  const hasher = makeHasher(seed, o.tables, o.bits, simpleNorm !== null ? d + 1 : d);
  const { level, norms, cost } = await newLevel(hasher, simpleNorm !== null ? augmentKeys(k, n, d, simpleNorm) : k, 0, n);
  const kept = simpleNorm !== null ? norms.fill(simpleNorm) : norms;
  return { state: { hasher, levels: [level], norms: o.mode === 'sample' ? grownNorms(null, 0, kept) : null, simpleNorm }, cost };
}

async function newLevel(h: Hasher, x: Float32Array, start: number, count: number): Promise<{ level: Level; norms: Float64Array; cost: PrepareCost }> {
  const { codes, norms, rechecks } = await hashKeys(h, x, count);
  const cost = { scoreEvaluations: 0, extra: { hashEvaluations: count * h.tables * h.bits, hashRechecks: rechecks } };
  return { level: { start, count, tables: codes.map((c) => buildTable(c, start, h.bits)) }, norms, cost };
}

/**
 * Visible keys (ids < vis) sharing a bucket with the query's codes in at least one table, ascending.
 * `seen` (a bitmap over the keys, all clear) dedups them and is left clear again.
 */
function candidates(levels: readonly Level[], codes: Int32Array, vis: number, seen: Uint32Array): Int32Array {
  let cnt = 0;
  for (const level of levels) {
    if (level.start >= vis) break; // levels are in key order: the rest are outside the causal window
    level.tables.forEach((t, i) => {
      const [lo, hi] = bucket(t, codes[i]!);
      for (let u = lo; u < hi; u++) {
        const j = t.ids[u]!;
        if (j >= vis) break; // ids are ascending within a bucket: the rest are outside the causal window too
        const w = j >>> 5, bit = 1 << (j & 31);
        if (seen[w]! & bit) continue;
        seen[w]! |= bit;
        cnt++;
      }
    });
  }
  // Ascending order by reading the bitmap back (and clearing it): n/32 word reads, cheaper than sorting the
  // c ≈ L·n/2^bits candidates (measured: 2–4× less time in this step at n = 2^20).
  const cand = new Int32Array(cnt);
  for (let w = 0, u = 0; u < cnt; w++) {
    let x = seen[w]!;
    if (x === 0) continue;
    seen[w] = 0;
    while (x !== 0) {
      const low = x & -x;
      x ^= low;
      cand[u++] = (w << 5) + 31 - Math.clz32(low);
    }
  }
  return cand;
}

/** ln P(candidate) for SimHash with angle φ between q and k: ln(1 − (1 − (1 − φ/π)^bits)^L). */
export function logCollisionProbability(cosine: number, bits: number, tables: number): number {
  const phi = Math.acos(Math.max(-1, Math.min(1, cosine)));
  const perTable = Math.pow(1 - phi / Math.PI, bits);
  if (perTable >= 1) return 0;
  // 1 − (1 − p)^L computed as −expm1(L·log1p(−p)) so tiny p keeps its precision.
  return Math.log(-Math.expm1(tables * Math.log1p(-perTable)));
}

/** MagicPIG estimate for query i: self-normalised weights exp(logit)/P(candidate) over the candidates. */
function sampleRow(input: AttentionInput, i: number, cand: Int32Array, h: Hasher, kNorm: Float64Array, out: Float32Array): void {
  const scale = effectiveScale(input);
  const qNorm = Math.sqrt(sqNorm(input.q, i * input.d, input.d));
  const w = new Float64Array(cand.length);
  scoreCandidates(input.q, i, input.k, input.d, cand, w);
  for (let t = 0; t < cand.length; t++) {
    const j = cand[t]!;
    const s = w[t]!;
    const den = qNorm * kNorm[j]!;
    const logP = logCollisionProbability(den > 0 ? s / den : 0, h.bits, h.tables);
    // logP = −∞ (angle π) cannot occur for a key that did collide; clamp so rounding can't make it +∞ weight.
    w[t] = s * scale + maskAt(input, i, j) - Math.max(logP, -700);
  }
  softmaxInPlace(w);
  weightedValues(input, i, w, out, cand);
}

/**
 * q_i·k_j for every candidate j, in float64 as math.dot computes it (same products, same order, so the same
 * bits), with the arrays in locals (the shared `dot(input, …)` sees inputs of many shapes and its property
 * loads go megamorphic). Candidates are scattered rows of K, so the loop is bound by memory latency, not
 * arithmetic: eight rows at a time keep eight independent loads in flight (2.2× faster than one row at a time
 * at n = 2^20, measured), the usual remedy for a latency-bound gather.
 */
function scoreCandidates(q: Float32Array, i: number, k: Float32Array, d: number, cand: Int32Array, out: Float64Array): void {
  const qo = i * d, len = cand.length;
  let t = 0;
  for (; t + 8 <= len; t += 8) {
    const a0 = cand[t]! * d, a1 = cand[t + 1]! * d, a2 = cand[t + 2]! * d, a3 = cand[t + 3]! * d;
    const a4 = cand[t + 4]! * d, a5 = cand[t + 5]! * d, a6 = cand[t + 6]! * d, a7 = cand[t + 7]! * d;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let c = 0; c < d; c++) {
      const x = q[qo + c]!;
      s0 += x * k[a0 + c]!, s1 += x * k[a1 + c]!, s2 += x * k[a2 + c]!, s3 += x * k[a3 + c]!;
      s4 += x * k[a4 + c]!, s5 += x * k[a5 + c]!, s6 += x * k[a6 + c]!, s7 += x * k[a7 + c]!;
    }
    out[t] = s0, out[t + 1] = s1, out[t + 2] = s2, out[t + 3] = s3, out[t + 4] = s4, out[t + 5] = s5, out[t + 6] = s6, out[t + 7] = s7;
  }
  for (; t < len; t++) {
    const ko = cand[t]! * d;
    let s = 0;
    for (let c = 0; c < d; c++) s += q[qo + c]! * k[ko + c]!;
    out[t] = s;
  }
}

/** Top-k of the candidates (ascending, so heap ties by position are ties by key index), softmax over them. */
function topkRow(input: AttentionInput, i: number, cand: Int32Array, heap: TopKHeap, out: Float32Array): Int32Array {
  const scale = effectiveScale(input);
  const logits = new Float64Array(cand.length);
  scoreCandidates(input.q, i, input.k, input.d, cand, logits);
  heap.clear();
  for (let t = 0; t < cand.length; t++) {
    const j = cand[t]!;
    logits[t] = logits[t]! * scale + maskAt(input, i, j);
    heap.push(t, logits[t]!);
  }
  const pos = heap.indices();
  const sel = new Int32Array(pos.length), w = new Float64Array(pos.length);
  for (let u = 0; u < pos.length; u++) sel[u] = cand[pos[u]!]!, w[u] = logits[pos[u]!]!;
  softmaxInPlace(w);
  weightedValues(input, i, w, out, sel);
  return sel;
}

async function attend(p: TypedPrepared<State, typeof OPTIONS>, query: QueryInput): Promise<AttentionOutput> {
  const input = fullInput(p.kv, query);
  const { m, n, dv } = input;
  const { hasher: h, levels, norms } = p.state;
  const k = Math.min(p.options.k, n);
  const sample = p.options.mode === 'sample';
  const out = new Float32Array(m * dv);
  const seen = new Uint32Array((n + 31) >>> 5);
  const codes = new Int32Array(h.tables);
  const heap = new TopKHeap(k);
  const selected: Int32Array[] = [];
  let scored = 0, empty = 0;
  const hashed = p.state.simpleNorm !== null ? augmentQueries(input.q, m, input.d) : input.q;
  for (let i = 0; i < m; i++) {
    hashRow(h, hashed, i, codes);
    const cand = candidates(levels, codes, visibleKeys(input, i), seen);
    scored += cand.length;
    if (cand.length === 0) empty++;
    if (sample) {
      sampleRow(input, i, cand, h, norms!.buf, out);
      selected.push(cand);
    } else {
      selected.push(topkRow(input, i, cand, heap, out));
    }
  }
  const cost = emptyCost();
  cost.scoreEvaluations = scored;
  cost.samples = sample ? scored : null;
  cost.selectedPerQuery = meanSize(selected);
  cost.extra.hashEvaluations = m * h.tables * h.bits; // the queries' projections; the keys' are in prepare
  cost.extra.emptyQueries = empty;
  return { out, cost, selected, ...(sample ? {} : { weights: 'restricted-softmax' as const }), path: sample ? 'simhash-sample' : 'simhash-topk' };
}

export const lsh: Mechanism = defineMechanism<State, typeof OPTIONS>({
  name: 'lsh',
  family: 'classical',
  summary: 'SimHash LSH: keys hashed once into L typed-array tables (prepare); per query hash q, probe, exact top-k or MagicPIG sampling of the colliding keys',
  reference: 'Charikar, STOC 2002 (SimHash); Kitaev et al. arXiv 2001.04451 (Reformer); Chen et al. arXiv 2410.16179 (MagicPIG); Bentley & Saxe 1980 (append)',
  options: OPTIONS,
  budget: {
    // SimHash collides keys at angle θ with probability (1 − θ/π)^bits per table: 2^−bits at θ = π/2, so L tables
    // of `bits` bits score ≈ L·n/2^bits near-orthogonal keys; bits is set to make that B. Keys at smaller angles
    // collide more ((1 − θ/π)^bits is convex in θ), so the candidates actually scored exceed B where the angles
    // spread (measured: ×5 at d = 16, b = 11) — counted in scoreEvaluations, which the budget tables print.
    counts: 'candidate keys scored exactly per query (the colliding keys; bits = log2(L·n/B) for the L tables given, so ≈ B near-orthogonal keys collide; more where the angles spread), the top k = B of them kept',
    options: (b, n, base) => ({ k: b, bits: Math.max(0, Math.min(30, Math.round(Math.log2((base.tables * n) / b)))) }),
    spent: (cost, m) => (cost.scoreEvaluations ?? 0) / m,
    slack: 8,
  },
  tolerance: {
    kind: 'exhaustive',
    relL2: 1e-6,
    note: 'bits = 0 makes every key a candidate with collision probability 1, so with k = n both modes are the exact float64 softmax up to float32 output rounding',
    options: (n: number) => ({ bits: 0, k: Math.min(n, K_MAX) }),
  },
  costFields: {
    scoreEvaluations: 'sum', samples: 'sum', selectedPerQuery: 'mean', 'extra.hashEvaluations': 'sum',
    'extra.emptyQueries': 'sum',
  },
  notSupportedReasons: () => [],

  // Every key hashed once: n·L·bits hyperplane projections (hashEvaluations), of which hashRechecks were
  // recomputed in float64 because their float32 value was within rounding of 0.
  async prepare(kv, o) {
    return prepareLsh(kv.k, kv.n, kv.d, kv.seed ?? 0, o);
  },

  // Only the new keys are hashed (a new level); levels merge as in a binary counter (module comment). Under
  // simple-LSH a new key longer than M changes every key's transform: the tables are rebuilt, as a prepare on
  // the concatenation builds them.
  async append(p, grown, kNew) {
    const { hasher, simpleNorm } = p.state, from = p.kv.n, t = grown.n - from, d = grown.d;
    if (simpleNorm !== null && maxNormOf(kNew, t, d) > simpleNorm) return prepareLsh(grown.k, grown.n, d, grown.seed ?? 0, p.options);
    const keys = simpleNorm !== null ? augmentKeys(kNew, t, d, simpleNorm) : kNew;
    const { level, norms, cost } = await newLevel(hasher, keys, from, t);
    const levels = [...p.state.levels, level];
    while (levels.length >= 2 && levels[levels.length - 2]!.count <= levels[levels.length - 1]!.count) {
      const b = levels.pop()!, a = levels.pop()!;
      levels.push(mergeLevels(a, b));
    }
    const kept = simpleNorm !== null ? norms.fill(simpleNorm) : norms;
    return { state: { hasher, levels, norms: p.state.norms ? grownNorms(p.state.norms, from, kept) : null, simpleNorm }, cost };
  },
  attend,
});
