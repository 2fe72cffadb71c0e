/**
 * `dequantized-topk`: draw candidate keys with probability ∝ (q·k_j)² by rejection sampling from SQ access to
 * K (attention/sq-access.ts), keep the best k distinct candidates by exact score, softmax over them.
 *
 * What it dequantizes: a Grover / amplitude-amplified top-k search over keys whose amplitudes are the scores
 * — with K in QRAM one prepares |Kq⟩ ∝ Σ_j (q·k_j)|j⟩ and amplifies the large entries. Tang (2019, arXiv
 * 1807.04271) showed, for quantum recommendation systems, that measuring |Kq⟩ is classically simulable under
 * SQ access by rejection sampling, with a cost that depends on norms, not on n; Chia, Gilyén, Li, Lin, Tang,
 * Wang (2020, arXiv 1910.06151) state it as sampling from a linear combination. Two proposals:
 *  - `row` (default): draw j ∝ ‖k_j‖², accept with probability (q·k_j)² / (‖q‖²‖k_j‖²) ≤ 1 (Cauchy–Schwarz).
 *    Expected trials per accepted sample T = ‖q‖² ‖K‖_F² / Σ_j (q·k_j)² = ‖q‖²‖K‖_F² / ‖Kq‖².
 *  - `column` (Chia et al.): draw t ∝ q_t² ‖K_{:,t}‖², then j ∝ K_jt² within column t, so j has probability
 *    π_j = Σ_t q_t² K_jt² / Σ_t q_t² ‖K_{:,t}‖²; accept with (q·k_j)² / (d′ Σ_t q_t² K_jt²) ≤ 1 (Cauchy–Schwarz
 *    over the d′ coordinates where q_t ≠ 0). T = d′ Σ_t q_t² ‖K_{:,t}‖² / ‖Kq‖². Needs d column trees
 *    (10·d bytes per key), so it is refused above 2^24 key entries.
 * Both T are ratios of sums over keys, so for i.i.d. keys they converge as n grows: flat in n. For isotropic
 * Gaussian keys both are ≈ d; planted needles aligned with q only lower T. T is unbounded when q is nearly
 * orthogonal to every key, hence the trial budget `samples · maxTrialFactor` per query.
 *
 * Two phases: the SQ trees (row norms; with `column`, d column trees) are the data structure SQ access is
 * given, so `prepare` builds them once per KV cache (O(n·d), extra.sqTreeRows / sqColumnTreeEntries in the
 * prepare cost) and `append` grows them by the new keys' leaves; a query then costs O(trials · (log n + d)),
 * with no pass over the n keys. Samples depend only on the weights in the window (sum-tree.ts), so a grown
 * cache selects exactly the keys a cache prepared on the concatenation selects.
 *
 * Cost accounting (precise): every trial's acceptance test needs q·k_j, which is an exact score, so
 * scoreEvaluations counts the distinct (query, key) dot products computed — acceptance tests, enumeration and
 * fallback — each once per query (a key drawn again reuses its score; the final softmax reuses them too).
 * The column proposal also computes Σ_t q_t² K_jt² per distinct key (extra.proposalWeightEvaluations).
 *
 * Sampling ∝ (q·k)² favours large |q·k|, including large NEGATIVE scores; those are candidates too but lose
 * the exact-score top-k, so they drop out (they only waste samples). Special cases, documented:
 *  - k ≥ visible keys: no sampling, every visible key is taken (exact attention) — the exhaustive setting.
 *  - no (q·k)² mass to sample (q = 0, all window keys zero/padded) or no acceptance within the budget: all
 *    scores are equal (or nothing was found), so `samples` uniform draws from the window are the candidates.
 *  - masks: −∞ keys of a broadcast mask leave a per-call copy of the SQ trees (sq-access.ts maskedAccess,
 *    O(n) — O(n·d) with column trees — for that call, extra.sqMaskCopyRows); other mask values enter the exact
 *    score only (the proposal ignores them), so a query whose candidates are all masked outputs 0.
 */
