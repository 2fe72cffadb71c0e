/**
 * Modeled QPU seconds for a search's cost record: what a simulator's wall time cannot tell you.
 *
 * time = oracle calls × (QRAM depth + arithmetic depth + comparator depth) × layer time
 *      + Grover iterations × diffusion depth × layer time + measurements × readout time,
 * layer time = two-qubit gate time + 7/6 one-qubit gate times (cost-model.ts), or on a surface-code profile
 * 1.5 logical cycles (its T layers).
 * Data loading (bucket-brigade QRAM, Giovannetti–Lloyd–Maccone PRL 100, 160501, 2008) is its own term, and
 * next to it stand the O(N) router qubits and active gate operations it needs per call, plus the time a
 * classical machine built from that many simple processing elements would need for the same task — Jaques &
 * Rattew (arXiv 2305.10310): active QRAM of this size could run a parallel classical algorithm instead,
 * which erases most of the asymptotic advantage. Depth-based timing assumes gates within a layer run in
 * parallel and ignores routing/SWAP overhead, so these are optimistic lower bounds for real devices.
 */
import type { SearchCost } from './algorithms/cost.ts';
import { iterationCost, ONE_QUBIT_LAYERS_PER_LAYER, T_LAYERS_PER_LAYER, withQram, type OracleCostModel, type QramModel } from './cost-model.ts';
import { hardwareProfiles, type HardwareProfile, type SurfaceCodeSpec } from './hardware-profiles.ts';
import { depolarizing, type DepolarizingNoise } from './noise.ts';

export interface QpuBreakdown {
  readonly profile: string;
  /** The data access model the profile uses (hardware-profiles.ts). */
  readonly qram: QramModel;
  /** One-off, apart from the per-call terms: data bits written into the QRAM once per cache. */
  readonly qramWriteBits: number;
  /**
   * One-off seconds to write them (issue 13, finding 8): qramWriteBits / QRAM_WRITE_BITS_PER_SECOND — never
   * part of `total`, which is per search, and paid again only for keys appended to the cache.
   */
  readonly qramWriteSeconds: number;
  /** Seconds: the sum of the four terms below. */
  readonly total: number;
  /** Inner product, comparator and exclusion tests (compute + uncompute) over all oracle calls. */
  readonly oracleArithmetic: number;
  /** Data access (the profile's QRAM model) load + unload over all oracle calls. */
  readonly qramLoading: number;
  readonly diffusion: number;
  readonly measurement: number;
  /** Circuit qubits + QRAM router qubits, and whether the profile has that many. */
  readonly qubitsNeeded: number;
  readonly fitsOnDevice: boolean;
  /** Surface-code profiles: the distance this computation needs, and the physical qubits (2d² per logical). */
  readonly codeDistance: number | null;
  readonly physicalQubits: number | null;
  /** Active QRAM gate operations per oracle call: O(N) even though the depth is O(log N). */
  readonly qramGateOpsPerCall: number;
  /** Depolarizing probability per oracle call on this hardware (noise.ts model). */
  readonly noisePerOracleCall: number;
  /** The same task on N' classical processing elements (one per QRAM leaf), see `parallelClassicalSeconds`. */
  readonly parallelClassicalSeconds: number;
}

export interface QpuTimeOptions {
  /** Seconds per step of a classical processing element (default 1 ns, an assumption). */
  readonly classicalStepSeconds?: number;
  /** Items the task selects: k for top-k, 1 for search / maximum (default 1). */
  readonly selections?: number;
}

export type CostCounts = Pick<SearchCost, 'oracleCalls' | 'groverIterations' | 'measurements'>;

/**
 * Write rate of the bucket brigade's leaves, an assumption and the most favourable one: in Giovannetti,
 * Lloyd, Maccone (PRL 100, 160501, 2008) the routers are quantum but the memory cells at the leaves may be
 * classical, so loading the N·d·b key bits is a classical memory write — taken at 10 GB/s (8·10^10 bit/s),
 * DDR-class bandwidth. It makes the QRAM's one-off cost the same order as a classical KV cache write (and as
 * the dequantized baselines' O(n·d) tree builds, which their prepare reports), not a quantum bottleneck.
 */
export const QRAM_WRITE_BITS_PER_SECOND = 8e10;

