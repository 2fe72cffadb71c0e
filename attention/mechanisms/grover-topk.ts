/**
 * `grover-topk`: per query, quantum top-k selection of keys by repeated Grover threshold search — Dürr,
 * Heiligman, Høyer, Mhalla, quant-ph/0401091 (k-minimum finding, mirrored to maxima) over BBHT search with an
 * unknown number of marked items (Boyer, Brassard, Høyer, Tapp, quant-ph/9605034), as implemented in
 * oracles/algorithms/topk.ts — then the exact softmax over the k selected keys (renormalised) times V. That is
 * the hybrid loop a QPU would run: it returns indices; the classical host computes k dot products and the sum.
 *
 * Two phases. prepare binds K for onnxruntime's score Gemm (kernels/ort/scores.ts — the same fast score path
 * topk-exact and exact use) — by default a copy of K rounded to the oracleBits fixed point the cost model
 * charges (quantizeKeys), so the search sees the rank flips of a 16-bit key oracle — with its largest norm, and
 * counts, for the cost model, the n·d key values a QPU would have to write into QRAM once per cache (prepare
 * cost `qramWrites`; appending t keys writes t·d more). attend runs, per query, the simulated search, then
 * looks up the keys it ended on and takes the exact float64 softmax over the k selected keys.
 *
 * Oracle: query i's threshold oracle is over its scaled, masked logits l_j = q_i·k̃_j·scale + mask_ij (float32,
 * from the Gemm, k̃ the quantized keys) for the keys of its causal window [0, vis) only (the index register
 * addresses that prefix of the KV cache), ordered by (l_j descending, j ascending): it marks j iff j ranks
 * above the current threshold key. Equal finite logits are thus told apart by the key index — the assumption
 * of Dürr–Høyer and DHHM, who take the values distinct; a comparator over the score and index registers costs
 * a QPU ⌈log₂ vis⌉ more compared bits. A −∞ (masked) key is never marked (all of them tie at the bottom, as on
 * the logits), so it stays in the set only from the initial draw — when fewer than k finite keys exist, or a
 * run fails — and is dropped at the end. k ≥ vis takes every unmasked visible key without any search (0
 * oracle calls): the exhaustive setting.
 *
 * Simulation: the search runs on ranks. DHHM draws its initial set uniformly and every measurement is uniform
 * within the marked or the unmarked states, so relabelling the window's keys by rank changes only the labels:
 * the run over rank scores (oracles/oracle.ts rankScores, evaluated in O(1) per threshold by the analytic
 * backend, marked-set.ts SortedSet) has exactly the distribution of oracle calls, measurements and kept ranks
 * of the run over the logits (test/grover-topk.test.ts checks it against the state vector on the logits). The
 * logits are needed only where the run ends: the keys at ranks [0, worst kept rank], found by onnxruntime's
 * Gemm + TopK as topk-exact finds its candidates (grover-ranks.ts), so a query costs about topk-exact's scan
 * plus O(1) per measurement — no pass over the logits per BBHT round, nor one in JS per query.
 *
 * Cost accounting (per query, summed): oracleQueries / groverIterations / extra.measurements from the search;
 * extra.classicalQueries = the classical score reads DHHM itself makes (its k initial scores and the check of
 * each measured index — on hardware each is one q·k on the host); scoreEvaluations = every classical dot
 * product of the hybrid loop: those reads (the final softmax reuses them: each selected key's score was read
 * when it entered the set), the tail samples below, and every visible key of an exhaustive query. What the SIMULATOR
 * spends to know which keys an oracle marks — the vis logits it computes (extra.simulatorLogitEvaluations) and
 * the scores it reads (extra.simulatorScoreReads: the lookup's scan of the vis logits and the rank structure's
 * reads) — is overhead of simulating on a classical machine, never
 * counted as quantum or classical attention work. `quantum` holds one record per index-register width
 * (attention/quantum.ts, filled in grover-cost.ts): {cost, model: oracleCostModel(key payload d × 16 bits,
 * k excluded), selections: k, queries, noisePerOracleCall}.
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
  DEFAULT_BITS, backendNames, createBackend, depolarizing, getProfile, noiseForProfile, profileNames, quantumTopK, rankScores,
} from '../../oracles/index.ts';
import type { Backend, Noise } from '../../oracles/index.ts';
import { attendSubset } from '../math.ts';
import type { AttentionInput, AttentionOutput, KvInput, Mechanism, QueryInput } from '../types.ts';
import { defineMechanism, fullInput, selectedPerQuery, type PreparedState, type TypedPrepared } from '../define.ts';
import type { OptionValues } from '../types.ts';
import { maskAt, visibleKeys } from '../validate.ts';
import { maxRowNorm, prepareOrtKeys } from '../kernels/ort/scores.ts';
import { rankedKeys, type RankKeys, type RankedRow } from './grover-ranks.ts';
import { addSearchCost, newTotals, recordFor, totalsCost } from './grover-cost.ts';
import type { Ledger, RecordSpec, Totals } from './grover-cost.ts';
import { attendWithTailEstimate } from './tail-estimate.ts';

const OPTIONS = {
  k: { type: 'int', default: 32, min: 1, max: 2 ** 24, description: 'keys kept per query (k ≥ visible keys: all keys, no search)' },
  backend: { type: 'enum', default: 'analytic', values: backendNames, description: 'simulator from oracles/backends (analytic: exact 2-D closed form; others evolve 2^n amplitudes)' },
  algorithm: { type: 'enum', default: 'dhhm', values: ['dhhm'], description: 'quantum top-k: Dürr–Heiligman–Høyer–Mhalla repeated BBHT threshold search (the one in oracles/)' },
  noise: { type: 'number', default: 0, min: 0, max: 1, description: 'depolarizing probability per oracle call (excludes hardware)' },
  hardware: { type: 'enum', default: 'none', values: ['none', ...profileNames], description: 'derive the per-call noise from a QPU profile (excludes noise > 0)' },
  failureProbability: { type: 'number', default: 0.01, min: 1e-9, max: 0.5, description: 'target δ per query that the top-k is wrong (sets the certification rounds)' },
  tailMass: { type: 'enum', default: 'none', values: ['none', 'uniform-estimate'], description: 'none: renormalise over the k; uniform-estimate: add the unselected mass estimated from uniform samples' },
  tailSamples: { type: 'int', default: 32, min: 1, max: 1 << 20, description: 'uniform tail samples per query when tailMass=uniform-estimate' },
  oracleBits: { type: 'int', default: DEFAULT_BITS, min: 0, max: 24, description: 'fixed-point bits of the keys the oracle computes q·k from, as the cost model charges (per key: b-bit mantissas, one power-of-two scale); 0: float32 keys (an idealized oracle, still charged 16 bits)' },
} as const;

type Opts = OptionValues<typeof OPTIONS>;

type State = RankKeys;

interface Search extends RecordSpec {
  readonly backend: Backend;
  readonly delta: number;
  readonly ledger: Ledger;
}

function makeSearch(kv: KvInput, options: Opts): Search {
  const { hardware, noise: p } = options;
  return {
    backend: createBackend(options.backend),
    payload: { kind: 'key', dim: kv.d, bits: options.oracleBits > 0 ? options.oracleBits : DEFAULT_BITS },
    k: options.k,
    delta: options.failureProbability,
    ledger: new Map(),
    noiseFor: (model) => (hardware === 'none' ? p : noiseForProfile(getProfile(hardware), model).p),
  };
}

function countUnmasked(input: AttentionInput, i: number, vis: number): number {
  let c = 0;
  for (let j = 0; j < vis; j++) if (maskAt(input, i, j) !== -Infinity) c++;
  return c;
}

function unmaskedWindow(input: AttentionInput, i: number, vis: number): Int32Array {
  const keys: number[] = [];
  for (let j = 0; j < vis; j++) if (maskAt(input, i, j) !== -Infinity) keys.push(j);
  return Int32Array.from(keys);
}

/**
 * One query's quantum top-k over the ranks of its window of `vis` keys (see the module comment): the ranks it
 * ends on, best first.
 */
