/**
 * The arithmetic behind the crossover chart: when would a QPU running Grover top-k beat a classical scan?
 *
 * QPU time per query at n = calls(n) × perCall(n): calls(n) = C·n^α fitted by least squares in log–log to the
 * run's oracle calls, and perCall(n) the cost model itself at n when the caller passes it (crossover-analysis.ts
 * does: oracles/qpu-time.ts at ⌈log₂ n⌉ index qubits — QROAM's per-call depth grows as √N, which no line in
 * log n follows), else fitted as a + b·log₂ n to the modeled figures (a constant arithmetic part plus an
 * O(log N) bucket-brigade QRAM part, Giovannetti–Lloyd–Maccone PRL 100, 160501). Top-k needs Θ(√(kN)) oracle calls (Dürr, Heiligman, Høyer,
 * Mhalla, quant-ph/0401091), but at small n BBHT's fixed overheads steepen the fit (≈ 0.6 over 2^7–2^9). So α
 * is fitted over the n range of the run's own oracleQueries fit (bench/fits.ts: n ≥ fitMinN when three lengths
 * reach it) — the chart and the fits table then show one exponent — and a fitted α above ½ is capped at ½,
 * anchored at the largest measured n, so calls never outgrow the theory.
 *
 * Classical time is interpolated log–log between measured points. Beyond the largest measured n it grows ∝ n
 * (a scan over n keys is memory-bound; the H200 reference grows ×3.2 from 2^22 to 2^24 keys), and below the
 * smallest it stays flat (launch/overhead floor). These choices can only overstate classical time and the
 * capped α can only understate quantum time at unmeasured n, so a break-even n computed here is optimistic
 * for the QPU: a lower bound under the cost model.
 */
import { fitLine } from '../fits.ts';

export interface XY {
  readonly n: number;
  readonly y: number;
}

/** Classical time (any unit) at any n from measured points (see header): a function of n. */
export function scanTime(points: readonly XY[]): (n: number) => number {
  const pts = [...points].filter((p) => p.n > 0 && p.y > 0).sort((a, b) => a.n - b.n);
  if (!pts.length) return () => NaN;
  const first = pts[0]!, last = pts[pts.length - 1]!;
  return (n) => {
    if (n <= first.n) return first.y;
    if (n >= last.n) return (last.y * n) / last.n;
    let i = 1;
    while (pts[i]!.n < n) i++;
    const a = pts[i - 1]!, b = pts[i]!;
    const t = Math.log(n / a.n) / Math.log(b.n / a.n);
    return Math.exp(Math.log(a.y) + t * Math.log(b.y / a.y));
  };
}

export interface QpuPoint {
  readonly n: number;
  /** Modeled QPU seconds per query. */
  readonly seconds: number;
  /** Oracle calls per query. */
  readonly calls: number;
}

/** Oracle calls of quantum top-k grow as √(kN) (quant-ph/0401091): the exponent extrapolation may not exceed. */
export const THEORY_CALLS_EXPONENT = 0.5;

export interface QpuModel {
  /** Exponent α of calls(n) = C·n^α used beyond the data: min(fitted, THEORY_CALLS_EXPONENT). */
  readonly alpha: number;
  /** The least-squares exponent of calls over `fitRange`. */
  readonly fittedAlpha: number;
  /** The smallest and largest n the calls fit used. */
  readonly fitRange: readonly [number, number];
  callsAt(n: number): number;
  /** Modeled seconds per oracle call (diffusion and readout amortized in). */
  perCallAt(n: number): number;
  /** calls × perCall: modeled seconds per query. */
  timeAt(n: number): number;
}

/** Two-point or least-squares line y = a + b·x. */
function line(xs: readonly number[], ys: readonly number[]): { a: number; b: number } {
  const fit = fitLine(xs, ys);
  if (fit) return { a: fit.intercept, b: fit.slope };
  const b = (ys[1]! - ys[0]!) / (xs[1]! - xs[0]!);
  return { a: ys[0]! - b * xs[0]!, b };
}

