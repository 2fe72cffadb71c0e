/**
 * The cost record every search algorithm returns. Conventions (stated once, used everywhere):
 * - `oracleCalls` counts quantum oracle invocations only. Every Grover iteration is one call, so it equals
 *   `groverIterations` for the algorithms here; both are kept because other algorithms (e.g. amplitude
 *   estimation) differ.
 * - Checking a measured index classically (one read of its score, as Boyer et al. quant-ph/9605034 do after
 *   each measurement) is NOT an oracle call; it is counted in `classicalQueries`, as are initial random
 *   samples (Dürr–Høyer's first threshold, top-k's initial set).
 * - `simulatorScoreReads` is the O(N) classical work the *simulator* spent evaluating oracles (marked-set.ts)
 *   — an artefact of simulating on a classical machine, never quantum work.
 */
export interface SearchCost {
  readonly oracleCalls: number;
  readonly groverIterations: number;
  readonly measurements: number;
  readonly classicalQueries: number;
  /** Logical qubits of the search circuit (index + data + ancilla; QRAM routers are in the cost model). */
  readonly qubits: number;
  readonly simulatorScoreReads: number;
}

/** Mutable accumulator used inside the algorithms. */
export interface CostTally {
  oracleCalls: number;
  measurements: number;
  classicalQueries: number;
  qubits: number;
  simulatorScoreReads: number;
}

export function newTally(): CostTally {
  return { oracleCalls: 0, measurements: 0, classicalQueries: 0, qubits: 0, simulatorScoreReads: 0 };
}

export function freeze(t: CostTally): SearchCost {
  return {
    oracleCalls: t.oracleCalls,
    groverIterations: t.oracleCalls,
    measurements: t.measurements,
    classicalQueries: t.classicalQueries,
    qubits: t.qubits,
    simulatorScoreReads: t.simulatorScoreReads,
  };
}
