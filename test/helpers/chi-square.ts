/**
 * Chi-square tests for the seeded statistical checks of the simulators (test/oracles-analytic-statistics.test.ts,
 * test/grover-topk.test.ts): goodness of fit to an exact distribution, and two-sample homogeneity.
 */

/** Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const tail = (q: number): number => (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5, r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** Upper-α critical value of χ² with df degrees of freedom (Wilson–Hilferty; within 1% for df ≥ 3). */
export function chiSquareCritical(df: number, alpha: number): number {
  const z = normalQuantile(1 - alpha), h = 2 / (9 * df);
  return df * (1 - h + z * Math.sqrt(h)) ** 3;
}

export interface Chi {
  readonly stat: number;
  readonly df: number;
  readonly critical: number;
}

export const SIGNIFICANCE = 1e-4;

/** Pearson goodness of fit of counts to expected counts, neighbouring bins pooled until each expects ≥ 5. */
export function goodnessOfFit(observed: ArrayLike<number>, expected: ArrayLike<number>): Chi {
  let stat = 0, bins = 0, o = 0, e = 0;
  for (let i = 0; i < observed.length; i++) {
    o += observed[i]!;
    e += expected[i]!;
    if (e >= 5) {
      stat += (o - e) ** 2 / e;
      bins++;
      o = e = 0;
    }
  }
  if (e > 0) stat += (o - e) ** 2 / Math.max(e, 1e-300); // the small remainder: any mismatch there shows
  const df = Math.max(1, bins - 1);
  return { stat, df, critical: chiSquareCritical(df, SIGNIFICANCE) };
}

/**
 * Two-sample chi-square test of homogeneity for two samples of integer outcomes, with bins at the pooled
 * sample's deciles (ties kept whole), each bin expecting ≥ 5 per sample.
 */
export function twoSample(a: readonly number[], b: readonly number[]): Chi {
  const pooled = [...a, ...b].sort((x, y) => x - y);
  const edges: number[] = [];
  for (let q = 1; q < 10; q++) {
    const v = pooled[Math.floor((q * pooled.length) / 10)]!;
    if (edges.length === 0 || v > edges[edges.length - 1]!) edges.push(v);
  }
  const bin = (x: number): number => {
    let i = 0;
    while (i < edges.length && x >= edges[i]!) i++;
    return i;
  };
  const ca = new Array<number>(edges.length + 1).fill(0), cb = ca.slice();
  for (const x of a) ca[bin(x)]!++;
  for (const x of b) cb[bin(x)]!++;
  const ka = Math.sqrt(b.length / a.length), kb = Math.sqrt(a.length / b.length);
  let stat = 0, bins = 0, oa = 0, ob = 0;
  for (let i = 0; i < ca.length; i++) {
    oa += ca[i]!;
    ob += cb[i]!;
    if (oa + ob >= 10 || i === ca.length - 1) {
      if (oa + ob > 0) {
        stat += (ka * oa - kb * ob) ** 2 / (oa + ob);
        bins++;
      }
      oa = ob = 0;
    }
  }
  const df = Math.max(1, bins - 1);
  return { stat, df, critical: chiSquareCritical(df, SIGNIFICANCE) };
}

export const passes = (c: Chi): boolean => c.stat < c.critical;
export const show = (c: Chi): string => `χ² = ${c.stat.toFixed(1)}, df ${c.df}, critical ${c.critical.toFixed(1)} at α = ${SIGNIFICANCE}`;