/**
 * The model of one hardware profile, or null with fewer than two distinct n (nothing to fit a slope to). Calls
 * are fitted over the points within `callsRange` (every point when fewer than two distinct n fall in it);
 * per-call time over all points.
 */
export function fitQpuModel(points: readonly QpuPoint[], callsRange?: readonly [number, number], perCall?: (n: number, calls: number) => number): QpuModel | null {
  const pts = points.filter((p) => p.n > 1 && p.seconds > 0 && p.calls > 0);
  if (new Set(pts.map((p) => p.n)).size < 2) return null;
  const inRange = callsRange ? pts.filter((p) => p.n >= callsRange[0] && p.n <= callsRange[1]) : pts;
  const cp = new Set(inRange.map((p) => p.n)).size >= 2 ? inRange : pts;
  const calls = line(cp.map((p) => Math.log(p.n)), cp.map((p) => Math.log(p.calls)));
  const x2 = pts.map((p) => Math.log2(p.n));
  const per = pts.map((p) => p.seconds / p.calls);
  let pc = line(x2, per);
  // A per-call cost that shrank with n would be fit noise (the depth model only grows): hold it constant.
  if (!(pc.b >= 0)) pc = { a: per.reduce((s, y) => s + y, 0) / per.length, b: 0 };
  const last = pts.reduce((m, p) => (p.n > m.n ? p : m));
  const alpha = Math.min(calls.b, THEORY_CALLS_EXPONENT);
  const callsAt = alpha === calls.b
    ? (n: number): number => Math.exp(calls.a + calls.b * Math.log(n))
    : (n: number): number => last.calls * (n / last.n) ** alpha;
  const perCallAt = perCall
    ? (n: number): number => perCall(n, callsAt(n))
    : (n: number): number => Math.max(pc.a + pc.b * Math.log2(n), Math.min(...per));
  const fitRange = [Math.min(...cp.map((p) => p.n)), Math.max(...cp.map((p) => p.n))] as const;
  return { alpha, fittedAlpha: calls.b, fitRange, callsAt, perCallAt, timeAt: (n) => callsAt(n) * perCallAt(n) };
}

/** Largest log₂ n searched for a break-even (2^128 keys: far beyond any memory, so "never" in practice). */
export const MAX_LOG2_N = 128;

/**
 * Smallest n ≥ from with qpu(n) ≤ classical(n): a scan in steps of ¼ in log₂ n, then bisection. `from` itself
 * when the QPU is already cheaper there; null when it never is up to 2^MAX_LOG2_N.
 */
export function breakEvenN(qpu: (n: number) => number, classical: (n: number) => number, from: number): number | null {
  const gap = (l: number): number => qpu(2 ** l) - classical(2 ** l);
  let lo = Math.log2(from);
  if (!(gap(lo) > 0)) return Number.isNaN(gap(lo)) ? null : from;
  for (let l = lo + 0.25; l <= MAX_LOG2_N; l += 0.25) {
    if (gap(l) <= 0) {
      let hi = l;
      for (let i = 0; i < 50; i++) {
        const mid = (lo + hi) / 2;
        if (gap(mid) <= 0) hi = mid;
        else lo = mid;
      }
      return 2 ** hi;
    }
    lo = l;
  }
  return null;
}

/** Seconds an oracle call may take for calls(n) of them to match `classicalSeconds` at n. */
export function requiredPerCall(model: QpuModel, classical: (n: number) => number, n: number): number {
  return classical(n) / model.callsAt(n);
}

/**
 * About `points` points evenly spaced in log₂ n over [lo, hi] (inclusive), for drawing extrapolated curves:
 * smooth enough on a log axis, and the inlined spec stays small however far the domain reaches.
 */
export function logGrid(lo: number, hi: number, points = 100): number[] {
  const a = Math.log2(lo), b = Math.log2(hi);
  const step = Math.max((b - a) / points, 0.05);
  const out: number[] = [];
  for (let l = a; l < b; l += step) out.push(2 ** l);
  out.push(hi);
  return out;
}
