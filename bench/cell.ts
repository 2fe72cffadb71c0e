/**
 * One benchmark cell: a mechanism with fixed options on one generated input, reached the one way every tool
 * reaches a mechanism (attention/run.ts): asked first — by the runner, before it predicts the cell's time and
 * memory — whether it is available and can run this input (runnableReason → `skipped` with its reasons), prepared once (prepareValidated — prepareAttention without re-scanning the input
 * the runner validated once for every cell: the once-per-cache work, timed and counted on its own), then queried
 * (attendPrepared: the warm-up call's output is the one scored, then timed calls — timing.ts).
 * Anything a mechanism throws — or a NaN/Inf in its output — becomes an `error` record with the reason; a phase
 * over the time budget stops the cell as `skipped` with what it measured; the run goes on.
 */
import { thisHost } from './host.ts';
import { QattnError } from '../core/errors.ts';
import { kvOf, queryOf } from '../attention/define.ts';
import { attendPrepared, checkRunnable, prepareValidated } from '../attention/run.ts';
import type { AttentionInput, AttentionOutput, CostReport, KvInput, Mechanism, Options, PrepareCost, Prepared, QueryInput } from '../attention/types.ts';
import { formatMs } from './format.ts';
import { budgetAt, budgetText, type BudgetPhase, type Limits, type Measured } from './limits.ts';
import { maxRssBytes, rssBytes, type CellMonitor } from './memory.ts';
import { modeledQpuSeconds } from './qpu.ts';
import type { Reference } from './reference.ts';
import type { BenchRecord, CellIdentity, CellRss, CostFields, FailedRecord, PrepareCostFields, PreparePhase } from './results.ts';
import { scoreOutput } from './score.ts';
import type { WorkloadInput } from './workloads/types.ts';
import { repeatTimed, summarize, type PhasePlans } from './timing.ts';

export interface CellSpec {
  readonly identity: CellIdentity;
  readonly mech: Mechanism;
  readonly options: Options;
}

/** What a cell runs on: the (workload, n) input shared by every cell of the group, and how it is timed. */
export interface CellContext {
  /** With its task's answers on a task workload (scored as accuracy). */
  readonly input: WorkloadInput;
  /** Called (and awaited) before any timing starts, so reference work never overlaps a timed call. */
  readonly reference: () => Promise<Reference>;
  /** How this cell's prepare and query phases are sampled (timing.ts plansAt). */
  readonly plan: PhasePlans;
  /** The run's time budgets and memory limit: a prepare or a warm-up attend over its phase's budgetAt stops the cell (skipped). */
  readonly limits: Limits;
  readonly monitor: CellMonitor | null;
}

/**
 * A phase still running at this multiple of the budget is stopped by the watchdog (memory.ts CellMonitor): the
 * cell journaled as skipped, the process killed, `--resume` continuing after it. Below it, an over-budget phase
 * is let finish and the cell recorded as skipped with what it measured.
 */
export const HARD_LIMIT_FACTOR = 3;

/** The start of the reason the watchdog journals; runner.ts skips larger n of the same method after one. */
export const WATCHDOG_REASON = 'stopped by the watchdog';

export interface CellResult {
  readonly record: BenchRecord;
  /** What the cell measured for predicting larger n (limits.ts); null when it measured nothing. */
  readonly measured: Measured | null;
}

/** A one-line reason from anything thrown (user-facing errors keep their text; bugs keep their class name). */
/** Why a mechanism cannot run this input with these options (checkRunnable's one line), or null. */
export function runnableReason(mech: Mechanism, input: AttentionInput, options: Options): string | null {
  try {
    checkRunnable(mech, input, options);
    return null;
  } catch (err) {
    return reasonOf(err);
  }
}

export function reasonOf(err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const first = (e.message.split('\n')[0] ?? '').trim() || 'unknown error';
  return e instanceof QattnError || e.name === 'Error' ? first : `${e.name}: ${first}`;
}

export function failedRecord(identity: CellIdentity, status: 'skipped' | 'error', reason: string, rss: CellRss | null = null, prepare: PreparePhase | null = null): FailedRecord {
  return { ...identity, status, reason, path: null, timing: null, cost: null, prepare, fidelity: null, modeledQpuSeconds: null, rss, host: thisHost() };
}

function costFields(c: CostReport): CostFields {
  return {
    scoreEvaluations: c.scoreEvaluations,
    oracleQueries: c.oracleQueries,
    groverIterations: c.groverIterations,
    samples: c.samples,
    selectedPerQuery: c.selectedPerQuery,
    extra: { ...c.extra },
  };
}

function prepareCostFields(c: PrepareCost): PrepareCostFields {
  return { scoreEvaluations: c.scoreEvaluations, extra: { ...c.extra } };
}

/** Why an output cannot be scored (wrong length), or null. NaN/Inf is refused by attendPrepared itself. */
function badOutput(input: AttentionInput, out: AttentionOutput): string | null {
  return out.out.length === input.m * input.dv ? null : `output has ${out.out.length} values, expected m×dv = ${input.m}×${input.dv}`;
}