import { createRng } from '../../core/rng.ts';
import type { Rng } from '../../core/rng.ts';
import { dot } from '../math.ts';
import { meanSize, softmaxOverSelected, topKByScore } from '../select.ts';
import { KeyMemo, SQAccess, maskedAccess } from '../sq-access.ts';
import type { AttentionInput, AttentionOutput, Mechanism, OptionValues, QueryInput } from '../types.ts';
import { defineMechanism, fullInput } from '../define.ts';
import type { TypedPrepared } from '../define.ts';
import { emptyCost } from '../types.ts';
import { effectiveScale, maskAt, visibleKeys } from '../validate.ts';

/** Column trees cost 10·d bytes per key: 2^24 entries is ~160 MiB. */
const MAX_COLUMN_ENTRIES = 2 ** 24;

const OPTIONS = {
  k: { type: 'int', default: 32, min: 1, max: 1 << 24, description: 'keys kept per query (k ≥ visible keys: all keys, exact)' },
  samples: { type: 'int', default: 256, min: 1, max: 1 << 24, description: 'accepted samples (candidate draws) per query' },
  proposal: { type: 'enum', default: 'row', values: ['row', 'column'], description: 'rejection proposal: row norms, or column trees (Chia et al.)' },
  maxTrialFactor: { type: 'int', default: 1024, min: 1, max: 1 << 20, description: 'trial budget per query = samples × this' },
} as const;

type Opts = OptionValues<typeof OPTIONS>;

/**
 * The prepared cache: SQ access over the borrowed K, with column trees when proposal = column and n·d is
 * within MAX_COLUMN_ENTRIES (beyond it attend is refused, so the 10·n·d bytes are never allocated).
 */
interface State {
  readonly sq: SQAccess;
}

const wantsColumns = (o: Opts, n: number, d: number): boolean => o.proposal === 'column' && n * d <= MAX_COLUMN_ENTRIES;

function treeCost(rows: number, columns: boolean, d: number): { scoreEvaluations: number; extra: Record<string, number> } {
  return { scoreEvaluations: 0, extra: { sqTreeRows: rows, ...(columns ? { sqColumnTreeEntries: rows * d } : {}) } };
}

/** A proposal plus acceptance test whose accepted draws are distributed ∝ (q·k_j)² over the window. */
export interface RejectionSampler {
  /** False when (q·k)² has no mass the proposal can reach (q = 0 or every window key zero). */
  readonly hasMass: boolean;
  draw(rng: Rng): number;
  accept(j: number, rng: Rng): boolean;
}

function qNorm2(input: AttentionInput, i: number): number {
  let s = 0;
  for (let t = 0; t < input.d; t++) s += input.q[i * input.d + t]! ** 2;
  return s;
}

/** Row proposal for query i over keys [0, vis): j ∝ ‖k_j‖², accept w.p. (q·k_j)²/(‖q‖²‖k_j‖²). */
export function rowSampler(input: AttentionInput, i: number, vis: number, sq: SQAccess, dots: KeyMemo): RejectionSampler {
  const qn2 = qNorm2(input, i), mass = sq.frobenius2(vis);
  dots.begin(i, (j) => dot(input, i, j));
  return {
    hasMass: qn2 > 0 && mass > 0,
    draw: (rng) => sq.sampleRow(rng, vis, mass),
    accept: (j, rng) => rng.next() * qn2 * sq.rowNorm2(j) < dots.get(j) ** 2,
  };
}

