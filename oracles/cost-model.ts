/**
 * Circuit cost of one oracle call and one diffusion step: qubits, two-qubit gate counts and depth.
 *
 * The simulators in `backends/` never run this circuit (they apply the oracle's *action*, a phase flip on
 * the marked indices); this model says what a QPU would have to execute so that `qpu-time.ts` can turn a
 * run's oracle-call count into hardware seconds. It is an order-of-magnitude model built from textbook
 * constructions, not a compiled circuit:
 * - Toffoli = 6 CNOTs, controlled-SWAP (Fredkin) = Toffoli + 2 CNOTs = 8 (Nielsen & Chuang 2010, Fig. 4.9).
 * - Ripple-carry adder on w bits: 2w Toffoli + 5w CNOT, one ancilla (Cuccaro, Draper, Kutin, Moulton,
 *   quant-ph/0410184) → 17w two-qubit gates, sequential. A comparator against a classical constant is its
 *   carry (MAJ) chain plus the inverse: 2w Toffoli + 4w CNOT = 16w.
 * - Multi-controlled Z on c controls with c − 2 clean ancillas: 2c − 3 Toffolis (Barenco et al., PRA 52,
 *   3457, 1995, ancilla ladder).
 * - Data access by bucket-brigade QRAM (Giovannetti, Lloyd, Maccone, PRL 100, 160501, 2008): a binary tree
 *   of 2^n − 1 routers (a qutrit each, 2 qubits in a qubit device), O(n) pipelined depth per query, O(N)
 *   hardware. In a gate-based ("active") implementation every router of a level is driven each step, so a
 *   query costs O(N) gate operations even though its depth is O(log N); Jaques & Rattew (arXiv 2305.10310)
 *   point out that the same O(N) active hardware could run a parallel classical algorithm instead. Both the
 *   depth (time) and the active gate count (hardware work) are reported so that objection is visible.
 * - Data access is a named choice (`QramModel`, per hardware profile and overridable; issue 13, item 2):
 *   'bucket-brigade' (above; the one-off write of the N·b data bits into its leaves is reported apart as
 *   qramWriteBits); 'qroam' (Berry, Gidney, Motta, McClean, Babbush, Quantum 3, 208 (2019), arXiv 1902.02134:
 *   a QROM with K ≈ √(N/b) parallel copies, about N/K + (K−1)·b Toffolis to load and N/K + K to unload; the
 *   data sits in the circuit, so nothing is written once and the cost is paid per call); 'free' (an idealized
 *   oracle with ⌈log₂N⌉ layers and no hardware cost: the most favourable assumption, labelled so).
 * Depth is counted in two-qubit-gate layers. One-qubit gates ride along at a fixed ratio: every part here is
 * built from Toffolis, whose decomposition (Nielsen & Chuang 2010, Fig. 4.9) has 7 one-qubit layers (H, T, T†,
 * S) per 6 CNOT layers, so each two-qubit layer brings ONE_QUBIT_LAYERS_PER_LAYER = 7/6 one-qubit layers, timed
 * with the profile's own one-qubit gate time (qpu-time.ts). They are not "~10× faster" everywhere: Sycamore's
 * take 25 ns against 12 ns two-qubit (issue 13, finding 5). Of those, T_LAYERS_PER_LAYER = 3/6 are T layers
 * (the Toffoli's T-depth is 3), which a surface-code profile pays with magic states, one logical cycle each.
 */

/** One-qubit layers per two-qubit layer (the Toffoli decomposition's 7 per 6; module comment). */
export const ONE_QUBIT_LAYERS_PER_LAYER = 7 / 6;
/** T layers per two-qubit layer (the Toffoli's T-depth 3 per 6 CNOT layers). */
export const T_LAYERS_PER_LAYER = 3 / 6;
import { check } from '../core/errors.ts';

