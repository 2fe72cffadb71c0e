/**
 * `l2-sampling`: softmax attention estimated by self-normalised importance sampling over keys drawn with
 * probability p_j = ‖k_j‖² / ‖K_window‖_F² from sample-and-query access (attention/sq-access.ts).
 *
 * What it dequantizes: the quantum route loads K into QRAM (a tree of squared norms, Kerenidis & Prakash 2017,
 * arXiv 1603.08675), prepares the state Σ_j ‖k_j‖ |j⟩|k_j⟩ / ‖K‖_F in O(polylog n), and estimates the attention
 * output by amplitude estimation over that state. Tang (2019, arXiv 1807.04271) observed that the same tree
 * gives the classical analogue — ℓ2-norm row sampling — in O(log n), and Chia, Gilyén, Li, Lin, Tang, Wang
 * (2020, arXiv 1910.06151) made this general: under SQ access, estimators built from measurements of such
 * states are simulated classically with polynomial overhead. This mechanism is that classical simulation:
 *   draw j_1 … j_s i.i.d. ∝ ‖k_j‖² within the query's window,
 *   O_i ≈ Σ_t w_t v_{j_t} / Σ_t w_t,   w_t = exp(score_{j_t} − c) / p_{j_t}   (c: a shift for stability).
 *
 * Two phases, as the papers assume: the norm tree is the data structure SQ access is GIVEN (built once per KV
 * cache, O(n·d), and grown by O(log n) per appended key), so `prepare` builds it and `append` grows it; a
 * query costs O(s·log n) for the draws plus O(s·(d + dv)) for the distinct keys' scores and values — no pass
 * over the n keys. The tree's samples depend only on the weights in the window (sum-tree.ts), so a grown cache
 * draws exactly what a cache prepared on the concatenation draws.
 *
 * Input assumptions and honesty notes:
 *  - Self-normalised IS is consistent as s → ∞ but biased (O(1/s)) at finite s; with replacement, no finite s
 *    reproduces exact attention, so there is no exhaustive setting.
 *  - Its variance grows with the mismatch between ‖k_j‖² and the softmax weights: peaked attention on keys of
 *    ordinary norm (needles found by direction, not length) is rarely sampled.
 *  - IS needs p_j > 0 wherever the softmax weight is > 0. A zero key has softmax weight e^{mask}/Z > 0 but
 *    p_j = 0, so with zero keys the estimate is biased unless `uniformMix` ε > 0 (defensive mixture
 *    p_j = (1−ε)‖k_j‖²/‖K‖² + ε/vis, Hesterberg 1995). A window whose keys are all zero is sampled uniformly.
 *  - Masks: −∞ entries of a broadcast (length-n) mask are removed from a per-call copy of the norm tree
 *    (sq-access.ts maskedAccess: O(n) for that call, counted in extra.sqMaskCopyRows); other mask values, and
 *    per-query masks, enter the score, so −∞ keys get weight 0.
 *  - Causal: each query samples only its window [0, vis) with the prefix-sum tree (O(log n) per draw).
 */
import { createRng } from '../../core/rng.ts';
import type { Rng } from '../../core/rng.ts';
import { dot, weightedValues } from '../math.ts';
import { KeyMemo, SQAccess, maskedAccess } from '../sq-access.ts';
import type { AttentionInput, AttentionOutput, Mechanism } from '../types.ts';
import { defineMechanism, fullInput } from '../define.ts';
import { emptyCost } from '../types.ts';
import { effectiveScale, maskAt, visibleKeys } from '../validate.ts';

const OPTIONS = {
  samples: { type: 'int', default: 256, min: 1, max: 1 << 24, description: 'keys drawn per query (with replacement)' },
  uniformMix: { type: 'number', default: 0, min: 0, max: 1, description: 'weight ε of a uniform component in the proposal (ε > 0 removes the zero-key bias)' },
} as const;

/** The prepared cache: SQ access (the row-norm tree) over the borrowed K. */
interface State {
  readonly sq: SQAccess;
}

/** The ℓ2 (or defensive-mixture) proposal of one query's window. */
interface Proposal {
  readonly sq: SQAccess;
  readonly vis: number;
  /** ‖K_window‖_F² (0: all keys zero or padded). */
  readonly mass: number;
  /** Weight of the uniform component (1 when the window has no ℓ2 mass). */
  readonly mix: number;
}

function drawKey(p: Proposal, rng: Rng): number {
  if (p.mix > 0 && (p.mix === 1 || rng.next() < p.mix)) return rng.int(p.vis);
  return p.sq.sampleRow(rng, p.vis, p.mass);
}

function proposalProb(p: Proposal, j: number): number {
  const l2 = p.mass > 0 ? p.sq.rowNorm2(j) / p.mass : 0;
  return (1 - p.mix) * l2 + p.mix / p.vis;
}

