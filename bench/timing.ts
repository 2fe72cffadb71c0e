/**
 * Wall-clock timing of one benchmark cell, in two phases: prepare (the once-per-cache work) and query (one
 * attend call on the prepared cache, all m queries). Every duration is the one attention/run.ts measures around
 * the mechanism call alone (prepareAttention / attendPrepared), so validation and refusal checks never count.
 *
 * Query phase: the first call is the warm-up — it JIT-compiles the mechanism's per-query code, and its output
 * is the one scored for fidelity and cost, so a cell never pays for an extra untimed run. Its duration sizes the
 * timed phase: calls until `budgetMs` is spent and at least `minSamples` were made (at most `maxSamples`), or a
 * single timed call when the warm-up already exceeded `singleSampleAboveMs`, or none — the warm-up being the
 * sample — past `warmupOnlyAboveMs`: small cells take many samples and large ones few.
 *
 * Prepare phase: the first prepare is the one whose state the queries use. When it took at most
 * `singleSampleAboveMs`, prepare is repeated the same way (each extra state dropped at once) and the statistics
 * are over the repeats; otherwise — and at large n (`large`), where one prepare can take seconds and hold
 * gigabytes — that first prepare is the one sample.
 *
 * Statistics: median and p99 (linear interpolation between order statistics, Hyndman & Fan type 7, as numpy's
 * default percentile), and rme, the 95 % relative margin of error of the mean (Student t) in percent.
 */
import { studentTQuantile } from './stats.ts';

export interface PhasePlan {
  /** Time budget of the repeated calls, ms. */
  readonly budgetMs: number;
  /** Minimum repeated calls when a call is fast enough. */
  readonly minSamples: number;
  /** Maximum repeated calls (null: no cap besides the budget). */
  readonly maxSamples: number | null;
  /** Above this first-call duration (ms) the phase is not repeated (query: one timed call; prepare: none). */
  readonly singleSampleAboveMs: number;
  /**
   * Query phase: above this warm-up duration (ms) no timed call is made and the warm-up is the one sample — at
   * a second or more per call, JIT compilation and first-run set-up are below a percent of it. Absent (plans
   * recorded before it existed): never.
   */
  readonly warmupOnlyAboveMs?: number;
}

export interface PhasePlans {
  readonly query: PhasePlan;
  readonly prepare: PhasePlan;
}

export interface TimingPlan extends PhasePlans {
  /**
   * From n = fromN on, these plans replace `query` and `prepare`: fewer samples where one call takes long and one
   * input takes gigabytes, so the large lengths of a sweep do not take most of its time. Null: one plan for all n.
   */
  readonly large: (PhasePlans & { readonly fromN: number }) | null;
}

/** The phase plans for a cell with n keys. */
export function plansAt(plan: TimingPlan, n: number): PhasePlans {
  return plan.large && n >= plan.large.fromN ? plan.large : plan;
}

/**
 * The default run (gaussian and needle, 2^8…2^20, every mechanism, under two minutes on two cores): a 30 ms
 * query budget gives small cells tens to hundreds of samples for a stable median; past 200 ms per call one timed
 * call after the warm-up, past 1 s the warm-up alone. Prepare is repeated only while it is quick (≤ 20 ms),
 * within 20 ms. From 2^17 on, where one call of the slower mechanisms takes a second, one timed attend after
 * the warm-up and one prepare.
 */
export const DEFAULT_PLAN: TimingPlan = {
  query: { budgetMs: 30, minSamples: 3, maxSamples: 300, singleSampleAboveMs: 200, warmupOnlyAboveMs: 1000 },
  prepare: { budgetMs: 20, minSamples: 1, maxSamples: 10, singleSampleAboveMs: 20, warmupOnlyAboveMs: 0 },
  large: {
    fromN: 2 ** 17,
    query: { budgetMs: 0, minSamples: 1, maxSamples: 1, singleSampleAboveMs: 200, warmupOnlyAboveMs: 1000 },
    prepare: { budgetMs: 0, minSamples: 0, maxSamples: 0, singleSampleAboveMs: 0, warmupOnlyAboveMs: 0 },
  },
};
/** `--quick`: enough samples for a stable median of small cells, not for publication. */
export const QUICK_PLAN: TimingPlan = {
  query: { budgetMs: 15, minSamples: 3, maxSamples: 200, singleSampleAboveMs: 250, warmupOnlyAboveMs: 1000 },
  prepare: { budgetMs: 5, minSamples: 1, maxSamples: 5, singleSampleAboveMs: 20, warmupOnlyAboveMs: 0 },
  large: null,
};

export interface TimingStats {
  /** @minimum 0 */
  readonly medianMs: number;
  /** @minimum 0 */
  readonly p99Ms: number;
  /** Relative margin of error of the mean, percent (null with one sample). */
  readonly rme: number | null;
  /**
   * Timed calls the statistics are over.
   * @asType integer
   * @minimum 1
   */
  readonly samples: number;
  /**
   * Duration of the first call: the query warm-up (not part of the statistics unless it is their one sample,
   * past `warmupOnlyAboveMs`), or the first prepare (the one sample of a prepare that is not repeated).
   */
  readonly warmupMs: number;
}

/** The q-quantile (0 ≤ q ≤ 1) of ascending `sorted`, linear between order statistics (type 7). */
export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) throw new Error('internal: quantile of no samples');
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h), hi = Math.ceil(h);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Median, p99 and rme of `samples` (ms); `warmupMs` is recorded beside them. */
export function summarize(samples: readonly number[], warmupMs: number): TimingStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const p = sorted.length;
  let rme: number | null = null;
  if (p > 1) {
    const mean = sorted.reduce((s, x) => s + x, 0) / p;
    const sd = Math.sqrt(sorted.reduce((s, x) => s + (x - mean) ** 2, 0) / (p - 1));
    rme = mean > 0 ? (studentTQuantile(0.975, p - 1) * sd / Math.sqrt(p) / mean) * 100 : null;
  }
  return { medianMs: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), rme, samples: p, warmupMs };
}

/** Whether a phase makes another call, given what it has made. */
function more(plan: PhasePlan, count: number, elapsedMs: number): boolean {
  if (plan.maxSamples !== null && count >= plan.maxSamples) return false;
  return count < plan.minSamples || elapsedMs < plan.budgetMs;
}

/**
 * Repeats `call` (which returns the duration it measured, ms) per the plan after a first call that took
 * `firstMs`. The query phase (`atLeastOne`) makes at least one timed call — one past the warm-up when the first
 * exceeded `singleSampleAboveMs` — unless the warm-up exceeded `warmupOnlyAboveMs` ([]: the warm-up is the
 * sample); the prepare phase makes none past `singleSampleAboveMs` (its first prepare is its sample).
 */
export async function repeatTimed(call: () => Promise<number>, plan: PhasePlan, firstMs: number, atLeastOne: boolean): Promise<number[]> {
  if (atLeastOne && firstMs > (plan.warmupOnlyAboveMs ?? Infinity)) return [];
  if (firstMs > plan.singleSampleAboveMs) return atLeastOne ? [await call()] : [];
  if (atLeastOne && plan.minSamples < 1) plan = { ...plan, minSamples: 1 };
  const samples: number[] = [];
  const t0 = performance.now();
  while (more(plan, samples.length, performance.now() - t0)) samples.push(await call());
  return samples;
}
