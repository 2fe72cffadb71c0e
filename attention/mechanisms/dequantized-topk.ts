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
 *    (16·d bytes per key), so it is refused above 2^24 key entries.
 * Both T are ratios of sums over keys, so for i.i.d. keys they converge as n grows: flat in n. For isotropic
 * Gaussian keys both are ≈ d; planted needles aligned with q only lower T. T is unbounded when q is nearly
 * orthogonal to every key, hence the trial budget `samples · maxTrialFactor` per query.
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
 *  - masks: −∞ keys of a broadcast mask leave the SQ structure; other mask values enter the exact score only
 *    (the proposal ignores them), so a query whose candidates are all masked outputs 0.
 */
import { createRng } from '../../core/rng.ts';
import type { Rng } from '../../core/rng.ts';
import { dot } from '../math.ts';
import { optNumber, optString } from '../options.ts';
import { meanSize, softmaxOverSelected, topKByScore } from '../select.ts';
import { KeyMemo, keyAccess } from '../sq-access.ts';
import type { SQAccess } from '../sq-access.ts';
import type { AttentionInput, AttentionOutput, Mechanism, Options } from '../types.ts';
import { singlePhase } from '../define.ts';
import { emptyCost } from '../types.ts';
import { effectiveScale, maskAt, visibleKeys } from '../validate.ts';

/** Column trees cost 16·d bytes per key: 2^24 entries is ~256 MiB. */
const MAX_COLUMN_ENTRIES = 2 ** 24;

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
  const qn2 = qNorm2(input, i);
  dots.begin(i, (j) => dot(input, i, j));
  return {
    hasMass: qn2 > 0 && sq.frobenius2(vis) > 0,
    draw: (rng) => sq.sampleRow(rng, vis),
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
function candidates(input: AttentionInput, i: number, make: (vis: number) => RejectionSampler, o: Options, rng: Rng, tally: Tally): number[] {
  const vis = visibleKeys(input, i), k = optNumber(o, 'k'), s = optNumber(o, 'samples');
  const sampler = make(vis);
  if (k >= vis) {
    tally.enumerated++;
    return Array.from({ length: vis }, (_, j) => j);
  }
  let drawn: number[] = [];
  if (sampler.hasMass) {
    const r = rejectionSample(sampler, s, s * optNumber(o, 'maxTrialFactor'), rng);
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

async function attend(input: AttentionInput, options: Options): Promise<AttentionOutput> {
  const { m, n, dv } = input, k = optNumber(options, 'k');
  const column = optString(options, 'proposal') === 'column';
  const sq = keyAccess(input, { columnTrees: column });
  const dots = new KeyMemo(n), weights = new KeyMemo(n);
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
  cost.samples = tally.accepted + tally.uniformFallback * optNumber(options, 'samples');
  cost.selectedPerQuery = meanSize(selected);
  cost.extra = {
    rejectionTrials: tally.trials,
    trialsPerSample: tally.accepted > 0 ? tally.trials / tally.accepted : tally.trials > 0 ? Infinity : 0,
    sqBuildRows: n,
    proposalWeightEvaluations: weights.evaluations,
    enumeratedQueries: tally.enumerated,
    uniformFallbackQueries: tally.uniformFallback,
    budgetExhaustedQueries: tally.budgetExhausted,
  };
  return { out, cost, selected, path: column ? 'sq-rejection-column' : 'sq-rejection-row' };
}

export const dequantizedTopk: Mechanism = singlePhase({
  name: 'dequantized-topk',
  family: 'dequantized',
  summary: 'top-k over candidates drawn ∝ (q·k)² by rejection sampling from SQ access (dequantized Grover top-k)',
  reference: 'Tang 2019 arXiv 1807.04271; Chia, Gilyén, Li, Lin, Tang, Wang 2020 arXiv 1910.06151',
  options: {
    k: { type: 'int', default: 32, min: 1, max: 1 << 24, description: 'keys kept per query (k ≥ visible keys: all keys, exact)' },
    samples: { type: 'int', default: 256, min: 1, max: 1 << 24, description: 'accepted samples (candidate draws) per query' },
    proposal: { type: 'enum', default: 'row', values: ['row', 'column'], description: 'rejection proposal: row norms, or column trees (Chia et al.)' },
    maxTrialFactor: { type: 'int', default: 1024, min: 1, max: 1 << 20, description: 'trial budget per query = samples × this' },
  },
  tolerance: {
    exhaustiveRelL2: 1e-6,
    note: 'k = n takes every visible key without sampling, so the output is the exact float64 softmax up to float32 output rounding',
  },
  costFields: {
    scoreEvaluations: 'sum', samples: 'sum', selectedPerQuery: 'mean', 'extra.rejectionTrials': 'sum',
    'extra.trialsPerSample': 'mean', 'extra.sqBuildRows': 'sum', 'extra.proposalWeightEvaluations': 'sum',
    'extra.enumeratedQueries': 'sum', 'extra.uniformFallbackQueries': 'sum',
    'extra.budgetExhaustedQueries': 'sum',
  },
  exhaustiveOptions: (n) => ({ k: n }),
  notSupportedReasons(input, options) {
    if (optString(options, 'proposal') !== 'column' || input.n * input.d <= MAX_COLUMN_ENTRIES) return [];
    return [`proposal=column keeps d column trees (16·n·d bytes); n·d = ${input.n * input.d} exceeds ${MAX_COLUMN_ENTRIES}: use proposal=row`];
  },
  attend,
});