/** What the data access fetches for one index. */
export type Payload =
  /** An explicit marked set: a 1-bit flag per index (tests, `qattn grover --marked`). */
  | { readonly kind: 'flag' }
  /** A precomputed b-bit fixed-point score per index, compared with the threshold. */
  | { readonly kind: 'score'; readonly bits: number }
  /** A d-dimensional b-bit key; the oracle computes q·k coherently (q is classical) and compares. */
  | { readonly kind: 'key'; readonly dim: number; readonly bits: number };

/** How the oracle reads its data (module comment). */
export type QramModel = 'bucket-brigade' | 'qroam' | 'free';
export const qramModels: readonly QramModel[] = ['bucket-brigade', 'qroam', 'free'];

export interface GateCount {
  readonly twoQubitGates: number;
  /** Sequential two-qubit-gate layers. */
  readonly depth: number;
}

export interface OracleCostModel {
  readonly payload: Payload;
  /** Index register: ⌈log₂N⌉ qubits; the search runs over the padded space of 2^indexQubits states. */
  readonly indexQubits: number;
  readonly searchSize: number;
  /** Register the QRAM writes the payload into. */
  readonly dataQubits: number;
  /** Arithmetic accumulators, comparator carry and result, exclusion flags, multi-controlled-Z ladder. */
  readonly ancillaQubits: number;
  /** index + data + ancilla: the logical width of the search circuit (QRAM routers not included). */
  readonly qubits: number;
  /** The data access model. */
  readonly qramModel: QramModel;
  /** Indices the oracle refuses besides its threshold (top-k's current set). */
  readonly excludeCount: number;
  /** Whether equal values are told apart by the index: the comparator also compares the n index bits. */
  readonly indexTieBreak: boolean;
  /**
   * Qubits of the data access hardware: bucket-brigade routers (2 per router, 2^n − 1 routers: O(N)), QROAM's
   * K·b copies, none for 'free'. (Named for the bucket brigade, the default.)
   */
  readonly qramRouterQubits: number;
  /** One-off: data bits written into the QRAM once per cache (bucket-brigade leaves: N·b; 0 for qroam, free). */
  readonly qramWriteBits: number;
  /** Per oracle call (compute + uncompute): data access, inner product, comparator + exclusion tests. */
  readonly qram: GateCount;
  readonly arithmetic: GateCount;
  readonly comparator: GateCount;
  /** Per Grover iteration: H⊗n X⊗n C^{n−1}Z X⊗n H⊗n. */
  readonly diffusion: GateCount;
}

export interface CostModelSpec {
  /** Index qubits n (the searched space has 2^n states). */
  readonly indexQubits: number;
  readonly payload: Payload;
  /** Indices the oracle must refuse even when their payload passes (top-k excludes the current set). */
  readonly excludeCount?: number;
  /** Data access model (default 'bucket-brigade'). */
  readonly qram?: QramModel;
  /**
   * Break ties by index (default false): the threshold is a (value, index) pair and the comparator compares
   * the value and then the n index bits — n more compared bits. grover-topk's oracle orders keys so (DHHM
   * take the values distinct).
   */
  readonly indexTieBreak?: boolean;
}

/** Default fixed-point width for scores and keys: 16 bits resolves softmax logits to ~1e-4. */
export const DEFAULT_BITS = 16;

const TOFFOLI = 6;
const CSWAP = 8;

function count(twoQubitGates: number, depth: number): GateCount {
  return { twoQubitGates, depth };
}

/** Toffolis in a multi-controlled X/Z with c controls (0 for c ≤ 1, handled as plain gates by callers). */
function mcToffolis(c: number): number {
  return c >= 2 ? 2 * c - 3 : 0;
}

function payloadBits(p: Payload): number {
  switch (p.kind) {
    case 'flag': return 1;
    case 'score': return p.bits;
    case 'key': return p.dim * p.bits;
  }
}

/** Width of the value compared with the threshold (0: the flag itself is the predicate). */
function comparedWidth(p: Payload): number {
  switch (p.kind) {
    case 'flag': return 0;
    case 'score': return p.bits;
    case 'key': return 2 * p.bits + Math.ceil(Math.log2(p.dim));
  }
}

