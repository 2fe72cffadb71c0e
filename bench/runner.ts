/**
 * The benchmark runner: enumerates cells (workload × n × method), generates each (workload, n) input once,
 * computes its reference once (shared by every method), runs the cells one at a time, and hands each finished
 * record to a sink (the journal + results writer in the CLI; an array in tests). Cells the sink already holds
 * (`--resume`) are skipped, and a (workload, n) whose cells are all done is not even generated.
 *
 * Long contexts (n up to 2^24: K and V are 4 GiB each at d = 64) are run within limits, never into an
 * out-of-memory kill or an hours-long cell: a (workload, n) whose input and reference would not fit the memory
 * limit is skipped before it is generated; a cell whose prepare, one attend or memory footprint — extrapolated
 * from the same method at smaller n (limits.ts) — exceeds the time budget or the memory limit is skipped with
 * the figures; when a run starts above 2^18 with no smaller n to extrapolate from, each method is first
 * calibrated (one prepare and one attend, not recorded) at 2^12 … 2^18. Between cells the garbage collector
 * runs, so an input and the prepared states before it are gone before the next is allocated.
 */
import { availableParallelism } from 'node:os';
import { kvOf, queryOf } from '../attention/define.ts';
import { releaseSessions } from '../attention/kernels/ort/sessions.ts';
import { attendPrepared, prepareValidated, runAttention } from '../attention/run.ts';
import type { AttentionInput, Mechanism, Options } from '../attention/types.ts';
import { validateInput } from '../attention/validate.ts';
import { failedRecord, HARD_LIMIT_FACTOR, reasonOf, runCell, runnableReason, WATCHDOG_REASON, type CellSpec } from './cell.ts';
import { formatMs, formatN } from './format.ts';
import { cellKey } from './journal.ts';
import { budgetAt, budgetText, CellHistory, predictedSkip, seriesKey, type Limits, type Measured } from './limits.ts';
import { CellMonitor, collectGarbage, formatBytes, rssBytes } from './memory.ts';
import { computeReference, inputBytes, referenceBytes, type Reference, type ReferencePolicy } from './reference.ts';
import { ReferencePool } from './reference-pool.ts';
import type { BenchRecord, CellIdentity } from './results.ts';
import { plansAt, type TimingPlan } from './timing.ts';
import type { BenchMode, Workload, WorkloadInput, WorkloadParams, WorkloadRequest } from './workloads/types.ts';

/** One configured variant of a mechanism (bench/variants.ts): its label, and its options at each context length. */
export interface MethodPlan {
  readonly mech: Mechanism;
  /** CellIdentity.variant: the label its records, fits and charts carry. */
  readonly variant: string;
  /** The per-query budget its options come from (`--budget`), or null. */
  readonly budget: number | null;
  /** Resolved options at context length n (a budget's mapping may depend on n, e.g. LSH's bits). */
  optionsAt(n: number): Options;
}

export interface WorkloadPlan {
  readonly workload: Workload;
  readonly params: WorkloadParams;
  readonly lengths: readonly number[];
}

export interface BenchPlan {
  readonly methods: readonly MethodPlan[];
  readonly workloads: readonly WorkloadPlan[];
  readonly mode: BenchMode;
  readonly m: number;
  readonly d: number;
  readonly causal: boolean;
  readonly seed: number;
  readonly timing: TimingPlan;
  readonly referencePolicy: ReferencePolicy;
  /** Per-phase time budget (prepare; one attend) and the memory limit for the process's RSS. */
  readonly limits: Limits;
}

export interface ResultSink {
  /** The finished record of a cell, if any (from an earlier, interrupted run). */
  get(key: string): BenchRecord | undefined;
  add(record: BenchRecord): void;
}

export interface RunnerHooks {
  onCellStart?(index: number, total: number, cell: CellIdentity): void;
  onCellDone?(index: number, total: number, record: BenchRecord, resumed: boolean): void;
  /** Work between cells worth a line (calibration runs). */
  onNote?(text: string): void;
}

interface Group {
  readonly wp: WorkloadPlan;
  readonly req: WorkloadRequest;
  readonly cells: readonly CellSpec[];
}

