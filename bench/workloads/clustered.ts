/**
 * `clustered`: keys fall into C clusters around random centroids and each query sits near one centroid, so
 * attention concentrates on the query's cluster (≈ n/C keys) and is diffuse within it. This is the structure
 * LSH (Reformer, Kitaev et al. 2020, arXiv 2001.04451) and cluster/ANN routing (Routing Transformer, Roy et
 * al. 2021) are designed for, and it sits between `gaussian` (no structure) and `needle` (a handful of keys).
 *
 * Centroids μ_c ~ N(0, I_d), keys μ_c + noise·N(0, I), queries μ_c + noise·N(0, I). With the 1/√d scale a query's
 * logit on its own cluster is ≈ |μ|²/√d = √d (8 at d = 64) against ~N(0, 1) elsewhere.
 */
import { normalArray } from '../../core/rng.ts';
import { normalFloat32 } from './normal.ts';
import { STREAM, workloadRng } from './shared.ts';
import { queryCount, syntheticShape, type Workload } from './types.ts';

export const clustered: Workload = {
  name: 'clustered',
  summary: 'keys in clusters, each query near one cluster: block-peaked attention',
  params: [
    { name: 'clusters', integer: true, default: 16, min: 1, max: 1 << 20, description: 'number of clusters C' },
    { name: 'noise', integer: false, default: 0.5, min: 0, max: 10, description: 'std of keys and queries around their centroid' },
  ],
  maxN: null,
  fixedD: null,
  shape: syntheticShape,
  generate(req, params) {
    const C = params['clusters'] ?? 16;
    const noise = params['noise'] ?? 0.5;
    const m = queryCount(req);
    const { n, d } = req;
    const rng = workloadRng('clustered', req);
    const s = rng.fork(STREAM.structure);
    const centroids = normalArray(s, C * d);
    const place = (x: Float32Array, rows: number): void => {
      for (let r = 0; r < rows; r++) {
        const c = s.int(C);
        for (let t = 0; t < d; t++) x[r * d + t]! += centroids[c * d + t]!;
      }
    };
    const q = normalFloat32(rng.fork(STREAM.q), m * d, noise);
    const k = normalFloat32(rng.fork(STREAM.k), n * d, noise);
    place(k, n);
    place(q, m);
    const v = normalFloat32(rng.fork(STREAM.v), n * d);
    return { q, k, v, m, n, d, dv: d, causal: req.causal };
  },
};
