import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceWeights } from '../attention/kernels/reference.ts';
import { validateInput } from '../attention/validate.ts';
import { getWorkload, resolveWorkloadParams, workloadNames } from '../bench/workloads/index.ts';
import type { WorkloadRequest } from '../bench/workloads/types.ts';
import { QattnError } from '../core/errors.ts';
import { createRng, normalArray } from '../core/rng.ts';
import { normalFloat32 } from '../bench/workloads/normal.ts';
import { writeNpy } from '../io/npy.ts';

const SYNTHETIC = ['gaussian', 'needle', 'zipf', 'clustered'];
const req = (over: Partial<WorkloadRequest> = {}): WorkloadRequest => ({ mode: 'decode', n: 512, m: 8, d: 16, causal: false, seed: 1, ...over });

test('the registry lists every workload and rejects unknown names and parameters', () => {
  assert.deepEqual(workloadNames, ['gaussian', 'needle', 'zipf', 'clustered', 'single-key', 'multi-key', 'multi-value', 'aggregation', 'npy']);
  assert.throws(() => getWorkload('uniform'), (e: unknown) => e instanceof QattnError && /valid: gaussian/.test(e.message));
  assert.throws(() => getWorkload('npy'), QattnError);
  const zipf = getWorkload('zipf');
  assert.deepEqual(resolveWorkloadParams(zipf, { alpha: '1.5' }), { alpha: 1.5, jitter: 0.5 });
  assert.throws(() => resolveWorkloadParams(zipf, { beta: '1' }), /unknown parameter 'beta'/);
  assert.throws(() => resolveWorkloadParams(zipf, { alpha: '9' }), /must be in \[0, 4\]/);
  assert.throws(() => resolveWorkloadParams(getWorkload('needle'), { needles: '2.5' }), /integer/);
});

test('synthetic workloads are deterministic per seed, valid and shaped as declared', () => {
  for (const name of SYNTHETIC) {
    const w = getWorkload(name);
    const params = resolveWorkloadParams(w);
    for (const r of [req(), req({ mode: 'prefill', n: 64, causal: true })]) {
      const a = w.generate(r, params), b = w.generate(r, params);
      validateInput(a);
      assert.deepEqual(a, b, `${name} ${r.mode}: same seed, same Q/K/V`);
      assert.deepEqual({ m: a.m, d: a.d, dv: a.dv }, w.shape(r));
      const c = w.generate({ ...r, seed: 2 }, params);
      assert.notDeepEqual(c.k, a.k, `${name}: another seed gives other keys`);
    }
  }
});

/** Mean exact weight by rank (sorted descending), over the queries. */
function sortedWeights(name: string, r: WorkloadRequest, params: Record<string, string> = {}): { rows: number[][]; mean: Float64Array } {
  const w = getWorkload(name);
  const input = w.generate(r, resolveWorkloadParams(w, params));
  const rows = Array.from({ length: input.m }, (_, i) => Array.from(referenceWeights(input, i)).sort((x, y) => y - x));
  const mean = new Float64Array(input.n);
  for (const row of rows) row.forEach((x, j) => (mean[j]! += x / rows.length));
  return { rows, mean };
}

test('needle: 4 keys carry > 99 % of every query’s softmax mass, in decode and prefill', () => {
  for (const r of [req({ n: 4096, d: 64, m: 16 }), req({ mode: 'prefill', n: 256, d: 64 })]) {
    for (const row of sortedWeights('needle', r).rows) {
      assert.ok(row.slice(0, 4).reduce((s, x) => s + x, 0) > 0.99);
    }
  }
  // and gaussian is diffuse: the top 4 of 4096 keys hold a small fraction
  const diffuse = sortedWeights('gaussian', req({ n: 4096, d: 64 })).mean;
  assert.ok(diffuse.slice(0, 4).reduce((s, x) => s + x, 0) < 0.1);
});

test('zipf: mean weight by rank follows r^-alpha', () => {
  for (const alpha of [0.8, 1.5]) {
    const { mean } = sortedWeights('zipf', req({ n: 4096, d: 32 }), { alpha: String(alpha) });
    const xs: number[] = [], ys: number[] = [];
    for (let r = 8; r <= 400; r = Math.ceil(r * 1.25)) {
      xs.push(Math.log(r));
      ys.push(Math.log(mean[r - 1]!));
    }
    const mx = xs.reduce((s, x) => s + x) / xs.length, my = ys.reduce((s, y) => s + y) / ys.length;
    const slope = xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
    assert.ok(Math.abs(slope + alpha) < 0.15, `alpha=${alpha}: slope ${slope}`);
  }
});