/**
 * Calibration lengths: a run whose first n of a method is above the largest has it measured here first, each
 * length predicted from the ones before (a method over the budget at 2^14 is not tried at 2^16).
 */
export const CALIBRATION_LENGTHS: readonly number[] = [2 ** 12, 2 ** 14, 2 ** 16, 2 ** 18];

function groupAt(wp: WorkloadPlan, plan: BenchPlan, n: number): Group {
  const req: WorkloadRequest = { mode: plan.mode, n, m: plan.m, d: wp.workload.fixedD ?? plan.d, causal: plan.causal, seed: plan.seed };
  const shape = wp.workload.shape(req);
  const cells = plan.methods.map(({ mech, variant, budget, optionsAt }): CellSpec => {
    const options = optionsAt(n);
    return {
      mech, options,
      identity: {
        method: mech.name, variant, budget, family: mech.family, options, workload: wp.workload.name, workloadOptions: wp.params,
        mode: plan.mode, causal: plan.causal, n, m: shape.m, d: shape.d, dv: shape.dv, seed: plan.seed,
      },
    };
  });
  return { wp, req, cells };
}

/** Every cell of the plan, grouped by (workload, n), in run order. */
export function planGroups(plan: BenchPlan): Group[] {
  return plan.workloads.flatMap((wp) => wp.lengths.map((n) => groupAt(wp, plan, n)));
}

/** Bytes a group's input and reference add at their peak. */
function groupBytes(g: Group, plan: BenchPlan): number {
  const c = g.cells[0]?.identity;
  return c ? inputBytes(c) + referenceBytes(c, plan.referencePolicy, poolSize()) : 0;
}

/** Why a whole (workload, n) cannot be generated here, or null. */
function groupSkipReason(g: Group, plan: BenchPlan): string | null {
  const max = g.wp.workload.maxN;
  if (max !== null && g.req.n > max) return `the ${g.wp.workload.name} input has only n=${max} keys`;
  const c = g.cells[0]?.identity;
  if (!c) return null;
  const need = groupBytes(g, plan);
  const now = rssBytes();
  if (now + need > plan.limits.memoryLimitBytes) {
    return `Q/K/V (${formatBytes(inputBytes(c))}) and the reference need ${formatBytes(need)} beyond the ${formatBytes(now)} resident, ` +
      `over the ${formatBytes(plan.limits.memoryLimitBytes)} memory limit (--max-memory-gib)`;
  }
  return null;
}

function generate(g: Group): WorkloadInput {
  const input = { ...g.wp.workload.generate(g.req, g.wp.params), seed: g.req.seed };
  const want = g.cells[0]!.identity;
  if (input.m !== want.m || input.d !== want.d || input.dv !== want.dv) {
    throw new Error(`internal: workload ${g.wp.workload.name} generated m=${input.m}, d=${input.d}, dv=${input.dv}, its shape() said ${want.m}, ${want.d}, ${want.dv}`);
  }
  validateInput(input);
  return input;
}

const poolSize = (): number => Math.min(availableParallelism(), 4) - 1;

class PoolHolder {
  #pool: ReferencePool | null = null;
  get(): ReferencePool | null {
    const size = poolSize();
    if (size >= 1) this.#pool ??= new ReferencePool(size);
    return this.#pool;
  }
  async close(): Promise<void> {
    await this.#pool?.close();
    this.#pool = null;
  }
}

interface RunContext {
  readonly plan: BenchPlan;
  readonly sink: ResultSink;
  readonly hooks: RunnerHooks;
  readonly total: number;
  readonly pools: PoolHolder;
  readonly monitor: CellMonitor;
  readonly history: CellHistory;
  /** Per series, the smallest n the watchdog stopped: larger n are not tried again. */
  readonly stopped: Map<string, number>;
}

function stoppedAt(ctx: RunContext, c: CellIdentity): void {
  const key = seriesKey(c);
  ctx.stopped.set(key, Math.min(c.n, ctx.stopped.get(key) ?? Infinity));
}

/** What a finished record tells about its cost, for predicting larger n. */
function measuredOf(r: BenchRecord): Measured | null {
  const prepareMs = r.prepare?.timing.warmupMs ?? null;
  const attendMs = r.timing?.warmupMs ?? null;
  if (prepareMs === null && attendMs === null) return null;
  const footprintBytes = r.rss?.cellPeakBytes == null ? null : Math.max(0, r.rss.cellPeakBytes - r.rss.startBytes);
  return { n: r.n, prepareMs, attendMs, footprintBytes };
}