/** Column proposal for query i over keys [0, vis) (see the file comment); `sq` needs column trees. */
export function columnSampler(input: AttentionInput, i: number, vis: number, sq: SQAccess, dots: KeyMemo, weights: KeyMemo): RejectionSampler {
  const { d, q } = input, qo = i * d;
  const cum = new Float64Array(d);
  let total = 0, support = 0;
  for (let t = 0; t < d; t++) {
    const qt2 = q[qo + t]! ** 2;
    if (qt2 > 0) support++;
    cum[t] = total += qt2 > 0 ? qt2 * sq.columnNorm2(t, vis) : 0;
  }
  dots.begin(i, (j) => dot(input, i, j));
  weights.begin(i, (j) => {
    let s = 0;
    for (let t = 0; t < d; t++) s += q[qo + t]! ** 2 * input.k[j * d + t]! ** 2;
    return s;
  });
  // Smallest t with cum[t] > u (binary search, O(log d)); it has q_t² ‖K_{:,t}‖² > 0 since cum[t−1] ≤ u.
  const pickColumn = (u: number): number => {
    let lo = 0, hi = d - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  return {
    hasMass: total > 0,
    draw: (rng) => sq.sampleInColumn(pickColumn(rng.next() * total), rng, vis),
    accept: (j, rng) => rng.next() * support * weights.get(j) < dots.get(j) ** 2,
  };
}

/** Runs trials until `samples` acceptances or `budget` trials. Returns the accepted draws (with repeats). */
export function rejectionSample(sampler: RejectionSampler, samples: number, budget: number, rng: Rng): { accepted: number[]; trials: number } {
  const accepted: number[] = [];
  let trials = 0;
  while (accepted.length < samples && trials < budget) {
    trials++;
    const j = sampler.draw(rng);
    if (j >= 0 && sampler.accept(j, rng)) accepted.push(j);
  }
  return { accepted, trials };
}

interface Tally {
  trials: number;
  accepted: number;
  uniformFallback: number;
  budgetExhausted: number;
  enumerated: number;
}

/** The distinct candidate keys of query i (see the file comment for enumeration and the uniform fallback). */
function candidates(input: AttentionInput, i: number, make: (vis: number) => RejectionSampler, o: Opts, rng: Rng, tally: Tally): number[] {
  const vis = visibleKeys(input, i), k = o.k, s = o.samples;
  const sampler = make(vis);
  if (k >= vis) {
    tally.enumerated++;
    return Array.from({ length: vis }, (_, j) => j);
  }
  let drawn: number[] = [];
  if (sampler.hasMass) {
    const r = rejectionSample(sampler, s, s * o.maxTrialFactor, rng);
    tally.trials += r.trials;
    tally.accepted += r.accepted.length;
    if (r.accepted.length < s) tally.budgetExhausted++;
    drawn = r.accepted;
  }
  if (drawn.length === 0) {
    tally.uniformFallback++;
    drawn = Array.from({ length: s }, () => rng.int(vis));
  }
  return [...new Set(drawn)];
}

async function attend(prepared: TypedPrepared<State, typeof OPTIONS>, query: QueryInput): Promise<AttentionOutput> {
  const input = fullInput(prepared.kv, query), options = prepared.options;
  const { m, dv } = input, k = options.k;
  const column = options.proposal === 'column';
  const { sq, copiedRows } = maskedAccess(prepared.state.sq, input);
  const dots = new KeyMemo(), weights = new KeyMemo();
  const base = createRng(input.seed ?? 0), scale = effectiveScale(input);
  const out = new Float32Array(m * dv), selected: Int32Array[] = [];
  const tally: Tally = { trials: 0, accepted: 0, uniformFallback: 0, budgetExhausted: 0, enumerated: 0 };
  for (let i = 0; i < m; i++) {
    const make = (vis: number): RejectionSampler => (column ? columnSampler(input, i, vis, sq, dots, weights) : rowSampler(input, i, vis, sq, dots));
    const cand = candidates(input, i, make, options, base.fork(i), tally);
    const logitOf = (j: number): number => dots.get(j) * scale + maskAt(input, i, j);
    const keep = topKByScore(cand.map(logitOf), k, cand);
    softmaxOverSelected(input, i, keep, logitOf, out);
    selected.push(keep);
  }
  const cost = emptyCost();
  cost.scoreEvaluations = dots.evaluations;
  cost.samples = tally.accepted + tally.uniformFallback * options.samples;
  cost.selectedPerQuery = meanSize(selected);
  cost.extra = {
    rejectionTrials: tally.trials,
    trialsPerSample: tally.accepted > 0 ? tally.trials / tally.accepted : tally.trials > 0 ? Infinity : 0,
    proposalWeightEvaluations: weights.evaluations,
    enumeratedQueries: tally.enumerated,
    uniformFallbackQueries: tally.uniformFallback,
    budgetExhaustedQueries: tally.budgetExhausted,
    sqMaskCopyRows: copiedRows,
  };
  return { out, cost, selected, weights: 'restricted-softmax', path: column ? 'sq-rejection-column' : 'sq-rejection-row' };
}

export const dequantizedTopk: Mechanism = defineMechanism<State, typeof OPTIONS>({
  name: 'dequantized-topk',
  family: 'dequantized',
  summary: 'top-k over candidates drawn ∝ (q·k)² by rejection sampling from SQ access (dequantized Grover top-k)',
  reference: 'Tang 2019 arXiv 1807.04271; Chia, Gilyén, Li, Lin, Tang, Wang 2020 arXiv 1910.06151',
  options: OPTIONS,
  budget: {
    counts: 'candidate keys drawn and scored per query (samples; k = samples keeps every distinct one); rejected trials are counted apart',
    options: (b) => ({ samples: b, k: b }),
    spent: (cost, m) => (cost.samples ?? 0) / m,
    slack: 1,
  },
  tolerance: {
    kind: 'exhaustive',
    relL2: 1e-6,
    note: 'k = n takes every visible key without sampling, so the output is the exact float64 softmax up to float32 output rounding',
    options: (n: number) => ({ k: n }),
  },
  costFields: {
    scoreEvaluations: 'sum', samples: 'sum', selectedPerQuery: 'mean', 'extra.rejectionTrials': 'sum',
    'extra.trialsPerSample': 'mean', 'extra.proposalWeightEvaluations': 'sum',
    'extra.enumeratedQueries': 'sum', 'extra.uniformFallbackQueries': 'sum',
    'extra.budgetExhaustedQueries': 'sum', 'extra.sqMaskCopyRows': 'sum',
  },
  notSupportedReasons(input, options) {
    if (options.proposal !== 'column' || input.n * input.d <= MAX_COLUMN_ENTRIES) return [];
    return [`proposal=column keeps d column trees (10·n·d bytes); n·d = ${input.n * input.d} exceeds ${MAX_COLUMN_ENTRIES}: use proposal=row`];
  },

  prepare(kv, options) {
    const columns = wantsColumns(options, kv.n, kv.d);
    return { state: { sq: SQAccess.fromMatrix(kv.k, kv.n, kv.d, { columnTrees: columns }) }, cost: treeCost(kv.n, columns, kv.d) };
  },

  // Grows the trees in place by the new keys' leaves (a state prepared earlier stays valid for its own n: its
  // windows read no leaf at or beyond it). A cache that outgrows the column-tree limit gets row-only access,
  // built once, as a fresh prepare would give it (attend then refuses proposal=column, as for any such cache).
  append(prepared, grown) {
    const { sq } = prepared.state, from = prepared.kv.n;
    if (sq.hasColumnTrees && !wantsColumns(prepared.options, grown.n, grown.d)) {
      return { state: { sq: SQAccess.fromMatrix(grown.k, grown.n, grown.d) }, cost: treeCost(grown.n, false, grown.d) };
    }
    sq.extend(grown.k, from, grown.n);
    return { state: prepared.state, cost: treeCost(grown.n - from, sq.hasColumnTrees, grown.d) };
  },

  attend,
});
