/**
 * `gpujs`: the `statevector` backend's fast path (O_f as sign flips, D as a mean reflection) on a float32
 * state vector, run as gpu.js kernels (gpujs-kernels.ts) — on the GPU where gpu.js
 * finds one through headless-gl, else on its WebAssembly or JavaScript backends. `ran()` says which.
 *
 * float32 halves the memory of the float64 `statevector` (4·2^n bytes) and is what a GPU computes. After a
 * full search's ~(π/4)·√(N/M) iterations the amplitudes agree with `statevector` to a few 1e-7 relative
 * (max |Δa| / max |a|, measured at 12–20 qubits; the partial sums are Kahan-compensated, see the kernels), and
 * the tests hold them to GPUJS_AMPLITUDE_TOLERANCE — far below anything a measurement can resolve. No
 * gate-level mode: validating the fast path against gates is the float64 backend's job.
 *
 * Noise is simulated by the same quantum trajectories as `statevector` (same RNG draws in the same order).
 */
import { check } from '../../core/errors.ts';
import type { Rng } from '../../core/rng.ts';
import { groverKernels, type GroverKernels } from './gpujs-kernels.ts';
import { requireGpujs, type GpujsMode, type GpujsRan } from '../../core/gpujs/runtime.ts';
import { lastErrorCall, type Noise } from '../noise.ts';
import { oracleSize, searchSpace, type Oracle } from '../oracle.ts';
import { memoized, squared, type Backend, type PreparedSearch } from './backend.ts';
import { createOracleEvaluator, type OracleEvaluator } from './marked-set.ts';
import { massOn, sampleIndex } from './vector-ops.ts';

export interface GpujsBackendOptions {
  /** Refuse index registers wider than this (default 26 qubits: a 256 MiB float32 vector). */
  readonly maxQubits?: number;
  /** gpu.js mode: auto (gpu.js's choice, reported by ran()), gpu (headless-gl or a QattnError), webasm, cpu. */
  readonly mode?: GpujsMode;
}

export interface GpujsBackend extends Backend {
  readonly mode: GpujsMode;
  /** The gpu.js modes kernels of this backend ran in so far (empty before the first iteration). */
  ran(): GpujsRan[];
}

/** Max |amplitude difference| / max |amplitude| against `statevector` that the tests hold this backend to. */
export const GPUJS_AMPLITUDE_TOLERANCE = 1e-5;

export const DEFAULT_GPUJS_MAX_QUBITS = 26;

function memoryGuard(qubits: number, maxQubits: number): void {
  check(qubits <= maxQubits, () => {
    const mib = (4 * 2 ** qubits) / 2 ** 20;
    return `gpujs backend: ${qubits} qubits need a ${mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`} float32 amplitude ` +
      `vector, above the limit of ${maxQubits} qubits (raise maxQubits or use the analytic backend)`;
  });
}

/** ±1 per basis state: −1 on marked states (the oracle's phase flip as data the kernels read). */
function signs(size: number, marked: Int32Array): Float32Array {
  const s = new Float32Array(size).fill(1);
  for (let t = 0; t < marked.length; t++) s[marked[t]!] = -1;
  return s;
}

function uniform(size: number): Float32Array {
  return new Float32Array(size).fill(1 / Math.sqrt(size));
}

function prepare(oracle: Oracle, maxQubits: number, kernels: (size: number) => GroverKernels, evaluate: OracleEvaluator): PreparedSearch {
  const space = searchSpace(oracleSize(oracle));
  memoryGuard(space.qubits, maxQubits);
  const set = evaluate(oracle);
  const marked = set.list();
  const sign = signs(space.searchSize, marked);
  const k = kernels(space.searchSize);
  let cache: { r: number; a: Float32Array } | null = null;
  // The state after r noiseless iterations; continues from the cached state when r did not go down.
  const state = (r: number): Float32Array => {
    check(Number.isInteger(r) && r >= 0, `iteration count must be an integer ≥ 0, got ${r}`);
    if (!cache || cache.r > r) cache = { r: 0, a: uniform(space.searchSize) };
    if (cache.r < r) cache = { r, a: k.evolve(cache.a, sign, r - cache.r, false) };
    return cache.a;
  };
  return {
    backend: 'gpujs',
    size: space.size,
    qubits: space.qubits,
    searchSize: space.searchSize,
    markedCount: set.count,
    scoreReads: set.reads,
    isMarked: (i) => set.has(i),
    amplitudes: (r) => Float64Array.from(state(r)),
    probabilities: (r) => squared(Float64Array.from(state(r))),
    markedProbability: (r) => massOn(state(r), marked),
    measure(r: number, rng: Rng, noise?: Noise): number {
      const last = lastErrorCall(noise, r, () => rng.next());
      if (last === 0) return sampleIndex(Float64Array.from(state(r)), rng.next());
      const a = new Float32Array(space.searchSize);
      a[rng.int(space.searchSize)] = 1;
      // The diffusion alone completes the iteration the error struck in; then the remaining r − last.
      return sampleIndex(Float64Array.from(k.evolve(a, sign, r - last, true)), rng.next());
    },
  };
}

export function createGpujsBackend(opts: GpujsBackendOptions = {}): GpujsBackend {
  const maxQubits = opts.maxQubits ?? DEFAULT_GPUJS_MAX_QUBITS;
  check(Number.isInteger(maxQubits) && maxQubits >= 0 && maxQubits <= 30, `maxQubits must be an integer in [0, 30], got ${maxQubits}`);
  const mode = opts.mode ?? 'auto';
  requireGpujs(mode); // a missing gpu.js or GL context fails here, with its one-line reason
  const evaluate = createOracleEvaluator();
  const ran = new Set<GpujsRan>();
  const kernels = (size: number): GroverKernels => {
    const g = groverKernels(mode, size);
    const evolve: GroverKernels['evolve'] = (a, sign, iterations, diffuseFirst) => {
      const out = g.evolve(a, sign, iterations, diffuseFirst);
      for (const m of g.ran()) ran.add(m);
      return out;
    };
    return { size, evolve, ran: g.ran };
  };
  return { name: 'gpujs', maxQubits, mode, ran: () => [...ran], prepare: memoized((oracle) => prepare(oracle, maxQubits, kernels, evaluate)), prepareScores: evaluate.prepareScores };
}
