/**
 * Grover iterations on a float32 state vector as gpu.js kernels, for the `gpujs` quantum backend
 * (oracles/backends/gpujs.ts). Lives with the other gpu.js kernels so that all gpu.js code shares one
 * runtime; it knows nothing about oracles — the oracle arrives as a ±1 sign per basis state.
 *
 * One iteration G = D·O_f is two passes over the vector:
 *   1. partial sums  Σ_{i ∈ chunk b} s_i·a_i   (N / CHUNK outputs; the host adds them in float64)
 *   2. update        a_i ← 2·mean − s_i·a_i     (mean = Σ s·a / N: the oracle flip and the diffusion fused)
 * with s_i = −1 on marked states, +1 elsewhere, and s ≡ 1 for a diffusion without oracle call (`flip` = 0,
 * the half-iteration after a trajectory's depolarizing error).
 *
 * Why a reduction on the device and not a running sum: the sum is what a GPU implementation has to compute
 * each iteration, and recomputing it from the vector keeps float32 rounding from drifting between the vector
 * and a separately tracked scalar.
 */
import { checkRan, kernel1d, type GpujsKernel, type GpujsMode, type GpujsRan, type KernelThis } from './runtime.ts';

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
  /** One Grover iteration (flip = true) or the diffusion alone (flip = false); returns the new vector. */
  step(a: Float32Array, sign: Float32Array, flip: boolean): Float32Array;
  /** The gpu.js modes the kernels ran in so far (empty before the first step). */
  ran(): GpujsRan[];
}

interface Compiled {
  readonly sums: GpujsKernel<[Float32Array, Float32Array, number], Float32Array>;
  readonly update: GpujsKernel<[Float32Array, Float32Array, number, number], Float32Array>;
}

/** Compiled pairs per (mode, size), most recently used last; vectors up to 2^26 make a few sizes plenty. */
const cache = new Map<string, Compiled>();
const CACHE_SIZE = 4;

function compiled(mode: GpujsMode, size: number): Compiled {
  const key = `${mode}:${size}`;
  let c = cache.get(key);
  if (c) cache.delete(key);
  else {
    const chunk = Math.min(CHUNK, size);
    c = {
      sums: kernel1d(mode, { fn: partialSumKernel, output: [size / chunk], constants: { chunk } }),
      update: kernel1d(mode, { fn: updateKernel, output: [size], constants: {} }),
    };
  }
  cache.set(key, c);
  for (const [old, evicted] of cache) {
    if (cache.size <= CACHE_SIZE) break;
    cache.delete(old);
    evicted.sums.destroy();
    evicted.update.destroy();
  }
  return c;
}

/** Grover kernels for a 2^n-entry vector (size must be a power of two) in gpu.js `mode`. */
export function groverKernels(mode: GpujsMode, size: number): GroverKernels {
  if (!Number.isInteger(Math.log2(size))) throw new Error(`internal: state size ${size} is not a power of two`);
  const k = compiled(mode, size);
  let stepped = false;
  return {
    size,
    step(a, sign, flip) {
      const f = flip ? 1 : 0;
      const partial = k.sums.run(a, sign, f);
      let sum = 0;
      for (let b = 0; b < partial.length; b++) sum += partial[b]!;
      const next = k.update.run(a, sign, f, (2 * sum) / size);
      stepped = true;
      checkRan(mode, k.sums.ran());
      checkRan(mode, k.update.ran());
      return next;
    },
    ran: () => (stepped ? [...new Set([k.sums.ran(), k.update.ran()])] : []),
  };
}
