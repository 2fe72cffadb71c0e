/**
 * `gaussian`: Q, K, V with iid N(0, 1) entries. With the default 1/√d scale every logit is ~N(0, 1), so the
 * softmax is diffuse — the top-32 keys of 2^16 carry only a few percent of the mass. This is the hard case for
 * every selection method (top-k, LSH, Grover): no small set of keys explains the output.
 */
import type { AttentionInput } from '../../attention/types.ts';
import { normalFloat32 } from './normal.ts';
import { STREAM, workloadRng } from './shared.ts';
import { queryCount, syntheticShape, type Workload } from './types.ts';

export const gaussian: Workload = {
  name: 'gaussian',
  summary: 'iid N(0,1) Q/K/V: diffuse attention, the hard case for selection',
  params: [],
  maxN: null,
  fixedD: null,
  shape: syntheticShape,
  generate(req) {
    const rng = workloadRng('gaussian', req);
    const m = queryCount(req);
    const { n, d } = req;
    return {
      q: normalFloat32(rng.fork(STREAM.q), m * d),
      k: normalFloat32(rng.fork(STREAM.k), n * d),
      v: normalFloat32(rng.fork(STREAM.v), n * d),
      m, n, d, dv: d, causal: req.causal,
    };
  },
};

/** Self-attention (prefill, m = n) `gaussian` input with d = dv, for the stand-alone speed benchmarks. */
export function gaussianPrefill(n: number, d: number, seed = 0): AttentionInput {
  return gaussian.generate({ mode: 'prefill', n, m: n, d, causal: false, seed }, {});
}
