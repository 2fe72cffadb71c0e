/**
 * `npy`: user-supplied Q/K/V (e.g. captured from one head of a real model) instead of synthetic data.
 * Files are read once, when the workload is created, so a bad path or shape fails before anything runs.
 *
 * Lengths: the file's n, or prefixes K[0:n'], V[0:n'] for n' ≤ n — the context as it was at position n'.
 * Queries: when Q has as many rows as K (a self-attention capture) the queries are the positions ending at
 * n' − 1 (the last m in decode, all n' in prefill), so the bottom-right causal mask matches the real positions;
 * when Q has fewer rows (a decode capture) decode uses its last min(m, rows) rows and prefill is refused.
 */
import { QattnError } from '../../core/errors.ts';
import { loadAttendTensors, type TensorPaths } from '../../io/attention-tensors.ts';
import { firstNonFinite } from '../../attention/validate.ts';
import type { Workload, WorkloadRequest } from './types.ts';

export type NpyPaths = TensorPaths;

export function npyWorkload(paths: NpyPaths): Workload {
  const t = loadAttendTensors(paths);
  // Every cell would reject a NaN/Inf, so the run is refused here, before it starts (not 1 error record per cell).
  for (const [name, a] of [['q', t.q], ['k', t.k], ['v', t.v]] as const) {
    const i = firstNonFinite(a);
    if (i >= 0) throw new QattnError(`npy workload: ${paths[name]} contains ${a[i]} at flat index ${i} (attention inputs must be finite)`);
  }
  const { d, dv, heads } = t;
  const qRows = t.m, n = t.n;
  const selfAttention = qRows === n;
  /** Which rows of Q the request uses (see the module comment). */
  const queryRows = (req: WorkloadRequest): { first: number; m: number } => {
    if (req.mode === 'prefill') {
      if (!selfAttention) throw new QattnError(`npy workload: prefill needs Q with as many rows as K (${n}), got ${qRows}`);
      return { first: 0, m: req.n };
    }
    const m = Math.min(req.m, selfAttention ? req.n : qRows);
    return { first: (selfAttention ? req.n : qRows) - m, m };
  };
  return {
    name: 'npy',
    summary: `Q/K/V from ${paths.q}, ${paths.k}, ${paths.v} (n=${n}, d=${d}, ${heads} head${heads > 1 ? 's' : ''})`,
    params: [{ name: 'head', integer: true, default: 0, min: 0, max: Math.max(0, heads - 1), description: 'which head of a multi-head file' }],
    maxN: n,
    fixedD: d,
    shape: (req) => ({ m: queryRows(req).m, d, dv }),
    generate(req, params) {
      const h = params['head'] ?? 0;
      const len = req.n;
      if (len > n) throw new QattnError(`npy workload: the files hold n=${n} keys, cannot take a prefix of ${len}`);
      const { first, m } = queryRows(req);
      const qOff = h * qRows * d, kOff = h * n * d, vOff = h * n * dv;
      return {
        q: t.q.slice(qOff + first * d, qOff + (first + m) * d),
        k: t.k.slice(kOff, kOff + len * d),
        v: t.v.slice(vOff, vOff + len * dv),
        m, n: len, d, dv, causal: req.causal,
      };
    },
  };
}