/**
 * Fault locations of the bucket-brigade data access per oracle call (load + unload): 2·n² per payload bit
 * for n address qubits. Not every active router gate: Hann, Lee, Girvin, Jiang, "Resilience of quantum random
 * access memory to generic noise", PRX Quantum 2, 020311 (2021), show the bucket-brigade query infidelity
 * grows only as O(ε·log²N) — an error in a router off the queried branch does not reach the query — so
 * counting all O(N) driven routers as independent faults (as this model once did) overstated it by ~N/log²N.
 * The n² is their bound's scaling; its constant is taken as one per layer (load and unload). QROAM is an
 * ordinary circuit (all its gates count); the 'free' oracle has none.
 */
export function qramFaultLocations(model: OracleCostModel): number {
  switch (model.qramModel) {
    case 'bucket-brigade': return 2 * model.indexQubits ** 2 * model.dataQubits;
    case 'qroam': return model.qram.twoQubitGates; // a circuit like any other: every gate is a fault location
    case 'free': return 0;
  }
}

/**
 * p = 1 − (1 − ε)^F with F fault locations per iteration: on physical profiles every two-qubit gate of the
 * arithmetic, comparator and diffusion plus the QRAM's polylogarithmic locations (qramFaultLocations); on a
 * logical profile ε is per logical qubit per cycle, so F = depth × circuit qubits + the QRAM's locations.
 * At n = 2^20 with a key payload the q·k arithmetic alone (~10^6 gates) makes p ≈ 1 on every profile.
 */
/** The surface code at the distance a computation of `logicalOps` logical-qubit cycles needs (SurfaceCodeSpec). */
export interface SurfaceCodePlan {
  readonly distance: number;
  readonly logicalCycleSeconds: number;
  /** Per logical qubit per cycle. */
  readonly logicalError: number;
  readonly physicalQubitsPerLogical: number;
}

export function surfaceCodePlan(spec: SurfaceCodeSpec, logicalOps: number): SurfaceCodePlan {
  // Capped at 1: above threshold (p > 1 %) a larger distance only makes it worse, and a probability it stays.
  const pL = (d: number): number => Math.min(1, 0.03 * (spec.physicalError / 0.01) ** ((d + 1) / 2));
  let d = 3;
  while (d < 999 && Math.max(1, logicalOps) * pL(d) > spec.targetFailure) d += 2;
  return {
    distance: d,
    logicalCycleSeconds: (4 * spec.physicalTwoQubitSeconds + 2 * spec.physicalMeasurementSeconds) * d,
    logicalError: pL(d),
    physicalQubitsPerLogical: 2 * d * d,
  };
}

/** Logical-qubit cycles of a search: its layers (oracle calls × oracle depth + iterations × diffusion depth) × width. */
function logicalOpsOf(cost: CostCounts, model: OracleCostModel): number {
  const oracleDepth = model.qram.depth + model.arithmetic.depth + model.comparator.depth;
  return (cost.oracleCalls * oracleDepth + cost.groverIterations * model.diffusion.depth) * model.qubits;
}

/** A search of about 10·√N' calls: what a surface-code profile sizes its distance for when no run is given. */
function typicalCounts(model: OracleCostModel): CostCounts {
  const calls = Math.ceil(10 * Math.sqrt(model.searchSize));
  return { oracleCalls: calls, groverIterations: calls, measurements: 1 };
}

export function noisePerOracleCall(profile: HardwareProfile, oracle: OracleCostModel, counts?: CostCounts): number {
  const model = withQram(oracle, profile.qram);
  const it = iterationCost(model);
  if (profile.surfaceCode) {
    const plan = surfaceCodePlan(profile.surfaceCode, logicalOpsOf(counts ?? typicalCounts(model), model));
    return -Math.expm1(it.depth * model.qubits * Math.log1p(-plan.logicalError));
  }
  const gates = it.twoQubitGates - model.qram.twoQubitGates;
  const exposures = profile.errorModel === 'per-two-qubit-gate'
    ? gates + qramFaultLocations(model)
    : (it.depth - model.qram.depth) * model.qubits + qramFaultLocations(model);
  return -Math.expm1(exposures * Math.log1p(-profile.twoQubitError));
}

export function noiseForProfile(profile: HardwareProfile, model: OracleCostModel): DepolarizingNoise {
  return depolarizing(noisePerOracleCall(profile, model));
}

