/**
 * Grover iterations on a float32 state vector as gpu.js kernels, for the `gpujs` quantum backend
 * (gpujs.ts). Shares the gpu.js runtime (core/gpujs/runtime.ts) with attention's gpu.js kernels; it knows
 * nothing about oracles — the oracle arrives as a ±1 sign per basis state.
 *
 * One iteration G = D·O_f is two passes over the (resident) vector:
 *   1. partial sums  Σ_{i ∈ chunk b} s_i·a_i   (N / CHUNK outputs; the host adds them in float64)
 *   2. update        a_i ← 2·mean − s_i·a_i     (mean = Σ s·a / N: the oracle flip and the diffusion fused)
 * with s_i = −1 on marked states, +1 elsewhere, and s ≡ 1 for a diffusion without oracle call (`flip` = 0,
 * the half-iteration after a trajectory's depolarizing error).
 *
 * Why a reduction on the device and not a running sum: the sum is what a GPU implementation has to compute
 * each iteration, and recomputing it from the vector keeps float32 rounding from drifting between the vector
 * and a separately tracked scalar.
 */
import {
  checkRan, copyKernel, kernel1d, readVector, residentKernel, type GpujsKernel, type GpujsMode, type GpujsRan, type KernelThis, type Resident,
} from '../../core/gpujs/runtime.ts';

/** Elements per partial sum (the host adds the N/CHUNK partials in float64). */
export const CHUNK = 256;

interface ChunkConstants {
  readonly chunk: number;
}

/**
 * Σ over chunk thread.x of s_i·a_i (s ≡ 1 when flip = 0), Kahan-compensated: Grover's unmarked amplitudes are
 * all equal, the case where a plain float32 running sum is biased (every addition rounds the same way) by
 * ~chunk·ε/2 — enough to shift the marked probability by 1e-4 after a search's iterations.
 */
export function partialSumKernel(this: KernelThis<ChunkConstants>, a: Float32Array, sign: Float32Array, flip: number): number {
  const base = this.thread.x * this.constants.chunk;
  let s = 0;
  let c = 0;
  for (let t = 0; t < this.constants.chunk; t++) {
    let x = a[base + t]!;
    if (flip > 0) x = x * sign[base + t]!;
    const y = x - c;
    const u = s + y;
    c = (u - s) - y;
    s = u;
  }
  return s;
}

/** a_i ← twoMean − s_i·a_i (s ≡ 1 when flip = 0). */
export function updateKernel(this: KernelThis<Record<string, never>>, a: Float32Array, sign: Float32Array, flip: number, twoMean: number): number {
  let x = a[this.thread.x]!;
  if (flip > 0) x = x * sign[this.thread.x]!;
  return twoMean - x;
}

export interface GroverKernels {
  /** N' (a power of two). */
  readonly size: number;
  /**
   * The state after `iterations` Grover iterations (oracle flip + diffusion) from `a`, preceded by the
   * diffusion alone when `diffuseFirst` (the rest of the iteration a trajectory's error struck in). The
   * vector stays resident between passes; only the partial sums and the final state come back to the host.
   */
  evolve(a: Float32Array, sign: Float32Array, iterations: number, diffuseFirst: boolean): Float32Array;
  /** The gpu.js modes the kernels ran in so far (empty before the first pass). */
  ran(): GpujsRan[];
}

type Vec = Float32Array;

interface Compiled {
  readonly sums: GpujsKernel<[Vec, Vec, number], Float32Array>;
  /** Two instances of the update, alternated: a resident output is overwritten when its kernel runs again. */
  readonly update: readonly [GpujsKernel<[Vec, Vec, number, number], Resident>, GpujsKernel<[Vec, Vec, number, number], Resident>];
  readonly loadState: GpujsKernel<[Vec], Resident>;
  readonly loadSign: GpujsKernel<[Vec], Resident>;
  /** The host sign array whose upload `signResident` holds (re-uploaded when a different oracle's arrives). */
  sign: { host: Float32Array; resident: Resident } | null;
}

/** Compiled kernels per (mode, size), most recently used last; vectors up to 2^26 make a few sizes plenty. */
const cache = new Map<string, Compiled>();
const CACHE_SIZE = 4;

function compile(mode: GpujsMode, size: number): Compiled {
  const chunk = Math.min(CHUNK, size);
  const update = (): GpujsKernel<[Vec, Vec, number, number], Resident> =>
    residentKernel(mode, { fn: updateKernel, output: [size], constants: {} });
  return {
    sums: kernel1d(mode, { fn: partialSumKernel, output: [size / chunk], constants: { chunk } }),
    update: [update(), update()],
    loadState: residentKernel(mode, { fn: copyKernel, output: [size], constants: {} }),
    loadSign: residentKernel(mode, { fn: copyKernel, output: [size], constants: {} }),
    sign: null,
  };
}

function compiled(mode: GpujsMode, size: number): Compiled {
  const key = `${mode}:${size}`;
  const c = cache.get(key) ?? compile(mode, size);
  cache.delete(key);
  cache.set(key, c);
  for (const [old, evicted] of cache) {
    if (cache.size <= CACHE_SIZE) break;
    cache.delete(old);
    for (const k of [evicted.sums, ...evicted.update, evicted.loadState, evicted.loadSign]) k.destroy();
  }
  return c;
}

function signResident(c: Compiled, sign: Float32Array): Resident {
  if (c.sign?.host !== sign) c.sign = { host: sign, resident: c.loadSign.run(sign) };
  return c.sign.resident;
}

/** Grover kernels for a 2^n-entry vector (size must be a power of two) in gpu.js `mode`. */
export function groverKernels(mode: GpujsMode, size: number): GroverKernels {
  if (!Number.isInteger(Math.log2(size))) throw new Error(`internal: state size ${size} is not a power of two`);
  const c = compiled(mode, size);
  const all = [c.sums, ...c.update, c.loadState, c.loadSign];
  let ran = false;
  return {
    size,
    evolve(a, sign, iterations, diffuseFirst) {
      const passes = iterations + (diffuseFirst ? 1 : 0);
      if (passes === 0) return a.slice();
      const s = signResident(c, sign);
      let cur = c.loadState.run(a);
      for (let t = 0; t < passes; t++) {
        const flip = diffuseFirst && t === 0 ? 0 : 1;
        const partial = c.sums.run(cur, s, flip);
        let sum = 0;
        for (let b = 0; b < partial.length; b++) sum += partial[b]!;
        cur = c.update[t % 2]!.run(cur, s, flip, (2 * sum) / size);
      }
      ran = true;
      for (const k of all) checkRan(mode, k.ran());
      return readVector(cur);
    },
    ran: () => (ran ? [...new Set(all.map((k) => k.ran()))] : []),
  };
}