function searchRanks(s: Search, vis: number, finite: number, rng: Rng, t: Totals): Int32Array {
  const rec = recordFor(s.ledger, s, vis);
  rec.queries++;
  t.simulatorLogitEvaluations += vis;
  const p = rec.noisePerOracleCall;
  const noise: Noise | undefined = p > 0 ? depolarizing(p) : undefined;
  const r = quantumTopK(rankScores(vis, finite), s.k, { backend: s.backend, rng, noise, payload: s.payload, failureProbability: s.delta });
  addSearchCost(t, rec, r.cost, r.success);
  return r.indices;
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

/** The keys at the ranks a search ended on; ranks past the row's finite-logit prefix are masked keys (dropped). */
function keysAt(ranks: Int32Array, row: RankedRow): Int32Array {
  const out: number[] = [];
  for (let t = 0; t < ranks.length; t++) if (ranks[t]! < row.keys.length) out.push(row.keys[ranks[t]!]!);
  return Int32Array.from(out);
}

async function attend(p: TypedPrepared<State, typeof OPTIONS>, query: QueryInput): Promise<AttentionOutput> {
  const input = fullInput(p.kv, query);
  const { m, dv } = input;
  const options = p.options;
  const search = makeSearch(p.kv, options);
  const tail = options.tailMass === 'uniform-estimate' ? options.tailSamples : 0;
  const base = createRng(p.kv.seed ?? 0);
  const t = newTotals();
  // Every query's search first: it runs on ranks, so it needs no logits.
  const rngs: Rng[] = [], ranks: (Int32Array | null)[] = [], windows: number[] = [];
  const need = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const rng = base.fork(i), vis = visibleKeys(input, i);
    rngs.push(rng);
    windows.push(vis);
    let r: Int32Array | null = null;
    if (search.k < vis) {
      // Masked keys rank last, all tied at −∞ (never marked, as on the logits themselves).
      const finite = input.mask ? countUnmasked(input, i, vis) : vis;
      r = searchRanks(search, vis, finite, rng, t);
      // Ranks are returned best first: one past the last finite one is the prefix of the window's order needed.
      if (r.length > 0) need[i] = Math.min(finite, r[r.length - 1]! + 1);
    }
    ranks.push(r);
  }
  const lookup = await rankedKeys(p.state, input, need);
  t.simulatorScoreReads += lookup.reads;
  const out = new Float32Array(m * dv), selected: Int32Array[] = [];
  for (let i = 0; i < m; i++) {
    const vis = windows[i]!, r = ranks[i]!;
    let sel: Int32Array;
    if (r === null) {
      recordFor(search.ledger, search, vis).queries++;
      t.exhaustiveQueries++;
      sel = unmaskedWindow(input, i, vis);
    } else {
      sel = lookup.rows[i] ? keysAt(r, lookup.rows[i]!) : new Int32Array(0);
    }
    if (tail > 0 && vis - sel.length > 0) {
      attendWithTailEstimate(input, i, sel, tail, rngs[i]!, out);
      t.hostDots += (r ? 0 : sel.length) + tail;
      t.tailSamples += tail;
    } else {
      attendSubset(input, i, sel, out);
      if (!r) t.hostDots += sel.length;
    }
    selected.push(sel);
  }
  const records = [...search.ledger.values()];
  // Without a tail estimate each row is the exact softmax over the kept keys (attendSubset), renormalised.
  return { out, cost: totalsCost(t, records, selected), selected, ...(tail > 0 ? {} : { weights: 'restricted-softmax' as const }), path: `dhhm-${search.backend.name}`, quantum: records };
}

