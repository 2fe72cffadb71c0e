/**
 * Repeated seeded runs of one search algorithm with a summary report — the engine behind `qattn grover`
 * (cli/grover.ts parses flags and prints; this module runs). Every run gets its own forked RNG, so a report
 * is reproducible from its seed.
 */
import type { Rng } from '../core/rng.ts';
import { bbhtSearch } from './algorithms/bbht.ts';
import type { SearchCost } from './algorithms/cost.ts';
import { durrHoyerMax } from './algorithms/durr-hoyer.ts';
import { groverSearch } from './algorithms/grover.ts';
import { quantumTopK } from './algorithms/topk.ts';
import type { Backend } from './backends/backend.ts';
import { DEFAULT_BITS, oracleCostModel, type OracleCostModel } from './cost-model.ts';
import type { HardwareProfile } from './hardware-profiles.ts';
import type { Noise } from './noise.ts';
import { markedOracle, randomSubset, searchSpace, thresholdOracle, type Oracle } from './oracle.ts';
import { modelQpuSeconds, noiseForProfile, type QpuBreakdown } from './qpu-time.ts';

export const ALGORITHMS = ['known', 'bbht', 'max', 'topk'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export function isAlgorithm(name: string): name is Algorithm {
  return (ALGORITHMS as readonly string[]).includes(name);
}

export type Problem =
  | { readonly kind: 'marked'; readonly n: number; readonly marked: number }
  | { readonly kind: 'scores'; readonly scores: Float64Array; readonly threshold: number | null };

export interface ExperimentSpec {
  readonly algorithm: Algorithm;
  readonly backend: Backend;
  readonly problem: Problem;
  /** For topk. */
  readonly k: number;
  readonly noise: Noise | null;
  /** Derive the noise from this profile (ignored when `noise` is given). */
  readonly hardware: HardwareProfile | null;
  readonly runs: number;
  readonly rng: Rng;
}

export interface ExperimentReport {
  readonly algorithm: Algorithm;
  readonly backend: string;
  readonly n: number;
  readonly searchSize: number;
  readonly indexQubits: number;
  /** Marked items (known/bbht), indices attaining the maximum (max), or k (topk). */
  readonly marked: number;
  /** Logical qubits of the search circuit (index + data + ancilla). */
  readonly qubits: number;
  /** r for known; mean Grover iterations per run otherwise. */
  readonly iterations: number;
  readonly oracleCalls: { readonly mean: number; readonly max: number };
  readonly measurements: { readonly mean: number };
  readonly classicalQueries: { readonly mean: number };
  readonly simulatorScoreReads: { readonly mean: number };
  /** known: probability mass on marked states of the final state (noise mixed in). Else null. */
  readonly successProbability: number | null;
  /** Observed: found a marked item / the true maximum / the true top-k. */
  readonly successRate: number;
  /** The algorithm's own a-priori lower bound (max, topk), else null. */
  readonly successLowerBound: number | null;
  readonly runs: number;
  readonly seed: number;
  readonly noise: { readonly p: number; readonly source: string } | null;
  readonly qpuSeconds: Record<string, QpuBreakdown>;
  readonly wallSeconds: number;
}

interface RunOutcome {
  readonly cost: SearchCost;
  readonly success: boolean;
  readonly iterations?: number;
  readonly successProbability?: number;
  readonly successLowerBound?: number;
}

function scoresOf(p: Problem): Float64Array {
  if (p.kind !== 'scores') throw new Error('unreachable: the CLI requires --scores for this algorithm');
  return p.scores;
}

/** The search oracle for known/bbht (marked set drawn from a dedicated fork of the seed). */
function searchOracle(spec: ExperimentSpec): Oracle {
  const p = spec.problem;
  if (p.kind === 'marked') return markedOracle(p.n, randomSubset(p.n, p.marked, spec.rng.fork(0x6d61726b)));
  return thresholdOracle(p.scores, p.threshold ?? -Infinity);
}

function costModel(spec: ExperimentSpec, oracle: Oracle | null): OracleCostModel {
  if (oracle) return oracle.cost;
  return oracleCostModel({
    indexQubits: searchSpace(scoresOf(spec.problem).length).qubits,
    payload: { kind: 'score', bits: DEFAULT_BITS },
    excludeCount: spec.algorithm === 'topk' ? spec.k : 0,
  });
}

function runOnce(spec: ExperimentSpec, oracle: Oracle | null, rng: Rng, noise: Noise | undefined): RunOutcome {
  const { backend } = spec;
  switch (spec.algorithm) {
    case 'known': {
      const r = groverSearch(backend, oracle!, { rng, noise });
      return { cost: r.cost, success: r.found, iterations: r.iterations, successProbability: r.successProbability };
    }
    case 'bbht': {
      const r = bbhtSearch(backend, oracle!, { rng, noise });
      return { cost: r.cost, success: r.found };
    }
    case 'max': {
      const r = durrHoyerMax(scoresOf(spec.problem), { backend, rng, noise });
      return { cost: r.cost, success: r.isMax, successLowerBound: r.successLowerBound };
    }
    case 'topk': {
      const r = quantumTopK(scoresOf(spec.problem), spec.k, { backend, rng, noise });
      return { cost: r.cost, success: r.success === true, successLowerBound: r.successLowerBound };
    }
  }
}

function markedCount(spec: ExperimentSpec, oracle: Oracle | null): number {
  if (oracle) return spec.backend.prepare(oracle).markedCount;
  if (spec.algorithm === 'topk') return spec.k;
  const s = scoresOf(spec.problem);
  const max = s.reduce((m, x) => Math.max(m, x), -Infinity);
  return s.reduce((c, x) => c + (x === max ? 1 : 0), 0);
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Observers of a running experiment (the CLI's progress lines); called synchronously, so keep them cheap. */
export interface ExperimentHooks {
  /** After each run: `done` of `runs` runs finished. */
  readonly onRun?: (done: number, runs: number) => void;
}

export function runExperiment(spec: ExperimentSpec, hooks: ExperimentHooks = {}): ExperimentReport {
  const started = performance.now();
  const oracle = spec.algorithm === 'known' || spec.algorithm === 'bbht' ? searchOracle(spec) : null;
  const model = costModel(spec, oracle);
  const noise = spec.noise ?? (spec.hardware ? noiseForProfile(spec.hardware, model) : null);
  const outcomes: RunOutcome[] = [];
  for (let i = 0; i < spec.runs; i++) {
    outcomes.push(runOnce(spec, oracle, spec.rng.fork(i), noise ?? undefined));
    hooks.onRun?.(i + 1, spec.runs);
  }
  const calls = outcomes.map((o) => o.cost.oracleCalls);
  const first = outcomes[0]!;
  const meanCost = {
    oracleCalls: mean(calls),
    groverIterations: mean(outcomes.map((o) => o.cost.groverIterations)),
    measurements: mean(outcomes.map((o) => o.cost.measurements)),
  };
  return {
    algorithm: spec.algorithm,
    backend: spec.backend.name,
    n: oracle ? (oracle.kind === 'marked' ? oracle.size : oracle.scores.length) : scoresOf(spec.problem).length,
    searchSize: model.searchSize,
    indexQubits: model.indexQubits,
    marked: markedCount(spec, oracle),
    qubits: model.qubits,
    iterations: first.iterations ?? meanCost.groverIterations,
    oracleCalls: { mean: meanCost.oracleCalls, max: calls.reduce((m, c) => Math.max(m, c), 0) },
    measurements: { mean: meanCost.measurements },
    classicalQueries: { mean: mean(outcomes.map((o) => o.cost.classicalQueries)) },
    simulatorScoreReads: { mean: mean(outcomes.map((o) => o.cost.simulatorScoreReads)) },
    successProbability: first.successProbability ?? null,
    successRate: mean(outcomes.map((o) => (o.success ? 1 : 0))),
    successLowerBound: first.successLowerBound ?? null,
    runs: spec.runs,
    seed: spec.rng.seed,
    noise: noise ? { p: noise.p, source: spec.noise ? '--noise' : `hardware profile ${spec.hardware?.name}` } : null,
    qpuSeconds: modelQpuSeconds(meanCost, model, undefined, { selections: spec.algorithm === 'topk' ? spec.k : 1 }),
    wallSeconds: (performance.now() - started) / 1000,
  };
}
