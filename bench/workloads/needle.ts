/**
 * `needle`: each query has a few "needle" keys that carry almost all of its softmax mass (peaked attention,
 * like retrieval heads in long-context models) among n − P background keys.
 *
 * Construction (why it is not simply "k = q + noise"): in d = 64 random directions overlap by ~1/√d, so raising
 * a query's logit on its needles also raises the background's spread, and > 99 % mass becomes impossible past
 * n ≈ 100. Instead the P = min(d, n) needle-pool keys lie along orthonormal directions u_t (logit 0 for every
 * query that does not pick them), each query is q = √(d/g)·Σ_{t∈N(q)} u_t (g needles, |q| = √d), and background
 * keys are N(0, I): their logits are exactly N(0, 1), so the background mass is B = (n − P)·e^{1/2} + (P − g) in
 * expectation. Pool key t is c·u_t with the needle logit L = c/√g chosen so that g·e^L / (g·e^L + B) = `mass`.
 * Under a causal mask a query picks its needles among the pool keys it can see (early queries may see fewer
 * than g, or none: those stay diffuse).
 */
import { QattnError } from '../../core/errors.ts';
import { normalArray, type Rng } from '../../core/rng.ts';
import { normalFloat32 } from './normal.ts';
import { sampleDistinct, STREAM, workloadRng } from './shared.ts';
import { queryCount, syntheticShape, type Workload, type WorkloadRequest } from './types.ts';

/** P orthonormal random directions in R^d (Gram–Schmidt on Gaussian vectors; P ≤ d). */
export function orthonormal(rng: Rng, count: number, d: number): Float64Array[] {
  const out: Float64Array[] = [];
  while (out.length < count) {
    const x = Float64Array.from({ length: d }, () => rng.normal());
    for (const u of out) {
      let p = 0;
      for (let t = 0; t < d; t++) p += x[t]! * u[t]!;
      for (let t = 0; t < d; t++) x[t]! -= p * u[t]!;
    }
    const norm = Math.hypot(...x);
    if (norm < 1e-6) continue; // numerically dependent draw: try another
    for (let t = 0; t < d; t++) x[t]! /= norm;
    out.push(x);
  }
  return out;
}

/** The needle logit L that gives the target expected mass (see the module comment). */
export function needleLogit(n: number, pool: number, needles: number, mass: number): number {
  const background = (n - pool) * Math.exp(0.5) + (pool - needles);
  return Math.log((mass / (1 - mass)) * (background / needles));
}

interface Pool {
  readonly dirs: Float64Array[];
  /** Key position of each pool entry. */
  readonly pos: number[];
}

function buildQueries(rng: Rng, req: WorkloadRequest, pool: Pool, g: number): Float32Array {
  const m = queryCount(req);
  const { n, d } = req;
  const q = new Float32Array(m * d);
  const fallback = rng.fork(1);
  for (let i = 0; i < m; i++) {
    const lastVisible = req.causal ? i + n - m : n - 1;
    const visible = pool.pos.flatMap((p, t) => (p <= lastVisible ? [t] : []));
    const pick = sampleDistinct(rng, visible.length, Math.min(g, visible.length)).map((r) => visible[r]!);
    if (pick.length === 0) {
      q.set(normalArray(fallback, d), i * d);
      continue;
    }
    const amp = Math.sqrt(d / pick.length);
    for (const t of pick) for (let c = 0; c < d; c++) q[i * d + c]! += amp * pool.dirs[t]![c]!;
  }
  return q;
}

export const needle: Workload = {
  name: 'needle',
  summary: 'a few needle keys per query carry > 99 % of its softmax mass: peaked attention',
  params: [
    { name: 'needles', integer: true, default: 4, min: 1, max: 64, description: 'needle keys per query (g)' },
    { name: 'mass', integer: false, default: 0.995, min: 0.5, max: 0.999999, description: 'expected softmax mass on the needles' },
  ],
  maxN: null,
  fixedD: null,
  shape: syntheticShape,
  generate(req, params) {
    const g = params['needles'] ?? 4;
    const mass = params['mass'] ?? 0.995;
    const { n, d } = req;
    const P = Math.min(d, n);
    if (P < g) throw new QattnError(`needle workload with ${g} needles needs n ≥ ${g} and d ≥ ${g}, got n=${n}, d=${d}`);
    const rng = workloadRng('needle', req);
    const s = rng.fork(STREAM.structure);
    const pool: Pool = { dirs: orthonormal(s, P, d), pos: sampleDistinct(s, n, P) };
    const k = normalFloat32(rng.fork(STREAM.k), n * d);
    const c = needleLogit(n, P, g, mass) * Math.sqrt(g);
    pool.pos.forEach((p, t) => {
      for (let x = 0; x < d; x++) k[p * d + x] = c * pool.dirs[t]![x]!;
    });
    const q = buildQueries(rng.fork(STREAM.q), req, pool, g);
    const v = normalFloat32(rng.fork(STREAM.v), n * d);
    return { q, k, v, m: queryCount(req), n, d, dv: d, causal: req.causal };
  },
};