/**
 * Bucket-brigade query, load + unload: route n address qubits (≈2n pipelined CSWAP layers), send the bus
 * down and back per payload bit (2n layers + one per extra bit, pipelined), unroute (2n). Active gate count:
 * every level's routers are driven: ≈ N per address pass, ≈ 3N per payload bit (down, copy, up).
 */
function qramCost(n: number, bits: number): GateCount {
  const N = 2 ** n;
  const layers = 6 * n + bits;
  const ops = 2 * N + 3 * N * bits;
  return count(2 * CSWAP * ops, 2 * CSWAP * layers);
}

/** QROAM's K: the power of two nearest √(N/b), within [1, N] (Berry et al. 2019, the load-optimal choice). */
export function qroamK(n: number, bits: number): number {
  const N = 2 ** n;
  return Math.min(N, Math.max(1, 2 ** Math.round(Math.log2(Math.sqrt(N / bits)))));
}

/**
 * QROAM load + unload (Berry et al. 2019): ⌈N/K⌉ + (K − 1)·b Toffolis to load, ⌈N/K⌉ + K to unload. The
 * ⌈N/K⌉ unary-iteration steps run in sequence and the swap network is log₂K CSWAP layers deep.
 */
function qroamCost(n: number, bits: number): GateCount {
  const N = 2 ** n, K = qroamK(n, bits), blocks = Math.ceil(N / K);
  const toffolis = blocks + (K - 1) * bits + blocks + K;
  const layers = TOFFOLI * 2 * blocks + CSWAP * 2 * Math.ceil(Math.log2(K));
  return count(TOFFOLI * toffolis, layers);
}

function accessCost(model: QramModel, n: number, bits: number): GateCount {
  switch (model) {
    case 'bucket-brigade': return qramCost(n, bits);
    case 'qroam': return qroamCost(n, bits);
    case 'free': return count(0, n);
  }
}

function accessQubits(model: QramModel, n: number, bits: number): number {
  switch (model) {
    case 'bucket-brigade': return 2 * (2 ** n - 1);
    case 'qroam': return qroamK(n, bits) * bits;
    case 'free': return 0;
  }
}

/**
 * q·k with classical q and quantum k (d entries of b bits): d products in parallel (b controlled constant
 * additions of width 2b each, ≈ 34b gates per addition), then a ⌈log₂d⌉-deep adder tree; ×2 to uncompute.
 */
function innerProductCost(dim: number, bits: number): GateCount {
  const perProduct = bits * 34 * bits;
  const w = 2 * bits + Math.ceil(Math.log2(dim));
  const gates = dim * perProduct + (dim - 1) * 17 * w;
  const depth = perProduct + Math.ceil(Math.log2(dim)) * 17 * w;
  return count(2 * gates, 2 * depth);
}

/**
 * Threshold comparator (16w, compute + uncompute) plus the exclusion tests: is the index one of the e excluded
 * ones? The e tests run in parallel (issue 13, finding 9: run one after another they were about a quarter of
 * all layers at n = 2^20): the n-bit index is fanned out into e copies (e·n CNOTs in ⌈log₂(e+1)⌉ doubling
 * layers), each copy is compared with its classical constant at once (an n-control equality test, 2n − 3
 * Toffolis in a ladder), and the e flags are OR-ed by a tree of e − 1 Toffolis, ⌈log₂e⌉ deep; everything is
 * uncomputed (×2). The copies cost e·n ancilla qubits (exclusionAncillas).
 */
function comparatorCost(width: number, n: number, excludeCount: number): GateCount {
  const compare = 16 * width;
  const combine = excludeCount > 0 ? 2 * TOFFOLI : 0;
  if (excludeCount === 0) return count(compare, compare);
  const e = excludeCount;
  const test = TOFFOLI * Math.max(1, mcToffolis(n));
  const fanLayers = Math.ceil(Math.log2(e + 1));
  const orLayers = Math.max(1, Math.ceil(Math.log2(e)));
  const gates = compare + combine + 2 * (e * n + e * test + TOFFOLI * Math.max(0, e - 1));
  const depth = compare + combine + 2 * (fanLayers + test + TOFFOLI * orLayers);
  return count(gates, depth);
}