/**
 * Runs every pending cell of the plan and returns all records (resumed and new) in plan order. With `journal`
 * (the sink's journal file), a phase that runs past HARD_LIMIT_FACTOR × the budget is stopped by the watchdog
 * (cell.ts): that cell journaled as skipped, the process killed, to be continued with --resume. `history`: what
 * earlier runs in this process measured (a queue worker runs one-cell plans and keeps it across them), so the
 * limits predict from them and larger n are not calibrated again.
 */
export async function runBench(plan: BenchPlan, sink: ResultSink, hooks: RunnerHooks = {}, journal: string | null = null, history = new CellHistory()): Promise<BenchRecord[]> {
  const groups = planGroups(plan);
  const total = groups.reduce((s, g) => s + g.cells.length, 0);
  const ctx: RunContext = { plan, sink, hooks, total, pools: new PoolHolder(), monitor: new CellMonitor(journal), history, stopped: new Map() };
  for (const g of groups) {
    for (const c of g.cells) {
      const done = sink.get(cellKey(c.identity));
      const m = done ? measuredOf(done) : null;
      if (m) ctx.history.add(seriesKey(c.identity), m);
      if (done?.status === 'skipped' && done.reason.startsWith(WATCHDOG_REASON)) stoppedAt(ctx, c.identity);
    }
  }
  let index = 0;
  try {
    for (const g of groups) {
      const start = index;
      index += g.cells.length;
      await runGroup(g, ctx, start);
    }
  } finally {
    await ctx.pools.close();
    await ctx.monitor.close();
  }
  return groups.flatMap((g) => g.cells.map((c) => sink.get(cellKey(c.identity))!));
}

/**
 * One prepare and one attend of each of `cells` at each calibration length below their n, to measure their time
 * and memory for the limits (not recorded: the run's records are its planned cells only). A method predicted
 * over the limits at a calibration length is not calibrated there (its cells are then predicted from the smaller
 * one), and the watchdog guards each call on behalf of the cell it calibrates for.
 */
async function calibrate(g: Group, cells: readonly CellSpec[], ctx: RunContext): Promise<void> {
  const { plan, monitor, history } = ctx;
  for (const n of CALIBRATION_LENGTHS.filter((x) => x < g.req.n)) {
    const cg = groupAt(g.wp, plan, n);
    if (groupSkipReason(cg, plan)) continue;
    collectGarbage();
    let input: AttentionInput | null;
    try {
      input = generate(cg);
    } catch {
      continue;
    }
    const todo = cells.filter((c) => !predictedSkip(history.predict(seriesKey(c.identity), n), plan.limits, rssBytes(), n));
    if (todo.length) ctx.hooks.onNote?.(`calibrating ${todo.map((c) => c.mech.name).join(', ')} on ${g.wp.workload.name} at n=${formatN(n)} (one prepare and one attend each, not recorded)`);
    for (const c of todo) {
      const hard = HARD_LIMIT_FACTOR * Math.max(budgetAt(plan.limits, n), budgetAt(plan.limits, n, 'prepare'));
      const reason = `${WATCHDOG_REASON}: calibrating it at n=${formatN(n)}, one call was still running after ${formatMs(hard)} ` +
        `(${HARD_LIMIT_FACTOR}× ${budgetText(plan.limits, n)}), so the run was stopped there and resumed after it`;
      const line = JSON.stringify(failedRecord(c.identity, 'skipped', reason));
      const startBytes = rssBytes();
      monitor.start();
      try {
        monitor.arm(hard, line);
        const { prepared, ms: prepareMs } = await prepareValidated(c.mech.name, kvOf(input), c.options);
        monitor.arm(hard, line);
        const { ms: attendMs } = await attendPrepared(prepared, queryOf(input));
        const peak = monitor.peak();
        history.add(seriesKey(c.identity), { n, prepareMs, attendMs, footprintBytes: peak === null ? null : Math.max(0, peak - startBytes) }, true);
      } catch {
        // A method that cannot run here says so in its own cells.
      } finally {
        monitor.disarm();
      }
      collectGarbage();
    }
    input = null;
  }
}

