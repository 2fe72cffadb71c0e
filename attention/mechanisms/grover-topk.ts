/**
 * `grover-topk`: per query, quantum top-k selection of keys by repeated Grover threshold search — Dürr,
 * Heiligman, Høyer, Mhalla, quant-ph/0401091 (k-minimum finding, mirrored to maxima) over BBHT search with an
 * unknown number of marked items (Boyer, Brassard, Høyer, Tapp, quant-ph/9605034), as implemented in
 * oracles/algorithms/topk.ts — then the exact softmax over the k selected keys (renormalised) times V. That is
 * the hybrid loop a QPU would run: it returns indices; the classical host computes k dot products and the sum.
 *
 * Oracle: query i's threshold oracle is over its scaled, masked logits l_j = q_i·k_j·scale + mask_ij for the
 * keys of its causal window [0, vis) only (the index register addresses that prefix of the KV cache). It marks
 * j iff l_j > τ strictly and top-k's τ is the minimum of a set of scores (≥ −∞), so a −∞ (masked) key is never
 * marked; −∞ keys still in the set at the end (fewer than k finite keys, or a failed search) are dropped.
 * k ≥ vis takes every unmasked visible key without any search (0 oracle calls): the exhaustive setting.
 *
 * Cost accounting (per query, summed): oracleQueries / groverIterations / extra.measurements from the search;
 * extra.classicalQueries = the classical score reads DHHM itself makes (its k initial scores and the check of
 * each measured index — on hardware each is one q·k, kept apart as the issue defines); scoreEvaluations = only
 * the dot products of the final softmax (k per searched query, plus the tail samples below). What the SIMULATOR
 * spends to know which keys an oracle marks — the vis logits it computes (extra.simulatorLogitEvaluations) and
 * the scores it scans (extra.simulatorScoreReads) — is overhead of simulating on a classical machine, never
 * counted as quantum or classical attention work. `quantum` holds one record per index-register width for
 * bench/qpu.ts (grover-cost.ts): {cost, model: oracleCostModel(key payload d × 16 bits, k excluded), selections: k}.
 *
 * Noise: `noise` = p, depolarizing per oracle call (oracles/noise.ts); or `hardware` = a profile whose p per
 * call comes from its two-qubit error rate and the oracle's gate count (qpu-time.ts noiseForProfile). With an
 * active-QRAM key oracle that gate count is O(N'·d·bits), so p ≈ 1 on every profile today: the search decays
 * to uniform sampling and extra.failedQueries says how often the result was not the true top-k.
 *
 * tailMass = 'uniform-estimate' (default 'none') adds an estimate of the mass the selection S drops. With
 * U = vis − |S| unselected window keys, draw s = `tailSamples` of them uniformly with replacement and weight
 * each e^{l_t}·U/s — unbiased for the tail's Σ_{j∉S} e^{l_j} and Σ_{j∉S} e^{l_j}·v_j (masked keys add 0) — so
 * O_i = (Σ_S e^{l_j} v_j + (U/s) Σ_t e^{l_t} v_t) / (Σ_S e^{l_j} + (U/s) Σ_t e^{l_t}): the top-k output mixed
 * with the samples' softmax-weighted V-mean in proportion to the estimated tail mass (a ratio estimator:
 * consistent, O(1/s) bias). The s dot products count in scoreEvaluations and samples.
 */
import { QattnError } from '../../core/errors.ts';
import { createRng } from '../../core/rng.ts';
import type { Rng } from '../../core/rng.ts';
import {
  DEFAULT_BITS, backendNames, createBackend, depolarizing, getProfile, noiseForProfile, profileNames, quantumTopK,
} from '../../oracles/index.ts';
import type { Backend, Noise } from '../../oracles/index.ts';
import { attendSubset, logitsRow } from '../math.ts';
import { optNumber, optString } from '../options.ts';
import type { AttentionInput, AttentionOutput, Mechanism, Options } from '../types.ts';
import { singlePhase } from '../define.ts';
import { maskAt, visibleKeys } from '../validate.ts';
import { addSearchCost, newTotals, recordFor, totalsCost } from './grover-cost.ts';
import type { Ledger, RecordSpec, Totals } from './grover-cost.ts';
import { attendWithTailEstimate } from './tail-estimate.ts';

interface Search extends RecordSpec {
  readonly backend: Backend;
  readonly delta: number;
  readonly ledger: Ledger;
}

function makeSearch(input: AttentionInput, options: Options): Search {
  const hardware = optString(options, 'hardware'), p = optNumber(options, 'noise');
  return {
    backend: createBackend(optString(options, 'backend')),
    payload: { kind: 'key', dim: input.d, bits: DEFAULT_BITS },
    k: optNumber(options, 'k'),
    delta: optNumber(options, 'failureProbability'),
    ledger: new Map(),
    noiseFor: (model) => (hardware === 'none' ? p : noiseForProfile(getProfile(hardware), model).p),
  };
}

function unmaskedWindow(input: AttentionInput, i: number, vis: number): Int32Array {
  const keys: number[] = [];
  for (let j = 0; j < vis; j++) if (maskAt(input, i, j) !== -Infinity) keys.push(j);
  return Int32Array.from(keys);
}