/**
 * K as the oracle holds it (issue 13, finding 10: the cost model charges b-bit fixed-point keys, so the
 * simulated search must see the rank flips and ties they cause): each key rounded to b-bit signed mantissas
 * with one power-of-two scale per key (block floating point: 2^⌈log₂ max|k_j|⌉ / 2^(b−1)), exact in float32
 * for b ≤ 24. Per key, so appending keys quantizes them alone and equals quantizing the concatenation. The
 * final softmax still uses the real keys: the host computes exact scores for the keys the search returns.
 */
export function quantizeKeys(k: Float32Array, n: number, d: number, bits: number): Float32Array {
  const out = new Float32Array(n * d);
  const top = 2 ** (bits - 1), hi = top - 1, lo = -top;
  for (let j = 0; j < n; j++) {
    const o = j * d;
    let max = 0;
    for (let c = 0; c < d; c++) max = Math.max(max, Math.abs(k[o + c]!));
    if (max === 0) continue;
    const step = 2 ** Math.ceil(Math.log2(max)) / top, inv = 1 / step; // powers of two: x·inv is exact
    for (let c = 0; c < d; c++) {
      // Adding and subtracting 1.5·2^52 rounds a double to an integer, half to even (2× Math.round's speed here).
      let q = k[o + c]! * inv + ROUNDER - ROUNDER;
      if (q > hi) q = hi;
      else if (q < lo) q = lo;
      out[o + c] = q * step;
    }
  }
  return out;
}

