/**
 * Noise model: depolarizing per oracle call. At every oracle call, with probability p the index register is
 * replaced by the maximally mixed state I/N' (global depolarizing channel, Nielsen & Chuang 2010 §8.3.4).
 *
 * Why this model: one parameter that a hardware profile can supply, and an exact closed form. I/N' is
 * invariant under every unitary, so once an error has happened the remaining iterations leave it alone and
 * after r calls
 *     ρ_r = (1 − p)^r · |ψ_r⟩⟨ψ_r| + (1 − (1 − p)^r) · I/N'
 * hence P(marked) = (1 − p)^r · sin²((2r+1)θ) + (1 − (1 − p)^r) · M/N'. The analytic backend samples this
 * mixture directly; the state-vector backend simulates quantum trajectories (the mixed state is replaced by a
 * uniformly random basis state, which averages to I/N') so the two are independent checks of each other.
 * Readout errors, idling and gate-level error structure are not modelled; `qpu-time.ts` derives p for a
 * hardware profile from its two-qubit error rate and the oracle's gate count.
 */
import { check } from '../core/errors.ts';

export interface DepolarizingNoise {
  readonly kind: 'depolarizing';
  /** Probability per oracle call that the register is replaced by the maximally mixed state. */
  readonly p: number;
}

export type Noise = DepolarizingNoise;

export function depolarizing(p: number): DepolarizingNoise {
  check(Number.isFinite(p) && p >= 0 && p <= 1, `noise probability p must be in [0, 1], got ${p}`);
  return { kind: 'depolarizing', p };
}

/** Probability that none of `calls` oracle calls depolarized the register: (1 − p)^calls. */
export function survivalProbability(noise: Noise | undefined, calls: number): number {
  if (!noise || noise.p === 0 || calls === 0) return 1;
  return Math.exp(calls * Math.log1p(-noise.p));
}

/** P(measure a marked index) after `calls` oracle calls, given the noiseless value `ideal`. */
export function noisyMarkedProbability(ideal: number, markedCount: number, searchSize: number, calls: number, noise?: Noise): number {
  const s = survivalProbability(noise, calls);
  return s * ideal + (1 - s) * (markedCount / searchSize);
}

/**
 * For a trajectory simulation: the 1-based index of the last oracle call that depolarized the register
 * within `calls` calls, or 0 if none did. Scanning backwards stops at the first hit, so it costs O(1/p) draws.
 */
export function lastErrorCall(noise: Noise | undefined, calls: number, next: () => number): number {
  if (!noise || noise.p === 0) return 0;
  for (let c = calls; c >= 1; c--) if (next() < noise.p) return c;
  return 0;
}