/** Query i's selection: the whole unmasked window if k ≥ vis, else quantum top-k over its logits. */
function selectKeys(input: AttentionInput, i: number, s: Search, row: Float64Array<ArrayBuffer>, rng: Rng, t: Totals): Int32Array {
  const vis = visibleKeys(input, i);
  const rec = recordFor(s.ledger, s, vis);
  rec.queries++;
  if (s.k >= vis) {
    t.exhaustiveQueries++;
    return unmaskedWindow(input, i, vis);
  }
  // A fresh array per query: the backend caches oracle evaluations per scores array.
  const scores = logitsRow(input, i, row).slice(0, vis);
  t.simulatorLogitEvaluations += vis;
  const p = rec.noisePerOracleCall;
  const noise: Noise | undefined = p > 0 ? depolarizing(p) : undefined;
  const r = quantumTopK(scores, s.k, { backend: s.backend, rng, noise, payload: s.payload, failureProbability: s.delta });
  addSearchCost(t, rec, r.cost, r.success);
  return r.indices.filter((j) => scores[j]! > -Infinity);
}

/** Why the named backend cannot search n keys (unavailable, or wider than its qubit limit), or null. */
function backendReason(name: string, n: number): string | null {
  let backend: Backend;
  try {
    backend = createBackend(name);
  } catch (e) {
    if (e instanceof QattnError) return `the ${name} backend is unavailable: ${e.message}`;
    throw e;
  }
  if (n <= 2 ** backend.maxQubits) return null;
  return `the ${name} backend searches at most 2^${backend.maxQubits} keys, got n = ${n} (use backend=analytic)`;
}

async function attend(input: AttentionInput, options: Options): Promise<AttentionOutput> {
  const { m, n, dv } = input;
  const search = makeSearch(input, options);
  const tail = optString(options, 'tailMass') === 'uniform-estimate' ? optNumber(options, 'tailSamples') : 0;
  const base = createRng(input.seed ?? 0);
  const row = new Float64Array(n), out = new Float32Array(m * dv), selected: Int32Array[] = [];
  const t = newTotals();
  for (let i = 0; i < m; i++) {
    const rng = base.fork(i);
    const sel = selectKeys(input, i, search, row, rng, t);
    const unselected = visibleKeys(input, i) - sel.length;
    if (tail > 0 && unselected > 0) {
      attendWithTailEstimate(input, i, sel, tail, rng, out);
      t.finalDots += sel.length + tail;
      t.tailSamples += tail;
    } else {
      attendSubset(input, i, sel, out);
      t.finalDots += sel.length;
    }
    selected.push(sel);
  }
  const records = [...search.ledger.values()];
  return { out, cost: totalsCost(t, records, selected), selected, path: `dhhm-${search.backend.name}`, quantum: records };
}

export type { GroverQuantumRecord } from './grover-cost.ts';

export const groverTopk: Mechanism = singlePhase({
  name: 'grover-topk',
  family: 'quantum',
  summary: 'quantum top-k per query (Dürr–Heiligman–Høyer–Mhalla over BBHT threshold search, simulated), softmax over the k',
  reference: 'Dürr, Heiligman, Høyer, Mhalla quant-ph/0401091; Boyer, Brassard, Høyer, Tapp quant-ph/9605034; Grover quant-ph/9605043',
  options: {
    k: { type: 'int', default: 32, min: 1, max: 2 ** 24, description: 'keys kept per query (k ≥ visible keys: all keys, no search)' },
    backend: { type: 'enum', default: 'analytic', values: backendNames, description: 'simulator from oracles/backends (analytic: exact 2-D closed form; others evolve 2^n amplitudes)' },
    algorithm: { type: 'enum', default: 'dhhm', values: ['dhhm'], description: 'quantum top-k: Dürr–Heiligman–Høyer–Mhalla repeated BBHT threshold search (the one in oracles/)' },
    noise: { type: 'number', default: 0, min: 0, max: 1, description: 'depolarizing probability per oracle call (excludes hardware)' },
    hardware: { type: 'enum', default: 'none', values: ['none', ...profileNames], description: 'derive the per-call noise from a QPU profile (excludes noise > 0)' },
    failureProbability: { type: 'number', default: 0.01, min: 1e-9, max: 0.5, description: 'target δ per query that the top-k is wrong (sets the certification rounds)' },
    tailMass: { type: 'enum', default: 'none', values: ['none', 'uniform-estimate'], description: 'none: renormalise over the k; uniform-estimate: add the unselected mass estimated from uniform samples' },
    tailSamples: { type: 'int', default: 32, min: 1, max: 1 << 20, description: 'uniform tail samples per query when tailMass=uniform-estimate' },
  },
  tolerance: {
    exhaustiveRelL2: 1e-6,
    note: 'k = n takes every visible key without a search, so the output is the exact float64 softmax up to float32 output rounding',
  },
  costFields: {
    scoreEvaluations: 'sum', oracleQueries: 'sum', groverIterations: 'sum', samples: 'sum',
    selectedPerQuery: 'mean', 'extra.measurements': 'sum', 'extra.classicalQueries': 'sum',
    'extra.failedQueries': 'sum', 'extra.exhaustiveQueries': 'sum', 'extra.qubits': 'max',
    'extra.simulatorScoreReads': 'sum', 'extra.simulatorLogitEvaluations': 'sum',
    'extra.noisePerOracleCall': 'max', 'extra.tailSamples': 'sum',
  },
  exhaustiveOptions: (n) => ({ k: Math.min(n, 2 ** 24) }),
  notSupportedReasons(input, options) {
    const reasons: string[] = [];
    if (optNumber(options, 'noise') > 0 && optString(options, 'hardware') !== 'none') {
      reasons.push('noise and hardware are mutually exclusive: a hardware profile sets the per-call noise itself (use one)');
    }
    const backend = optNumber(options, 'k') < input.n ? backendReason(optString(options, 'backend'), input.n) : null;
    return backend ? [...reasons, backend] : reasons;
  },
  attend,
});