/**
 * N' processing elements each evaluate their item's predicate (d multiply-adds for a key payload, one
 * comparison otherwise), then a ⌈log₂N'⌉-level reduction tree per selected item.
 */
export function parallelClassicalSeconds(model: OracleCostModel, opts: QpuTimeOptions = {}): number {
  const step = opts.classicalStepSeconds ?? 1e-9;
  const local = model.payload.kind === 'key' ? model.payload.dim : 1;
  return (local + (opts.selections ?? 1) * model.indexQubits) * step;
}

export function qpuBreakdown(cost: CostCounts, oracle: OracleCostModel, profile: HardwareProfile, opts: QpuTimeOptions = {}): QpuBreakdown {
  // The profile's data access model (hardware-profiles.ts qram), whatever the record was built with.
  const model = withQram(oracle, profile.qram);
  const plan = profile.surfaceCode ? surfaceCodePlan(profile.surfaceCode, logicalOpsOf(cost, model)) : null;
  // Seconds per two-qubit layer with the one-qubit layers it brings (cost-model.ts): on the surface code,
  // Cliffords are tracked in software and each T layer consumes magic states in one logical cycle.
  const t = plan
    ? plan.logicalCycleSeconds * (1 + T_LAYERS_PER_LAYER)
    : profile.twoQubitGateSeconds + ONE_QUBIT_LAYERS_PER_LAYER * profile.oneQubitGateSeconds;
  const oracleArithmetic = cost.oracleCalls * (model.arithmetic.depth + model.comparator.depth) * t;
  const qramLoading = cost.oracleCalls * model.qram.depth * t;
  const diffusion = cost.groverIterations * model.diffusion.depth * t;
  const measurement = cost.measurements * (plan ? plan.logicalCycleSeconds : profile.measurementSeconds);
  const qubitsNeeded = model.qubits + model.qramRouterQubits;
  return {
    profile: profile.name,
    qram: model.qramModel,
    qramWriteBits: model.qramWriteBits,
    qramWriteSeconds: model.qramWriteBits / QRAM_WRITE_BITS_PER_SECOND,
    total: oracleArithmetic + qramLoading + diffusion + measurement,
    oracleArithmetic,
    qramLoading,
    diffusion,
    measurement,
    qubitsNeeded,
    fitsOnDevice: qubitsNeeded <= profile.qubits,
    codeDistance: plan ? plan.distance : null,
    physicalQubits: plan ? qubitsNeeded * plan.physicalQubitsPerLogical : null,
    qramGateOpsPerCall: model.qram.twoQubitGates,
    noisePerOracleCall: noisePerOracleCall(profile, model, cost),
    parallelClassicalSeconds: parallelClassicalSeconds(model, opts),
  };
}

/** Breakdown per profile (default: all of hardware-profiles.ts), keyed by profile name. */
export function modelQpuSeconds(
  cost: CostCounts,
  model: OracleCostModel,
  profiles: readonly HardwareProfile[] = Object.values(hardwareProfiles),
  opts: QpuTimeOptions = {},
): Record<string, QpuBreakdown> {
  const out: Record<string, QpuBreakdown> = {};
  for (const p of profiles) out[p.name] = qpuBreakdown(cost, model, p, opts);
  return out;
}

/**
 * The generic break-even of a quadratic speedup (Babbush, McClean, Newman, Gidney, Boixo, Neven, "Focus beyond
 * quadratic speedups for error-corrected quantum advantage", PRX Quantum 2, 010103 (2021), Eq. 1 and Table I):
 * a classical machine of parallelism S spends t_C per step on N steps, the quantum one t_Q per step on √N, so
 * they tie at √N* = t_Q·S/t_C, after T* = t_Q·√N* = t_Q²·S/t_C seconds. Their Table I: t_Q = 17 ms (100
 * Toffolis in a surface code), t_C = 33 ns → 2.4 hours at S = 1, 100 days at S = 10³, 280 years at S = 10⁶.
 */
export function quadraticBreakEven(tQuantumSeconds: number, tClassicalSeconds: number, parallelism = 1): { seconds: number; steps: number } {
  const root = (tQuantumSeconds * parallelism) / tClassicalSeconds;
  return { seconds: tQuantumSeconds * root, steps: root * root };
}
