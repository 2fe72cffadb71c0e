/**
 * `zipf`: attention mass that follows a power law in key rank, p(r) ∝ r^(−alpha) — the heavy-tailed shape
 * measured in trained models' attention (a few "heavy hitter" keys, then a long tail; Zhang et al., "H2O:
 * Heavy-Hitter Oracle", arXiv 2306.14048). alpha tunes the peakedness: 0 is uniform, ≥ 1 is peaked.
 *
 * Construction: each key j gets a random rank r_j (a permutation of 1…n) and a salience logit −alpha·ln r_j,
 * carried by one coordinate: q = [√d, τ·z], k_j = [−alpha·ln r_j, w_j] with z, w ~ N(0, I_{d−1}), so
 * q·k_j/√d = −alpha·ln r_j + ε with per-(query, key) jitter ε ~ N(0, jitter²). The jitter keeps queries from
 * being identical (each has its own top keys) while preserving the power law in expectation (E e^ε is the
 * same for every key). A random reflection then spreads the salience coordinate over all d.
 */
import { normalFloat32 } from './normal.ts';
import { permutation, reflectRows, STREAM, workloadRng } from './shared.ts';
import { queryCount, syntheticShape, type Workload } from './types.ts';

export const zipf: Workload = {
  name: 'zipf',
  summary: 'softmax mass follows a power law in key rank, p(r) ∝ r^-alpha',
  params: [
    { name: 'alpha', integer: false, default: 1, min: 0, max: 4, description: 'power-law exponent of the attention mass' },
    { name: 'jitter', integer: false, default: 0.5, min: 0, max: 4, description: 'std of the per-(query, key) logit noise' },
  ],
  maxN: null,
  fixedD: null,
  shape: syntheticShape,
  generate(req, params) {
    const alpha = params['alpha'] ?? 1;
    const jitter = params['jitter'] ?? 0.5;
    const m = queryCount(req);
    const { n, d } = req;
    const rng = workloadRng('zipf', req);
    // τ such that the residual dot product over d − 1 coordinates, divided by √d, has std `jitter`.
    const tau = d > 1 ? jitter * Math.sqrt(d / (d - 1)) : 0;
    const q = normalFloat32(rng.fork(STREAM.q), m * d, tau);
    for (let i = 0; i < m; i++) q[i * d] = Math.sqrt(d);
    const k = normalFloat32(rng.fork(STREAM.k), n * d, 1);
    const rank = permutation(rng.fork(STREAM.structure), n);
    for (let j = 0; j < n; j++) k[j * d] = -alpha * Math.log(rank[j]! + 1);
    reflectRows(rng.fork(STREAM.rotation), d, q, k);
    const v = normalFloat32(rng.fork(STREAM.v), n * d);
    return { q, k, v, m, n, d, dv: d, causal: req.causal };
  },
};
