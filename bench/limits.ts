/**
 * What a cell would cost before it runs: its prepare time, one attend's time and its memory footprint (peak RSS
 * during the cell above RSS at its start) predicted from the same mechanism, options and workload at smaller n
 * — measured cells of this run, or calibration runs (runner.ts) when the run starts at a large n. A cell whose
 * prediction exceeds the time budget or the memory limit is skipped with the figures in its reason, instead of
 * hanging for hours or dying of an out-of-memory kill with nothing written.
 *
 * Extrapolation is linear in n, y = a + b·n through the two largest measured lengths (b ≥ 0, a ≥ 0; one length:
 * proportional). Linear is the least any of these mechanisms' prepare or per-query work grows (HNSW builds
 * grow as n log n), so the prediction errs towards running a cell; a cell that then exceeds the budget is
 * stopped after that phase and recorded as skipped with what it measured.
 */
import { formatMs, formatN } from './format.ts';
import { formatBytes } from './memory.ts';
import type { CellIdentity } from './results.ts';

export interface Measured {
  readonly n: number;
  readonly prepareMs: number | null;
  readonly attendMs: number | null;
  readonly footprintBytes: number | null;
}

export interface Prediction {
  readonly prepareMs: number | null;
  readonly attendMs: number | null;
  readonly footprintBytes: number | null;
  /** "n=2^18, 2^20": the lengths it was extrapolated from (with ", calibration" when not cells of this run). */
  readonly basis: string;
}

/** A cell's identity without n: the line along which predictions extrapolate. */
export function seriesKey(c: CellIdentity): string {
  return JSON.stringify([c.workload, c.workloadOptions, c.mode, c.causal, c.m, c.d, c.dv, c.variant, c.seed]);
}

/** y at n on the line through the two largest points (or proportional to the one point), never below 0. */
export function extrapolate(points: ReadonlyArray<{ n: number; y: number }>, n: number): number | null {
  const ps = [...points].filter((p) => Number.isFinite(p.y) && p.y >= 0).sort((a, b) => a.n - b.n);
  const hi = ps.at(-1);
  if (!hi) return null;
  const lo = ps.length > 1 ? ps.at(-2)! : null;
  if (!lo || lo.n === hi.n) return (hi.y * n) / hi.n;
  const b = Math.max(0, (hi.y - lo.y) / (hi.n - lo.n));
  const a = Math.max(0, hi.y - b * hi.n);
  return a + b * n;
}

export class CellHistory {
  readonly #series = new Map<string, Array<Measured & { calibration: boolean }>>();

  add(series: string, m: Measured, calibration = false): void {
    const list = this.#series.get(series) ?? [];
    list.push({ ...m, calibration });
    this.#series.set(series, list);
  }

  /** True when this series has a measurement below n. */
  has(series: string, n: number): boolean {
    return (this.#series.get(series) ?? []).some((m) => m.n < n);
  }

  predict(series: string, n: number): Prediction | null {
    const below = (this.#series.get(series) ?? []).filter((m) => m.n < n);
    if (!below.length) return null;
    const field = (get: (m: Measured) => number | null): number | null =>
      extrapolate(below.flatMap((m) => { const y = get(m); return y === null ? [] : [{ n: m.n, y }]; }), n);
    const used = [...new Set(below.map((m) => m.n))].sort((a, b) => a - b).slice(-2);
    const calib = below.some((m) => m.calibration && used.includes(m.n));
    return {
      prepareMs: field((m) => m.prepareMs), attendMs: field((m) => m.attendMs), footprintBytes: field((m) => m.footprintBytes),
      basis: `n=${used.map(formatN).join(', ')}${calib ? ', calibration' : ''}`,
    };
  }
}

export interface Limits {
  /** Per-phase time budget (prepare; one attend) up to BUDGET_SCALES_FROM keys, ms; it grows with n above. */
  readonly budgetMs: number;
  /**
   * A separate budget for prepare, ms, the same at every n (--prepare-budget-s), or absent: prepare then has
   * budgetMs like an attend. For runs that measure long index builds without letting them run at every n.
   */
  readonly prepareBudgetMs?: number | undefined;
  /** Memory limit for the process's RSS, bytes. */
  readonly memoryLimitBytes: number;
}

/**
 * Above this n the budget grows in proportion to n: a prepare or attend that is linear in n at the same speed per
 * key stays within it at every length (with the default 5 s: 80 s at 2^24), while the default run, which stops
 * at 2^20, keeps one fixed budget.
 */
export const BUDGET_SCALES_FROM = 2 ** 20;

export type BudgetPhase = 'prepare' | 'query';

/** The time budget of a phase for a cell with n keys, ms. */
export function budgetAt(limits: Limits, n: number, phase: BudgetPhase = 'query'): number {
  if (phase === 'prepare' && limits.prepareBudgetMs !== undefined) return limits.prepareBudgetMs;
  return limits.budgetMs * Math.max(1, n / BUDGET_SCALES_FROM);
}

/** "the 10.0s per-phase time budget at n=2^22 (--budget-s)", or "the 20.0m prepare time budget (--prepare-budget-s)". */
export function budgetText(limits: Limits, n: number, phase: BudgetPhase = 'query'): string {
  if (phase === 'prepare' && limits.prepareBudgetMs !== undefined) return `the ${formatMs(limits.prepareBudgetMs)} prepare time budget (--prepare-budget-s)`;
  return `the ${formatMs(budgetAt(limits, n))} per-phase time budget${n > BUDGET_SCALES_FROM ? ` at n=${formatN(n)}` : ''} (--budget-s)`;
}

/**
 * Why a cell with n keys should not start (over budget or memory), or null. `rssNow`: RSS with its input and
 * reference held.
 */
export function predictedSkip(p: Prediction | null, limits: Limits, rssNow: number, n: number): string | null {
  if (!p) return null;
  const budgetMs = budgetAt(limits, n);
  const budget = budgetText(limits, n);
  if (p.prepareMs !== null && p.prepareMs > budgetAt(limits, n, 'prepare')) {
    return `prepare would take about ${formatMs(p.prepareMs)} (extrapolated linearly from ${p.basis}), over ${budgetText(limits, n, 'prepare')}`;
  }
  if (p.attendMs !== null && p.attendMs > budgetMs) {
    return `one attend would take about ${formatMs(p.attendMs)} (extrapolated linearly from ${p.basis}), over ${budget}`;
  }
  if (p.footprintBytes !== null && rssNow + p.footprintBytes > limits.memoryLimitBytes) {
    return `it would need about ${formatBytes(p.footprintBytes)} beyond the ${formatBytes(rssNow)} already resident (extrapolated linearly from ${p.basis}), ` +
      `over the ${formatBytes(limits.memoryLimitBytes)} memory limit (--max-memory-gib)`;
  }
  return null;
}