/**
 * Draws s keys for query i and writes the self-normalised IS estimate into row i of `out`. Duplicates are
 * merged (weight × multiplicity), so each distinct key costs one score. Returns the number of distinct keys.
 */
function estimateRow(input: AttentionInput, i: number, p: Proposal, s: number, rng: Rng, out: Float32Array, memo: KeyMemo): number {
  const counts = new Map<number, number>();
  for (let t = 0; t < s; t++) {
    const j = drawKey(p, rng);
    counts.set(j, (counts.get(j) ?? 0) + 1);
  }
  const keys = Int32Array.from(counts.keys());
  const logw = new Float64Array(keys.length);
  const scale = effectiveScale(input);
  memo.begin(i, (j) => dot(input, i, j));
  let c = -Infinity;
  for (let a = 0; a < keys.length; a++) {
    const j = keys[a]!;
    logw[a] = memo.get(j) * scale + maskAt(input, i, j) + Math.log(counts.get(j)! / proposalProb(p, j));
    if (logw[a]! > c) c = logw[a]!;
  }
  // If every drawn key is masked out the estimate has no mass and the row stays 0 (the fully-masked convention).
  let z = 0;
  for (let a = 0; a < keys.length; a++) {
    const w = c === -Infinity ? 0 : Math.exp(logw[a]! - c);
    logw[a] = w;
    z += w;
  }
  if (z > 0) for (let a = 0; a < keys.length; a++) logw[a]! /= z;
  weightedValues(input, i, logw, out, keys);
  return keys.length;
}

export const l2Sampling: Mechanism = defineMechanism<State, typeof OPTIONS>({
  name: 'l2-sampling',
  family: 'dequantized',
  summary: 'self-normalised importance sampling of keys ∝ ‖k_j‖² from SQ access (dequantized amplitude estimation)',
  reference: 'Tang 2019 arXiv 1807.04271; Chia, Gilyén, Li, Lin, Tang, Wang 2020 arXiv 1910.06151',
  options: OPTIONS,
  budget: {
    counts: 'keys drawn per query (samples, with replacement)',
    options: (b) => ({ samples: b }),
    spent: (cost, m) => (cost.samples ?? 0) / m,
    slack: 1,
  },
  tolerance: {
    kind: 'none',
    note: 'no exhaustive setting: sampling with replacement never reproduces exact attention; the error shrinks ~1/√samples',
  },
  costFields: {
    scoreEvaluations: 'sum', samples: 'sum', 'extra.distinctKeysPerQuery': 'mean', 'extra.uniformWindowQueries': 'sum',
    'extra.sqMaskCopyRows': 'sum',
  },
  notSupportedReasons: () => [],

  // The norm tree over the borrowed K: n row norms (n·d multiply-adds), counted as sqTreeRows.
  prepare: (kv) => ({ state: { sq: SQAccess.fromMatrix(kv.k, kv.n, kv.d) }, cost: { scoreEvaluations: 0, extra: { sqTreeRows: kv.n } } }),

  // Grows the same tree in place by the new keys' leaves: a state prepared earlier stays valid for its own n,
  // since windows ≤ n read no leaf at or beyond n (sum-tree.ts).
  append(prepared, grown) {
    const from = prepared.kv.n;
    prepared.state.sq.extend(grown.k, from, grown.n);
    return { state: prepared.state, cost: { scoreEvaluations: 0, extra: { sqTreeRows: grown.n - from } } };
  },

  async attend(prepared, query): Promise<AttentionOutput> {
    const input = fullInput(prepared.kv, query);
    const s = prepared.options.samples, eps = prepared.options.uniformMix;
    const { m, dv } = input;
    const out = new Float32Array(m * dv);
    const { sq, copiedRows } = maskedAccess(prepared.state.sq, input);
    const base = createRng(input.seed ?? 0);
    const memo = new KeyMemo();
    let distinct = 0, uniformWindows = 0;
    for (let i = 0; i < m; i++) {
      const vis = visibleKeys(input, i), mass = sq.frobenius2(vis);
      if (!(mass > 0) && eps < 1) uniformWindows++;
      const proposal: Proposal = { sq, vis, mass, mix: mass > 0 ? eps : 1 };
      distinct += estimateRow(input, i, proposal, s, base.fork(i), out, memo);
    }
    const cost = emptyCost();
    cost.scoreEvaluations = memo.evaluations;
    cost.samples = m * s;
    cost.extra = { distinctKeysPerQuery: distinct / m, uniformWindowQueries: uniformWindows, sqMaskCopyRows: copiedRows };
    return { out, cost, path: 'sq-l2-importance' };
  },
});
