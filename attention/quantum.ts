/**
 * The quantum resource record a (simulated) quantum mechanism returns in AttentionOutput.quantum: what the
 * search counted (oracle calls, Grover iterations, measurements) and the circuit cost model of the oracle it
 * searched with, so the benchmark can turn it into modeled QPU seconds per hardware profile.
 *
 * Plain data, declared here so that attention/ does not depend on oracles/ (test/layering.test.ts): the
 * shapes mirror oracles/cost-model.ts's OracleCostModel and oracles/qpu-time.ts's CostCounts field for field,
 * and attention/mechanisms/grover-cost.ts checks at compile time that each pair is the same type both ways,
 * so a record can be handed to oracles' modelQpuSeconds as it is — no run-time shape check.
 */

/** Two-qubit gates and depth (two-qubit-gate layers) of one part of a circuit. */
export interface QuantumGateCount {
  readonly twoQubitGates: number;
  readonly depth: number;
}

/** What the oracle's data access fetches per index. */
export type QuantumPayload =
  | { readonly kind: 'flag' }
  | { readonly kind: 'score'; readonly bits: number }
  | { readonly kind: 'key'; readonly dim: number; readonly bits: number };

/** The circuit cost of one oracle call and one diffusion step over 2^indexQubits states. */
export interface QuantumOracleModel {
  readonly payload: QuantumPayload;
  readonly indexQubits: number;
  readonly searchSize: number;
  readonly dataQubits: number;
  readonly ancillaQubits: number;
  readonly qubits: number;
  readonly qramModel: 'bucket-brigade' | 'qroam' | 'free';
  readonly excludeCount: number;
  readonly indexTieBreak: boolean;
  readonly qramRouterQubits: number;
  readonly qramWriteBits: number;
  readonly qram: QuantumGateCount;
  readonly arithmetic: QuantumGateCount;
  readonly comparator: QuantumGateCount;
  readonly diffusion: QuantumGateCount;
}

/** The search's counts (quantum oracle invocations only; classical checks are not oracle calls). */
export interface QuantumCounts {
  readonly oracleCalls: number;
  readonly groverIterations: number;
  readonly measurements: number;
}

/**
 * One group of searches sharing a cost model — e.g. every query whose window has the same index-register
 * width. Totals add up over the records of one output.
 */
export interface QuantumResourceRecord {
  readonly cost: QuantumCounts;
  readonly model: QuantumOracleModel;
  /** Items each search selects (k for top-k; 1 for a single search). */
  readonly selections: number;
  /** Queries in this group (searched or answered without a search). */
  readonly queries: number;
  /** Depolarizing probability per oracle call used in the simulation (0 when noiseless). */
  readonly noisePerOracleCall: number;
}
