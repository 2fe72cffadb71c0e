/**
 * Real state-vector kernels for Grover search, fast and gate-level.
 *
 * Why real amplitudes suffice: |s⟩ = H⊗n|0⟩ has real amplitudes, the phase oracle O_f = Σ(−1)^f(x)|x⟩⟨x|
 * and the diffusion D = 2|s⟩⟨s| − I are real orthogonal matrices, and so are H, X and multi-controlled Z —
 * every state Grover's algorithm visits is therefore a real vector, and a Float64Array holds it exactly as a
 * complex simulator would (with half the memory and no complex arithmetic).
 */

/** |s⟩: 1/√N' on every basis state. */
export function uniformState(size: number): Float64Array {
  return new Float64Array(size).fill(1 / Math.sqrt(size));
}

/** |x⟩. */
export function basisState(size: number, x: number): Float64Array {
  const a = new Float64Array(size);
  a[x] = 1;
  return a;
}

/** Σa with Neumaier's compensated summation: error O(ε·Σ|a|) whatever the length. */
export function accurateSum(a: Float64Array): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const t = s + x;
    c += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
    s = t;
  }
  return s + c;
}

/**
 * D = 2|s⟩⟨s| − I: a_i ← 2·mean − a_i, given sum = Σa; returns Σ of the result, accumulated (compensated)
 * in the same pass so each iteration reads the vector once. Plain or blocked summation loses ~N'·ε per
 * iteration on vectors of equal entries, which after r ≈ 200 iterations at N' = 2^16 is ~1e-12 — too much
 * for the 1e-12 agreement with the closed form; compensated sums keep it at ~r·ε.
 */
export function diffuse(a: Float64Array, sum: number = accurateSum(a)): number {
  const twoMean = (2 * sum) / a.length;
  let s = 0;
  let c = 0;
  for (let i = 0; i < a.length; i++) {
    const x = twoMean - a[i]!;
    a[i] = x;
    const t = s + x;
    c += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
    s = t;
  }
  return s + c;
}

/** O_f: negate the marked amplitudes (O(M), not O(N')); returns the updated Σa. */
export function phaseFlip(a: Float64Array, marked: Int32Array, sum: number): number {
  for (let k = 0; k < marked.length; k++) {
    const m = marked[k]!;
    sum -= 2 * a[m]!;
    a[m] = -a[m]!;
  }
  return sum;
}

/** One Grover iteration G = D·O_f on the fast path, given and returning Σa. */
export function groverIteration(a: Float64Array, marked: Int32Array, sum: number): number {
  return diffuse(a, phaseFlip(a, marked, sum));
}

export function applyH(a: Float64Array, qubit: number): void {
  const bit = 1 << qubit;
  for (let i = 0; i < a.length; i++) {
    if (i & bit) continue;
    const x = a[i]!;
    const y = a[i | bit]!;
    a[i] = (x + y) * Math.SQRT1_2;
    a[i | bit] = (x - y) * Math.SQRT1_2;
  }
}

export function applyX(a: Float64Array, qubit: number): void {
  const bit = 1 << qubit;
  for (let i = 0; i < a.length; i++) {
    if (i & bit) continue;
    const x = a[i]!;
    a[i] = a[i | bit]!;
    a[i | bit] = x;
  }
}

/** Z controlled on every qubit in `mask` (the target is one of them; CZ is symmetric): flips |…1…1…⟩. */
export function applyMCZ(a: Float64Array, mask: number): void {
  for (let i = 0; i < a.length; i++) if ((i & mask) === mask) a[i] = -a[i]!;
}

/** Gate-level O_f for an explicit marked set: per marked m, X on m's zero bits, C^{n−1}Z on all, X again. */
export function gateOracle(a: Float64Array, qubits: number, marked: Int32Array): void {
  const all = a.length - 1;
  for (let k = 0; k < marked.length; k++) {
    const m = marked[k]!;
    for (let q = 0; q < qubits; q++) if (!((m >> q) & 1)) applyX(a, q);
    applyMCZ(a, all);
    for (let q = 0; q < qubits; q++) if (!((m >> q) & 1)) applyX(a, q);
  }
}

/**
 * Gate-level diffusion H⊗n X⊗n C^{n−1}Z X⊗n H⊗n. That circuit equals I − 2|s⟩⟨s| = −D; the global phase −1
 * is unobservable, and we multiply it back out so amplitudes (not just probabilities) match the fast path.
 */
export function gateDiffusion(a: Float64Array, qubits: number): void {
  for (let q = 0; q < qubits; q++) applyH(a, q);
  for (let q = 0; q < qubits; q++) applyX(a, q);
  applyMCZ(a, a.length - 1);
  for (let q = 0; q < qubits; q++) applyX(a, q);
  for (let q = 0; q < qubits; q++) applyH(a, q);
  for (let i = 0; i < a.length; i++) a[i] = -a[i]!;
}

/** Samples a basis state from |a|² with a uniform draw u ∈ [0, 1). */
export function sampleIndex(a: Float64Array, u: number): number {
  let acc = 0;
  let last = 0;
  for (let i = 0; i < a.length; i++) {
    const p = a[i]! * a[i]!;
    if (p === 0) continue;
    acc += p;
    last = i;
    if (u < acc) return i;
  }
  return last; // u landed in the rounding gap above Σ|a|² ≈ 1
}

/** Probability mass on the given indices. */
export function massOn(a: ArrayLike<number>, indices: Int32Array): number {
  let s = 0;
  for (let k = 0; k < indices.length; k++) s += a[indices[k]!]! ** 2;
  return s;
}