/** Ancillas of the parallel exclusion tests: e index copies of n qubits, e flags and the combined flag. */
function exclusionAncillas(n: number, excludeCount: number): number {
  return excludeCount > 0 ? excludeCount * n + excludeCount + 1 : 0;
}

/** H X C^{n−1}Z X H: only the multi-controlled Z has two-qubit gates. */
function diffusionCost(n: number): GateCount {
  if (n <= 1) return count(0, 0);
  const gates = n === 2 ? 1 : TOFFOLI * mcToffolis(n - 1);
  return count(gates, gates);
}

function checkPayload(p: Payload): void {
  if (p.kind === 'flag') return;
  check(Number.isInteger(p.bits) && p.bits >= 1 && p.bits <= 64, `fixed-point bits must be an integer in [1, 64], got ${p.bits}`);
  if (p.kind === 'key') check(Number.isInteger(p.dim) && p.dim >= 1, `key dimension must be an integer ≥ 1, got ${p.dim}`);
}

/** The cost model of an oracle over 2^indexQubits indices with the given payload. */
export function oracleCostModel(spec: CostModelSpec): OracleCostModel {
  const { indexQubits: n, payload } = spec;
  const excludeCount = spec.excludeCount ?? 0;
  const qramModel = spec.qram ?? 'bucket-brigade';
  checkPayload(payload);
  const bits = payloadBits(payload);
  const indexTieBreak = spec.indexTieBreak ?? false;
  const width = comparedWidth(payload) + (indexTieBreak && payload.kind !== 'flag' ? n : 0);
  const arithmeticAncillas = payload.kind === 'key' ? payload.dim * 2 * payload.bits + Math.ceil(Math.log2(payload.dim)) + 1 : 0;
  const comparatorAncillas = width > 0 ? 2 : 0;
  const exclusion = exclusionAncillas(n, excludeCount);
  // The diffusion's C^{n−1}Z needs n − 3 ladder ancillas, an n-control equality test n − 2; they are reused.
  const ladderAncillas = Math.max(0, excludeCount > 0 ? n - 2 : n - 3);
  const ancillaQubits = arithmeticAncillas + comparatorAncillas + exclusion + ladderAncillas;
  return {
    payload,
    indexQubits: n,
    searchSize: 2 ** n,
    dataQubits: bits,
    ancillaQubits,
    qubits: n + bits + ancillaQubits,
    qramModel,
    excludeCount,
    indexTieBreak,
    qramRouterQubits: accessQubits(qramModel, n, bits),
    qramWriteBits: qramModel === 'bucket-brigade' ? 2 ** n * bits : 0,
    qram: accessCost(qramModel, n, bits),
    arithmetic: payload.kind === 'key' ? innerProductCost(payload.dim, payload.bits) : count(0, 0),
    comparator: comparatorCost(width, n, excludeCount),
    diffusion: diffusionCost(n),
  };
}

/** The same oracle with another data access model. */
export function withQram(m: OracleCostModel, qram: QramModel): OracleCostModel {
  return m.qramModel === qram ? m : oracleCostModel({ indexQubits: m.indexQubits, payload: m.payload, excludeCount: m.excludeCount, indexTieBreak: m.indexTieBreak, qram });
}

/** Two-qubit gates and depth of one Grover iteration (oracle call + diffusion). */
export function iterationCost(m: OracleCostModel): GateCount {
  const parts = [m.qram, m.arithmetic, m.comparator, m.diffusion];
  return count(
    parts.reduce((s, p) => s + p.twoQubitGates, 0),
    parts.reduce((s, p) => s + p.depth, 0),
  );
}
