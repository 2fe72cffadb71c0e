/**
 * Cost bookkeeping of `grover-topk` (see grover-topk.ts for what each count means): per-query search costs
 * summed into the CostReport, and the `quantum` records (attention/quantum.ts) the benchmark turns into
 * modeled QPU seconds — one per index-register width, because a causal query's window of vis keys is searched
 * over 2^⌈log₂ vis⌉ states and the oracle's QRAM / diffusion cost (oracles/cost-model.ts) depends on that width.
 */
import { oracleCostModel, searchSpace } from '../../oracles/index.ts';
import type { CostCounts, OracleCostModel, Payload, SearchCost } from '../../oracles/index.ts';
import type { QuantumCounts, QuantumOracleModel, QuantumPayload, QuantumResourceRecord } from '../quantum.ts';
import { meanSize } from '../select.ts';
import type { CostReport } from '../types.ts';
import { emptyCost } from '../types.ts';

/*
 * attention/quantum.ts mirrors the oracles/ shapes without importing them; these lines fail to compile if a
 * field is added, removed or retyped on either side, so a QuantumResourceRecord always is what oracles'
 * modelQpuSeconds takes.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameModel: Same<QuantumOracleModel, OracleCostModel> = true;
const samePayload: Same<QuantumPayload, Payload> = true;
const sameCounts: Same<QuantumCounts, CostCounts> = true;
void [sameModel, samePayload, sameCounts];

/** One QPU cost record per index-register width (attention/quantum.ts), its counters filled while searching. */
export interface GroverQuantumRecord extends QuantumResourceRecord {
  readonly cost: { oracleCalls: number; groverIterations: number; measurements: number };
  queries: number;
}

/** What every record of one call shares: the oracle's payload, k (= excluded indices), the noise rule. */
export interface RecordSpec {
  readonly payload: Payload;
  readonly k: number;
  readonly noiseFor: (model: OracleCostModel) => number;
}

/** Records keyed by index qubits. */
export type Ledger = Map<number, GroverQuantumRecord>;

/** The record (cost model, noise) of a window of `vis` keys, created on first use. */
export function recordFor(ledger: Ledger, spec: RecordSpec, vis: number): GroverQuantumRecord {
  const indexQubits = searchSpace(vis).qubits;
  let r = ledger.get(indexQubits);
  if (!r) {
    const model = oracleCostModel({ indexQubits, payload: spec.payload, excludeCount: spec.k, indexTieBreak: true });
    r = { cost: { oracleCalls: 0, groverIterations: 0, measurements: 0 }, model, selections: spec.k, queries: 0, noisePerOracleCall: spec.noiseFor(model) };
    ledger.set(indexQubits, r);
  }
  return r;
}

/** Counters summed over queries (besides the per-record quantum counts). */
export interface Totals {
  measurements: number;
  classicalQueries: number;
  qubits: number;
  simulatorScoreReads: number;
  simulatorLogitEvaluations: number;
  failedQueries: number;
  exhaustiveQueries: number;
  /**
   * Dot products the host computes besides DHHM's own score reads (classicalQueries): every visible key of an
   * exhaustive query, and the tail samples.
   */
  hostDots: number;
  tailSamples: number;
}

export function newTotals(): Totals {
  return {
    measurements: 0, classicalQueries: 0, qubits: 0, simulatorScoreReads: 0, simulatorLogitEvaluations: 0,
    failedQueries: 0, exhaustiveQueries: 0, hostDots: 0, tailSamples: 0,
  };
}

/** Adds one query's search cost to its record and to the totals. */
export function addSearchCost(t: Totals, rec: GroverQuantumRecord, c: SearchCost, success: boolean | null): void {
  rec.cost.oracleCalls += c.oracleCalls;
  rec.cost.groverIterations += c.groverIterations;
  rec.cost.measurements += c.measurements;
  t.measurements += c.measurements;
  t.classicalQueries += c.classicalQueries;
  t.qubits = Math.max(t.qubits, c.qubits);
  t.simulatorScoreReads += c.simulatorScoreReads;
  if (success === false) t.failedQueries++;
}

export function totalsCost(t: Totals, records: readonly GroverQuantumRecord[], selected: readonly Int32Array[]): CostReport {
  const cost = emptyCost();
  // Every classical q·k the hybrid loop computes: DHHM's k initial reads and one check per measured index (the
  // final softmax reuses them — each selected key's score was read when it entered the set), plus hostDots.
  cost.scoreEvaluations = t.classicalQueries + t.hostDots;
  cost.oracleQueries = records.reduce((a, r) => a + r.cost.oracleCalls, 0);
  cost.groverIterations = records.reduce((a, r) => a + r.cost.groverIterations, 0);
  cost.samples = t.tailSamples > 0 ? t.tailSamples : null;
  cost.selectedPerQuery = meanSize(selected);
  cost.extra = {
    measurements: t.measurements,
    classicalQueries: t.classicalQueries,
    failedQueries: t.failedQueries,
    exhaustiveQueries: t.exhaustiveQueries,
    qubits: t.qubits,
    simulatorScoreReads: t.simulatorScoreReads,
    simulatorLogitEvaluations: t.simulatorLogitEvaluations,
    noisePerOracleCall: Math.max(0, ...records.map((r) => r.noisePerOracleCall)),
    tailSamples: t.tailSamples,
  };
  return cost;
}
