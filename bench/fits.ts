/**
 * Scaling fits: for each (method, workload, mode) and metric — median query time (`time`), median prepare time
 * (`prepareTime`) and every per-query cost count — a least-squares line through (log n, log metric), whose slope
 * is the empirical scaling exponent (time ∝ n^exponent), with a 95 % confidence interval from Student's t with
 * points − 2 degrees of freedom.
 *
 * Only n ≥ fitMinN (default 2^12) enters a fit when at least three such lengths exist: below that, fixed costs
 * (call overhead, session setup, allocation) dominate and flatten the curve. With fewer, the fit falls back to
 * every length and records the range it used (nMin, nMax, points), so a reader can judge it.
 */
import type { BenchRecord, FitEntry, FitMetric, OkRecord } from './results.ts';
import { studentTQuantile } from './stats.ts';

export const FIT_METRICS: readonly FitMetric[] = ['time', 'prepareTime', 'scoreEvaluations', 'oracleQueries', 'groverIterations', 'samples', 'selectedPerQuery'];
export const DEFAULT_FIT_MIN_N = 2 ** 12;

export interface LineFit {
  readonly slope: number;
  readonly intercept: number;
  /** Half-width of the 95 % CI of the slope. */
  readonly halfWidth: number;
  readonly r2: number | null;
}

/** Ordinary least squares y = a + b·x with the slope's 95 % CI; needs ≥ 3 points with distinct x. */
export function fitLine(xs: readonly number[], ys: readonly number[]): LineFit | null {
  const p = xs.length;
  if (p < 3 || ys.length !== p) return null;
  const mx = xs.reduce((s, x) => s + x, 0) / p;
  const my = ys.reduce((s, y) => s + y, 0) / p;
  let sxx = 0, sxy = 0, syy = 0;
  for (let i = 0; i < p; i++) {
    const dx = xs[i]! - mx, dy = ys[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  // Residuals summed directly: syy − slope·sxy cancels catastrophically for near-exact power laws.
  let ssr = 0;
  for (let i = 0; i < p; i++) ssr += (ys[i]! - intercept - slope * xs[i]!) ** 2;
  const se = Math.sqrt(ssr / (p - 2) / sxx);
  return { slope, intercept, halfWidth: studentTQuantile(0.975, p - 2) * se, r2: syy === 0 ? null : 1 - ssr / syy };
}

/** The metric's value in a record (null when not applicable or not positive, so log is undefined). */
export function metricValue(r: OkRecord, metric: FitMetric): number | null {
  const x = metric === 'time' ? r.timing.medianMs : metric === 'prepareTime' ? r.prepare?.timing.medianMs ?? null : r.cost[metric];
  return x !== null && x > 0 && Number.isFinite(x) ? x : null;
}

function fitGroup(group: readonly OkRecord[], metric: FitMetric, fitMinN: number): FitEntry | null {
  const pts = group.flatMap((r) => {
    const y = metricValue(r, metric);
    return y === null ? [] : [{ n: r.n, y }];
  });
  if (pts.length < group.length) return null; // a metric that is n/a (or zero) at some lengths has no power law
  const large = pts.filter((q) => q.n >= fitMinN);
  const used = large.length >= 3 ? large : pts;
  const line = fitLine(used.map((q) => Math.log(q.n)), used.map((q) => Math.log(q.y)));
  if (!line) return null;
  const first = group[0]!;
  return {
    method: first.method, variant: first.variant, workload: first.workload, mode: first.mode, metric,
    exponent: line.slope, intercept: line.intercept,
    ci95: [line.slope - line.halfWidth, line.slope + line.halfWidth], r2: line.r2,
    nMin: Math.min(...used.map((q) => q.n)), nMax: Math.max(...used.map((q) => q.n)), points: used.length,
  };
}

/** Fits for every (variant, workload, mode) group of ok records and every metric with a power law to fit. */
export function computeFits(records: readonly BenchRecord[], fitMinN = DEFAULT_FIT_MIN_N): FitEntry[] {
  const groups = new Map<string, OkRecord[]>();
  for (const r of records) {
    if (r.status !== 'ok') continue;
    const key = JSON.stringify([r.variant, r.workload, r.mode]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const fits: FitEntry[] = [];
  for (const group of groups.values()) {
    const sorted = [...group].sort((a, b) => a.n - b.n);
    for (const metric of FIT_METRICS) {
      const f = fitGroup(sorted, metric, fitMinN);
      if (f) fits.push(f);
    }
  }
  return fits;
}