async function runGroup(g: Group, ctx: RunContext, start: number): Promise<void> {
  const { plan, sink, hooks, total } = ctx;
  const pending = g.cells.flatMap((c, i) => {
    const done = sink.get(cellKey(c.identity));
    if (done) hooks.onCellDone?.(start + i, total, done, true);
    return done ? [] : [{ c, i: start + i }];
  });
  if (!pending.length) return;
  const finish = (i: number, r: BenchRecord): void => {
    sink.add(r);
    hooks.onCellDone?.(i, total, r, false);
  };
  collectGarbage();
  const uncalibrated = pending.filter(({ c }) => g.req.n > CALIBRATION_LENGTHS.at(-1)! && !ctx.history.has(seriesKey(c.identity), g.req.n));
  if (uncalibrated.length) await calibrate(g, uncalibrated.map(({ c }) => c), ctx);
  const skip = groupSkipReason(g, plan);
  let input: WorkloadInput | null = null;
  let failure = skip;
  if (!skip) {
    try {
      input = generate(g);
    } catch (err) {
      failure = `generating the ${g.wp.workload.name} input failed: ${reasonOf(err)}`;
    }
  }
  if (!input) {
    for (const { c, i } of pending) finish(i, failedRecord(c.identity, skip ? 'skipped' : 'error', failure!));
    return;
  }
  const inp = input;
  const big = inputBytes(inp) >= 2 ** 26;
  let ref: Promise<Reference> | null = null;
  // A worker keeps its copy of a large input until its own next collection: stop the pool once the reference is
  // done (a new one starts in ~0.1 s when the next input needs it).
  const compute = async (): Promise<Reference> => {
    const r = await computeReference(inp, plan.referencePolicy, () => ctx.pools.get(), () => exactFastPath(inp));
    if (big && r.threads > 1) await ctx.pools.close();
    return r;
  };
  const reference = (): Promise<Reference> => (ref ??= compute());
  for (const { c, i } of pending) {
    hooks.onCellStart?.(i, total, c.identity);
    const series = seriesKey(c.identity);
    const stop = ctx.stopped.get(series);
    // A mechanism that cannot take this input says so first: that, not a predicted time or footprint, is why.
    const why = runnableReason(c.mech, inp, c.options) ?? (stop !== undefined && stop < g.req.n
      ? `the same method was stopped by the watchdog at n=${formatN(stop)} (over ${HARD_LIMIT_FACTOR}× the time budget), so larger n are not tried`
      : predictedSkip(ctx.history.predict(series, g.req.n), plan.limits, rssBytes(), g.req.n));
    if (why) {
      finish(i, failedRecord(c.identity, 'skipped', why));
      continue;
    }
    const before = rssBytes();
    const { record, measured } = await runCell(c, { input: inp, reference, plan: plansAt(plan.timing, g.req.n), limits: plan.limits, monitor: ctx.monitor });
    if (measured) ctx.history.add(series, measured);
    finish(i, record);
    // Drop this cell's prepared state (and anything it cached per input) before the next cell allocates its own.
    if (big) await releaseRetained(before);
  }
}

/** Memory a cell may leave resident (beyond its input's reference, computed in the first cell) before it is reclaimed. */
const RETAINED_BYTES = 2 ** 30;

/**
 * Collects garbage after a cell and, when the cell still leaves more than RETAINED_BYTES resident, releases the
 * cached onnxruntime sessions: a session's CPU memory arena keeps the peak of its largest run (measured: `exact`'s
 * MultiHeadAttention path at n = 2^24 holds 8.3 GiB after its run, freed only with the session). The next cell
 * that uses onnxruntime then builds its sessions again, inside its own prepare — once-per-cache work.
 */
async function releaseRetained(before: number): Promise<void> {
  collectGarbage();
  if (rssBytes() - before <= RETAINED_BYTES) return;
  await releaseSessions();
  collectGarbage();
}

/** The `exact` mechanism with its default options — the reference above the float64 cost limit. */
async function exactFastPath(input: AttentionInput): Promise<Float32Array> {
  return (await runAttention('exact', input)).output.out;
}