class Stop extends Error {}

/** Runs one cell (see the module comment). */
export async function runCell(spec: CellSpec, ctx: CellContext): Promise<CellResult> {
  const { identity, mech, options } = spec;
  const { input, plan, limits, monitor } = ctx;
  const budgetMs = budgetAt(limits, identity.n);
  let startBytes = rssBytes();
  monitor?.start();
  const rss = (): CellRss => {
    const cellPeakBytes = monitor?.peak() ?? null;
    // The kernel updates its high-water mark lazily (getrusage may lag a peak that was since freed).
    return { peakBytes: Math.max(maxRssBytes(), cellPeakBytes ?? 0), startBytes, cellPeakBytes };
  };
  const footprint = (): number | null => {
    const peak = monitor?.peak();
    return peak === undefined || peak === null ? null : Math.max(0, peak - startBytes);
  };
  let ref: Reference;
  try {
    ref = await ctx.reference();
  } catch (err) {
    return { record: failedRecord(identity, 'error', `reference failed: ${reasonOf(err)}`, rss()), measured: null };
  }
  // The cell proper starts here: the (shared, once per input) reference is not part of its memory footprint.
  startBytes = rssBytes();
  monitor?.start();
  const kv: KvInput = kvOf(input);
  const query: QueryInput = queryOf(input);
  let prepare: PreparePhase | null = null;
  let prepareMs: number | null = null;
  let attendMs: number | null = null;
  const measured = (): Measured => ({ n: identity.n, prepareMs, attendMs, footprintBytes: footprint() });
  /** Runs one call under the watchdog, which journals the cell as skipped if it never returns. */
  const lines = new Map<string, string>();
  const watched = async <T>(what: string, kind: BudgetPhase, phase: () => Promise<T>): Promise<T> => {
    const hard = HARD_LIMIT_FACTOR * budgetAt(limits, identity.n, kind);
    if (monitor?.watching) {
      let line = lines.get(what);
      if (line === undefined) {
        const reason = `${WATCHDOG_REASON}: ${what} was still running after ${formatMs(hard)} (${HARD_LIMIT_FACTOR}× ${budgetText(limits, identity.n, kind)}) ` +
          'and could not be interrupted, so the run was stopped there and resumed after it';
        line = JSON.stringify(failedRecord(identity, 'skipped', reason, null, prepare));
        lines.set(what, line);
      }
      monitor.arm(hard, line);
    }
    try {
      return await phase();
    } finally {
      monitor?.disarm();
    }
  };
  const over = (what: string, kind: BudgetPhase, ms: number): Stop =>
    new Stop(`${what} took ${formatMs(ms)}, over ${budgetText(limits, identity.n, kind)}; larger n of this method are predicted from it`);
  try {
    // Prepare: the first one's state is kept for the queries; quick prepares are repeated for their statistics.
    const first = await watched('prepare', 'prepare', () => prepareValidated(mech.name, kv, options));
    const prepared: Prepared = first.prepared;
    prepareMs = first.ms;
    if (first.ms > budgetAt(limits, identity.n, 'prepare')) {
      prepare = { timing: summarize([first.ms], first.ms), cost: prepareCostFields(prepared.cost) };
      throw over('prepare', 'prepare', first.ms);
    }
    const again = async (): Promise<number> => (await watched('a repeated prepare', 'prepare', () => prepareValidated(mech.name, kv, options))).ms;
    const repeats = await repeatTimed(again, plan.prepare, first.ms, false);
    prepare = { timing: summarize(repeats.length ? repeats : [first.ms], first.ms), cost: prepareCostFields(prepared.cost) };

    const warm = await watched('the first attend', 'query', () => attendPrepared(prepared, query));
    attendMs = warm.ms;
    const bad = badOutput(input, warm.output);
    if (bad) return { record: failedRecord(identity, 'error', bad, rss(), prepare), measured: measured() };
    if (warm.ms > budgetMs) throw over('one attend', 'query', warm.ms);
    const attend = async (): Promise<number> => (await watched('a timed attend', 'query', () => attendPrepared(prepared, query))).ms;
    const samples = await repeatTimed(attend, plan.query, warm.ms, true);
    const record: BenchRecord = {
      ...identity,
      status: 'ok',
      reason: null,
      path: warm.output.path ?? null,
      timing: summarize(samples.length ? samples : [warm.ms], warm.ms),
      cost: costFields(warm.output.cost),
      prepare,
      fidelity: scoreOutput(input, ref, warm.output),
      modeledQpuSeconds: modeledQpuSeconds(warm.output.quantum),
      rss: rss(),
      host: thisHost(),
    };
    return { record, measured: measured() };
  } catch (err) {
    const status = err instanceof Stop ? 'skipped' : 'error';
    return { record: failedRecord(identity, status, reasonOf(err), rss(), prepare), measured: prepareMs === null ? null : measured() };
  }
}
