/**
 * `statevector`: the full 2^n real amplitude vector (see vector-ops.ts for why real suffices), with the
 * oracle's phase flips and the diffusion applied explicitly at every iteration — O(r·2^n) time, 8·2^n bytes.
 *
 * Two modes: the fast path (O_f as M sign flips, D as one mean-reflection pass) and a gate-level path that
 * builds |s⟩ with H⊗n from |0⟩ and applies O_f and D as H, X and multi-controlled-Z gates. Gate level is slow
 * (O(n·2^n) per gate layer, O(M·n·2^n) per oracle) and exists to validate the fast path on small n.
 *
 * Noise (noise.ts) is simulated by quantum trajectories: the last depolarizing event replaces the register
 * by a uniformly random basis state, and the remaining iterations evolve it explicitly.
 */
import { check } from '../../core/errors.ts';
import type { Rng } from '../../core/rng.ts';
import { lastErrorCall, type Noise } from '../noise.ts';
import { oracleSize, searchSpace, type Oracle, type SearchSpace } from '../oracle.ts';
import { memoized, squared, type Backend, type PreparedSearch } from './backend.ts';
import { createOracleEvaluator, type OracleEvaluator } from './marked-set.ts';
import {
  accurateSum, applyH, basisState, diffuse, gateDiffusion, gateOracle, groverIteration, massOn, sampleIndex, uniformState,
} from './vector-ops.ts';

export interface StatevectorOptions {
  /** Refuse index registers wider than this (default 26 qubits: a 512 MiB vector). */
  readonly maxQubits?: number;
  /** Apply H / X / multi-controlled-Z gates instead of the fast kernels. */
  readonly gateLevel?: boolean;
}

export const DEFAULT_MAX_QUBITS = 26;

/** A state vector and its running sum Σa (the fast path needs it for the diffusion's mean). */
interface Vec {
  a: Float64Array;
  sum: number;
}

interface Kernels {
  initial(): Vec;
  iterate(v: Vec): void;
  /** The part of an iteration after the oracle call (a trajectory's error strikes between the two). */
  finishIteration(v: Vec): void;
}

function kernels(gateLevel: boolean, space: SearchSpace, marked: Int32Array): Kernels {
  const { searchSize, qubits } = space;
  if (!gateLevel) {
    return {
      initial() {
        const a = uniformState(searchSize);
        return { a, sum: accurateSum(a) };
      },
      iterate: (v) => void (v.sum = groverIteration(v.a, marked, v.sum)),
      finishIteration: (v) => void (v.sum = diffuse(v.a, accurateSum(v.a))),
    };
  }
  return {
    initial() {
      const a = basisState(searchSize, 0);
      for (let q = 0; q < qubits; q++) applyH(a, q);
      return { a, sum: NaN };
    },
    iterate(v) {
      gateOracle(v.a, qubits, marked);
      gateDiffusion(v.a, qubits);
    },
    finishIteration: (v) => gateDiffusion(v.a, qubits),
  };
}

function memoryGuard(qubits: number, maxQubits: number): void {
  check(qubits <= maxQubits, () => {
    const mib = (8 * 2 ** qubits) / 2 ** 20;
    return `statevector backend: ${qubits} qubits need a ${mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`} amplitude ` +
      `vector, above the limit of ${maxQubits} qubits (raise maxQubits or use the analytic backend)`;
  });
}

function prepare(oracle: Oracle, maxQubits: number, gateLevel: boolean, evaluate: OracleEvaluator): PreparedSearch {
  const space = searchSpace(oracleSize(oracle));
  memoryGuard(space.qubits, maxQubits);
  const set = evaluate(oracle);
  const marked = set.list();
  const k = kernels(gateLevel, space, marked);
  let cache: { r: number; v: Vec } | null = null;
  // The state after r noiseless iterations; continues from the cached state when r did not go down.
  const state = (r: number): Float64Array => {
    check(Number.isInteger(r) && r >= 0, `iteration count must be an integer ≥ 0, got ${r}`);
    if (!cache || cache.r > r) cache = { r: 0, v: k.initial() };
    for (; cache.r < r; cache.r++) k.iterate(cache.v);
    return cache.v.a;
  };
  return {
    backend: 'statevector',
    size: space.size,
    qubits: space.qubits,
    searchSize: space.searchSize,
    markedCount: set.count,
    scoreReads: set.reads,
    isMarked: (i) => set.has(i),
    amplitudes: (r) => state(r).slice(),
    probabilities: (r) => squared(state(r)),
    markedProbability: (r) => massOn(state(r), marked),
    measure(r: number, rng: Rng, noise?: Noise): number {
      const last = lastErrorCall(noise, r, () => rng.next());
      if (last === 0) return sampleIndex(state(r), rng.next());
      const v = { a: basisState(space.searchSize, rng.int(space.searchSize)), sum: 1 };
      k.finishIteration(v);
      for (let i = last; i < r; i++) k.iterate(v);
      return sampleIndex(v.a, rng.next());
    },
  };
}

export function createStatevectorBackend(opts: StatevectorOptions = {}): Backend {
  const maxQubits = opts.maxQubits ?? DEFAULT_MAX_QUBITS;
  check(Number.isInteger(maxQubits) && maxQubits >= 0 && maxQubits <= 30, `maxQubits must be an integer in [0, 30], got ${maxQubits}`);
  const evaluate = createOracleEvaluator();
  const gateLevel = opts.gateLevel ?? false;
  return { name: 'statevector', maxQubits, prepare: memoized((oracle) => prepare(oracle, maxQubits, gateLevel, evaluate)), prepareScores: evaluate.prepareScores };
}