const ROUNDER = 1.5 * 2 ** 52;

/** K bound for the oracle's scores (the float32 keys, or their oracleBits quantization: a copy) and its largest norm. */
async function oracleKeys(kv: KvInput, bits: number): Promise<State> {
  const oracle = bits > 0 ? { ...kv, k: quantizeKeys(kv.k, kv.n, kv.d, bits) } : kv;
  const [keys, kMax] = await Promise.all([prepareOrtKeys(oracle, 1), maxRowNorm(oracle.k, kv.n, kv.d)]);
  return { keys, kMax };
}

/** QRAM values a QPU writes for `keys` keys of dimension d: every key coordinate, once per cache. */
const qramWrites = (keys: number, d: number): number => keys * d;

async function prepare(kv: KvInput, options: Opts): Promise<PreparedState<State>> {
  return { state: await oracleKeys(kv, options.oracleBits), cost: { scoreEvaluations: 0, extra: { qramWrites: qramWrites(kv.n, kv.d) } } };
}

export type { GroverQuantumRecord } from './grover-cost.ts';

export const groverTopk: Mechanism = defineMechanism<State, typeof OPTIONS>({
  name: 'grover-topk',
  family: 'quantum',
  summary: 'quantum top-k per query (Dürr–Heiligman–Høyer–Mhalla over BBHT threshold search, simulated), softmax over the k',
  reference: 'Dürr, Heiligman, Høyer, Mhalla quant-ph/0401091; Boyer, Brassard, Høyer, Tapp quant-ph/9605034; Grover quant-ph/9605043',
  options: OPTIONS,
  budget: {
    counts: 'keys kept (k); the search spends ~√(kN) oracle calls on them, counted apart',
    options: (b) => ({ k: b }),
    spent: selectedPerQuery,
    slack: 1,
  },
  tolerance: {
    kind: 'exhaustive',
    relL2: 1e-6,
    note: 'k = n takes every visible key without a search, so the output is the exact float64 softmax up to float32 output rounding',
    options: (n: number) => ({ k: Math.min(n, 2 ** 24) }),
  },
  costFields: {
    scoreEvaluations: 'sum', oracleQueries: 'sum', groverIterations: 'sum', samples: 'sum',
    selectedPerQuery: 'mean', 'extra.measurements': 'sum', 'extra.classicalQueries': 'sum',
    'extra.failedQueries': 'sum', 'extra.exhaustiveQueries': 'sum', 'extra.qubits': 'max',
    'extra.simulatorScoreReads': 'sum', 'extra.simulatorLogitEvaluations': 'sum',
    'extra.noisePerOracleCall': 'max', 'extra.tailSamples': 'sum', 'extra.qramWrites': 'sum',
  },
  notSupportedReasons(input, options) {
    const reasons: string[] = [];
    if (options.noise > 0 && options.hardware !== 'none') {
      reasons.push('noise and hardware are mutually exclusive: a hardware profile sets the per-call noise itself (use one)');
    }
    const backend = options.k < input.n ? backendReason(options.backend, input.n) : null;
    return backend ? [...reasons, backend] : reasons;
  },
  prepare,
  attend,
  // The grown cache is bound again (quantized again when oracleBits > 0: per key, so equal to preparing the
  // concatenation) and only the new keys are written into QRAM: t·d values.
  async append(prev, grown, kNew) {
    return { state: await oracleKeys(grown, prev.options.oracleBits), cost: { scoreEvaluations: 0, extra: { qramWrites: qramWrites(kNew.length / grown.d, grown.d) } } };
  },
});
