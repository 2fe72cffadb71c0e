/**
 * performer beside its paper's error bound (issue 14, item 3): Choromanski et al., "Rethinking Attention with
 * Performers" (arXiv 2009.14794), Lemma 2 — the positive random-feature estimate of the softmax kernel
 * K(x, y) = exp(x·y) from r i.i.d. Gaussian features has
 *     MSE = (1/r)·exp(‖x + y‖²)·K(x, y)²·(1 − exp(−‖x + y‖²)),
 * and Theorem 2 — orthogonal features (what qattn's performer draws) only lower it. Checked on qattn's own
 * feature matrices: unbiased, MSE ∝ 1/r, at or below the Lemma 2 curve, and the i.i.d. case on the curve.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, type Rng } from '../core/rng.ts';
import { orthogonalFeatures } from '../attention/mechanisms/performer.ts';

const D = 16;

/** The positive-feature estimate of exp(x·y) with feature rows w (r×d): mean over f of exp(w_f·x − ‖x‖²/2)·exp(w_f·y − ‖y‖²/2). */
function estimate(w: Float64Array, r: number, x: Float64Array, y: Float64Array): number {
  const nx = x.reduce((s, v) => s + v * v, 0) / 2, ny = y.reduce((s, v) => s + v * v, 0) / 2;
  let s = 0;
  for (let f = 0; f < r; f++) {
    let a = 0, b = 0;
    for (let c = 0; c < D; c++) {
      a += w[f * D + c]! * x[c]!;
      b += w[f * D + c]! * y[c]!;
    }
    s += Math.exp(a - nx) * Math.exp(b - ny);
  }
  return s / r;
}

function iidFeatures(rng: Rng, r: number): Float64Array {
  return Float64Array.from({ length: r * D }, () => rng.normal());
}

/** Lemma 2's MSE for r i.i.d. positive features. */
function lemma2(x: Float64Array, y: Float64Array, r: number): number {
  const k = Math.exp(x.reduce((s, v, c) => s + v * y[c]!, 0));
  const sum2 = x.reduce((s, v, c) => s + (v + y[c]!) ** 2, 0);
  return (Math.exp(sum2) * k * k * (1 - Math.exp(-sum2))) / r;
}

function empirical(features: (rng: Rng, r: number) => Float64Array, r: number, x: Float64Array, y: Float64Array, draws: number): { bias: number; mse: number; se: number } {
  const truth = Math.exp(x.reduce((s, v, c) => s + v * y[c]!, 0));
  const errs: number[] = [];
  for (let t = 0; t < draws; t++) errs.push(estimate(features(createRng(1000 + t), r), r, x, y) - truth);
  const mean = errs.reduce((s, e) => s + e, 0) / draws;
  const sq = errs.map((e) => e * e), mse = sq.reduce((s, e) => s + e, 0) / draws;
  const sd = Math.sqrt(sq.reduce((s, e) => s + (e - mse) ** 2, 0) / (draws - 1));
  return { bias: mean, mse, se: sd / Math.sqrt(draws) };
}

test('FAVOR+ features against Lemma 2 (Choromanski et al. 2020): i.i.d. on the curve, qattn\'s orthogonal ones unbiased and below it, MSE ∝ 1/r', (t) => {
  const rng = createRng(7);
  const unit = (len: number): Float64Array => {
    const v = Float64Array.from({ length: D }, () => rng.normal());
    const n = Math.hypot(...v);
    return v.map((a) => (a / n) * len);
  };
  const x = unit(0.8), y = unit(0.8);
  const draws = 1500;
  const rows: string[] = [];
  for (const r of [16, 64, 256]) {
    const bound = lemma2(x, y, r);
    const iid = empirical(iidFeatures, r, x, y, draws);
    const orf = empirical((g, rr) => orthogonalFeatures(g, rr, D), r, x, y, draws);
    rows.push(`r=${r}: Lemma 2 ${bound.toExponential(3)}, iid ${iid.mse.toExponential(3)}, orthogonal ${orf.mse.toExponential(3)}`);
    // The i.i.d. estimator reproduces the paper's formula within 5 standard errors.
    assert.ok(Math.abs(iid.mse - bound) <= 5 * iid.se, `iid r=${r}: ${iid.mse} vs Lemma 2 ${bound} (se ${iid.se})`);
    // qattn's orthogonal features: unbiased (Lemma 1) and no worse than the i.i.d. bound (Theorem 2).
    assert.ok(Math.abs(orf.bias) <= 5 * Math.sqrt(orf.mse / draws), `orthogonal r=${r}: bias ${orf.bias}`);
    assert.ok(orf.mse <= bound + 5 * orf.se, `orthogonal r=${r}: ${orf.mse} above Lemma 2's ${bound}`);
    // 1/r: r·MSE stays within a factor 2 of Lemma 2's r·MSE.
    assert.ok(orf.mse * r > 0.1 * bound * r && orf.mse * r < 2 * bound * r, `orthogonal r=${r}: r·MSE ${orf.mse * r}`);
  }
  t.diagnostic(rows.join('; '));
});
