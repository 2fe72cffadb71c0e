/**
 * Small seeded attention inputs for tests: Gaussian Q/K/V and planted-needle inputs (each query has a few
 * keys aligned with it that carry almost all of its exact softmax mass — the regime where top-k and
 * Grover-style selection are meant to shine).
 */
import { createRng, normalArray } from '../../core/rng.ts';
import { referenceWeights } from '../../attention/kernels/reference.ts';
import type { AttentionInput } from '../../attention/types.ts';
import { plantAligned } from '../../bench/workloads/needle.ts';

export interface Shape {
  readonly m: number;
  readonly n: number;
  readonly d: number;
  readonly dv: number;
}

export interface GaussianOptions extends Shape {
  readonly seed: number;
  readonly causal?: boolean;
  /** Standard deviation of Q and K entries (default 1); large values give peaked / extreme logits. */
  readonly qkScale?: number;
  readonly mask?: Float32Array;
}

/** Q, K, V with i.i.d. N(0, 1) entries (Q, K times qkScale), seed → identical arrays. */
export function gaussianInput(o: GaussianOptions): AttentionInput {
  const rng = createRng(o.seed);
  const sd = o.qkScale ?? 1;
  return {
    m: o.m, n: o.n, d: o.d, dv: o.dv,
    q: normalArray(rng, o.m * o.d, sd),
    k: normalArray(rng, o.n * o.d, sd),
    v: normalArray(rng, o.n * o.dv),
    ...(o.causal ? { causal: true } : {}),
    ...(o.mask ? { mask: o.mask } : {}),
  };
}

/** A deep copy (new typed arrays, same values): "the same input" without sharing array identity. */
export function copyInput(input: AttentionInput): AttentionInput {
  return {
    ...input,
    q: input.q.slice(), k: input.k.slice(), v: input.v.slice(),
    ...(input.mask ? { mask: input.mask.slice() } : {}),
  };
}

export interface PlantedNeedles {
  readonly input: AttentionInput;
  /** The needle keys of each query (ascending). */
  readonly needles: readonly Int32Array[];
  /** Smallest exact softmax mass any query puts on its needles (checked ≥ minMass at generation). */
  readonly minNeedleMass: number;
}

export interface NeedleOptions extends Shape {
  readonly seed: number;
  /** Needle keys per query (default 3); needs m·needles ≤ n (needle sets are disjoint). */
  readonly needles?: number;
  /** Scaled logit of a query against its own needles (default 40). */
  readonly strength?: number;
  /** Generation fails unless every query has at least this much exact mass on its needles (default 0.99). */
  readonly minMass?: number;
}

/**
 * Query i = α·u_i (u_i a random unit vector); its needles are keys β·u_i + small noise at disjoint random
 * positions, the other keys are N(0, 0.3²) noise: the needle family's aligned construction (bench/workloads/
 * needle.ts plantAligned) with α = β and α·β·scale = strength, so the needle logits dominate. Throws if the
 * planted mass is below minMass, so a test can never silently run on a workload without needles.
 */
export function plantedNeedleInput(o: NeedleOptions): PlantedNeedles {
  const { m, n, d, dv } = o;
  const per = o.needles ?? 3, strength = o.strength ?? 40, minMass = o.minMass ?? 0.99;
  if (m * per > n) throw new Error(`plantedNeedleInput: m·needles = ${m * per} > n = ${n}`);
  const rng = createRng(o.seed);
  const scale = 1 / Math.sqrt(d);
  const norm = Math.sqrt(strength / scale);
  const k = normalArray(rng, n * d, 0.3);
  const { q, needles } = plantAligned(k, rng, rng, { m, n, d, needles: per, queryNorm: norm, needleNorm: norm, spread: 0, jitter: 0.05 });
  const input: AttentionInput = { m, n, d, dv, q, k, v: normalArray(rng, n * dv) };
  let minNeedleMass = 1;
  needles.forEach((mine, i) => {
    const p = referenceWeights(input, i);
    let mass = 0;
    for (const j of mine) mass += p[j]!;
    minNeedleMass = Math.min(minNeedleMass, mass);
  });
  if (minNeedleMass < minMass) throw new Error(`plantedNeedleInput: needle mass ${minNeedleMass} < ${minMass}; raise strength or d`);
  return { input, needles, minNeedleMass };
}
