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
 *
 * The family's second construction, `plantAligned` (`--opt needle.queryNorm=24`): needles of the background's
 * norm that win by direction, not length — query i = α·u_i (u_i a random unit vector), its needles
 * β·unit(u_i + s·g_t) (+ per-coordinate jitter), at disjoint random positions — as in real key caches, whose
 * keys have similar norms (large-norm needles inflate ‖K‖_F² and with it dequantized sampling's trials per
 * sample, for a reason real caches do not have). bench:mechanisms, the test helpers and the task workloads
 * (tasks.ts) all plant their needles through this file.
 */
import { QattnError } from '../../core/errors.ts';
import { normalArray, type Rng } from '../../core/rng.ts';
import { normalFloat32 } from './normal.ts';
import { sampleDistinct, STREAM, workloadRng } from './shared.ts';
import { queryCount, syntheticShape, type Workload, type WorkloadInput, type WorkloadRequest } from './types.ts';

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

/** How `plantAligned` plants (see the module comment). */
export interface AlignedSpec {
  readonly m: number;
  readonly n: number;
  readonly d: number;
  /** Needles per query (disjoint sets: m·needles ≤ n). */
  readonly needles: number;
  /** ‖q‖ (α). */
  readonly queryNorm: number;
  /** ‖needle‖ before jitter (β). */
  readonly needleNorm: number;
  /** Each needle's direction is unit(u_i + spread·g_t), g_t a random unit vector (0: exactly u_i). */
  readonly spread: number;
  /** Standard deviation of per-coordinate noise added to each needle after scaling (0: none). */
  readonly jitter: number;
}

function unitFrom(rng: Rng, d: number): Float64Array {
  // Through float32 (normalArray) and back: the draws every planted-needle input of qattn has always used.
  const u = Float64Array.from(normalArray(rng, d));
  const norm = Math.hypot(...u);
  return u.map((x) => x / norm);
}

/**
 * Plants aligned needles into background keys `k` [n×d] (filled by the caller): positions from `structure`, query
 * directions, needle spreads and jitter from `draws`. Returns Q [m×d] and each query's needles (ascending).
 */
export function plantAligned(k: Float32Array, structure: Rng, draws: Rng, o: AlignedSpec): { q: Float32Array; needles: Int32Array[] } {
  const { m, n, d, needles: g } = o;
  if (m * g > n) throw new QattnError(`aligned needles: m·needles = ${m * g} > n = ${n} (needle sets are disjoint)`);
  const perm = Array.from({ length: n }, (_, j) => j);
  for (let j = n - 1; j > 0; j--) {
    const r = structure.int(j + 1);
    [perm[j], perm[r]] = [perm[r]!, perm[j]!];
  }
  const q = new Float32Array(m * d);
  const needles: Int32Array[] = [];
  for (let i = 0; i < m; i++) {
    const u = unitFrom(draws, d);
    for (let c = 0; c < d; c++) q[i * d + c] = o.queryNorm * u[c]!;
    const mine = Int32Array.from(perm.slice(i * g, (i + 1) * g)).sort();
    for (const j of mine) {
      let dir = u;
      if (o.spread > 0) {
        const w = unitFrom(draws, d);
        const x = u.map((a, c) => a + o.spread * w[c]!);
        const norm = Math.hypot(...x);
        dir = x.map((a) => a / norm);
      }
      for (let c = 0; c < d; c++) k[j * d + c] = o.needleNorm * dir[c]! + (o.jitter > 0 ? o.jitter * draws.normal() : 0);
    }
    needles.push(mine);
  }
  return { q, needles };
}

/** The aligned construction as the `needle` workload builds it (queryNorm > 0): background N(0, I), ‖needle‖ = √d. */
export function alignedNeedleInput(req: WorkloadRequest, g: number, queryNorm: number, spread: number): WorkloadInput & { readonly needles: Int32Array[] } {
  if (req.causal) throw new QattnError('needle with queryNorm > 0 (aligned needles) is non-causal: drop --causal or set needle.queryNorm=0');
  const { n, d } = req;
  const m = queryCount(req);
  const rng = workloadRng('needle-aligned', req);
  const k = normalFloat32(rng.fork(STREAM.k), n * d);
  const { q, needles } = plantAligned(k, rng.fork(STREAM.structure), rng.fork(STREAM.q), { m, n, d, needles: g, queryNorm, needleNorm: Math.sqrt(d), spread, jitter: 0 });
  const v = normalFloat32(rng.fork(STREAM.v), n * d);
  return { q, k, v, m, n, d, dv: d, causal: false, needles };
}

export const needle: Workload = {
  name: 'needle',
  summary: 'a few needle keys per query carry > 99 % of its softmax mass: peaked attention',
  params: [
    { name: 'needles', integer: true, default: 4, min: 1, max: 64, description: 'needle keys per query (g)' },
    { name: 'mass', integer: false, default: 0.995, min: 0.5, max: 0.999999, description: 'expected softmax mass on the needles (orthonormal pool; with queryNorm > 0 the mass follows from the norms)' },
    { name: 'queryNorm', integer: false, default: 0, min: 0, max: 1000, description: '0: needles along an orthonormal pool, planted for `mass`; > 0: aligned needles of the background\'s norm √d that win by direction, queries of this norm' },
    { name: 'spread', integer: false, default: 0.15, min: 0, max: 10, description: 'aligned needles (queryNorm > 0): each needle along unit(u + spread·g), g a random unit vector' },
  ],
  maxN: null,
  fixedD: null,
  shape: syntheticShape,
  generate(req, params) {
    const g = params['needles'] ?? 4;
    const mass = params['mass'] ?? 0.995;
    const queryNorm = params['queryNorm'] ?? 0;
    if (queryNorm > 0) {
      const { needles: _n, ...input } = alignedNeedleInput(req, g, queryNorm, params['spread'] ?? 0.15);
      return input;
    }
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