test('clustered: most of a query’s mass is on about n/C keys (its cluster)', () => {
  const n = 2048, C = 16;
  // Cluster sizes are multinomial and a query's noise varies, so one query may keep less; on average > 95 %.
  const tops = sortedWeights('clustered', req({ n, d: 64, m: 8 }), { clusters: String(C) }).rows.map((row) => {
    assert.ok(row[0]! < 0.2, 'but not a needle');
    return row.slice(0, (2 * n) / C).reduce((s, x) => s + x, 0);
  });
  assert.ok(Math.min(...tops) > 0.8, `top 2n/C mass ${tops.join(', ')}`);
  assert.ok(tops.reduce((s, x) => s + x, 0) / tops.length > 0.95, `mean top 2n/C mass ${tops.join(', ')}`);
});

test('npy workload: prefixes of the files, queries aligned with positions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qattn-bench-npy-'));
  try {
    const rng = createRng(3);
    const n = 40, d = 4;
    const arr = (rows: number) => ({ dtype: 'float32' as const, shape: [rows, d], data: normalArray(rng, rows * d) });
    const files = { q: join(dir, 'q.npy'), k: join(dir, 'k.npy'), v: join(dir, 'v.npy') };
    const q = arr(n), k = arr(n), v = arr(n);
    writeNpy(files.q, q); writeNpy(files.k, k); writeNpy(files.v, v);
    const w = getWorkload('npy', { npy: files });
    assert.equal(w.maxN, n);
    const params = resolveWorkloadParams(w);
    const dec = w.generate(req({ n: 32, m: 3, d: 99 }), params);
    assert.deepEqual([dec.m, dec.n, dec.d], [3, 32, d]);
    assert.deepEqual(dec.q, q.data.slice(29 * d, 32 * d), 'decode queries are the positions ending at n − 1');
    assert.deepEqual(dec.k, k.data.slice(0, 32 * d));
    const pre = w.generate(req({ mode: 'prefill', n: 8 }), params);
    assert.deepEqual([pre.m, pre.n], [8, 8]);
    assert.throws(() => w.generate(req({ n: 41 }), params), /n=40 keys/);
    writeNpy(files.q, arr(5));
    const decodeCapture = getWorkload('npy', { npy: files });
    assert.equal(decodeCapture.generate(req({ n: 40, m: 16 }), params).m, 5);
    assert.throws(() => decodeCapture.shape(req({ mode: 'prefill', n: 40 })), /prefill needs Q with as many rows as K/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the ziggurat fill is N(0, sd²): moments, tails and quantiles, reproducible from the stream', () => {
  const len = 2 ** 20;
  const x = normalFloat32(createRng(5), len);
  assert.deepEqual(normalFloat32(createRng(5), 1000), x.subarray(0, 1000), 'same stream, same values');
  assert.notDeepEqual(normalFloat32(createRng(6), 1000), x.subarray(0, 1000));
  let s1 = 0, s2 = 0, s4 = 0, beyondR = 0, below = 0;
  for (const v of x) {
    s1 += v; s2 += v * v; s4 += v ** 4;
    if (Math.abs(v) > 3.442619855899) beyondR++; // the tail, sampled by Marsaglia's method
    if (v < -1) below++;
  }
  // Standard errors at 2^20 draws: mean 0.001, variance 0.0014, kurtosis ~0.01; P(|x| > 3.44) = 5.76e-4 (±2.3e-5).
  assert.ok(Math.abs(s1 / len) < 0.005, `mean ${s1 / len}`);
  assert.ok(Math.abs(s2 / len - 1) < 0.007, `variance ${s2 / len}`);
  assert.ok(Math.abs(s4 / len - 3) < 0.06, `fourth moment ${s4 / len}`);
  assert.ok(Math.abs(beyondR / len - 5.763e-4) < 1.2e-4, `tail mass ${beyondR / len}`);
  assert.ok(Math.abs(below / len - 0.158655) < 0.0018, `P(x < -1) = ${below / len}`);
  const scaled = normalFloat32(createRng(5), 1000, 0.5);
  assert.ok(scaled.every((v, i) => v === Math.fround(x[i]! * 0.5)), 'sd scales the same draws');
});
