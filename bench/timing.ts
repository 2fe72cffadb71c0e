/**
 * Wall-clock timing of one benchmark cell with tinybench.
 *
 * The cell's first call is the warm-up: it JIT-compiles the mechanism's code paths, builds any lazily created
 * session (onnxruntime), and its output is the one scored for fidelity and cost — so a cell never pays for an
 * extra untimed run. Its duration then sizes the timed phase: a fixed time budget with at least `minSamples`
 * calls (big cells run a few times, small ones thousands), or a single timed call when one call already
 * exceeds `singleSampleAboveMs`. Statistics are tinybench's: median (p50) and p99 of per-call latency, and
 * rme, the 95 % relative margin of error of the mean (Student t) in percent.
 */
import { Bench } from 'tinybench';

export interface TimingPlan {
  /** Time budget of the timed phase, ms (tinybench `time`). */
  readonly budgetMs: number;
  /** Minimum timed calls when a call is fast enough (tinybench `iterations`). */
  readonly minSamples: number;
  /** Above this warm-up duration (ms) only one timed call is made. */
  readonly singleSampleAboveMs: number;
}

export const DEFAULT_PLAN: TimingPlan = { budgetMs: 200, minSamples: 3, singleSampleAboveMs: 1000 };
/** `--quick`: enough samples for a stable median of small cells, not for publication. */
export const QUICK_PLAN: TimingPlan = { budgetMs: 15, minSamples: 3, singleSampleAboveMs: 1000 };

export interface TimingStats {
  readonly medianMs: number;
  readonly p99Ms: number;
  /** Relative margin of error of the mean, percent (null with one sample). */
  readonly rme: number | null;
  readonly samples: number;
  /** Duration of the warm-up call (not part of the statistics). */
  readonly warmupMs: number;
}

export interface Timed<T> {
  /** What the warm-up call returned. */
  readonly first: T;
  readonly stats: TimingStats;
}

/** The tinybench settings for a cell whose warm-up took `warmupMs`. */
export function benchSettings(plan: TimingPlan, warmupMs: number): { time: number; iterations: number } {
  if (warmupMs > plan.singleSampleAboveMs) return { time: 0, iterations: 1 };
  return { time: plan.budgetMs, iterations: Math.max(1, plan.minSamples) };
}

/** Times `fn` (warm-up call, then tinybench). Errors from `fn` propagate. */
export async function timeAsync<T>(fn: () => Promise<T>, plan: TimingPlan): Promise<Timed<T>> {
  const t0 = performance.now();
  const first = await fn();
  const warmupMs = performance.now() - t0;
  const bench = new Bench({ ...benchSettings(plan, warmupMs), warmup: false, throws: true });
  // `async: true` so tinybench does not call fn once more to detect whether it returns a promise.
  bench.add('cell', fn, { async: true });
  await bench.run();
  const result = bench.tasks[0]?.result;
  if (!result || !('latency' in result)) {
    throw result?.state === 'errored' ? result.error : new Error(`internal: tinybench task ended as ${result?.state ?? 'missing'}`);
  }
  const lat = result.latency;
  return {
    first,
    stats: {
      medianMs: lat.p50,
      p99Ms: lat.p99,
      rme: lat.samplesCount > 1 && Number.isFinite(lat.rme) ? lat.rme : null,
      samples: lat.samplesCount,
      warmupMs,
    },
  };
}
