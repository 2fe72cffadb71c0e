/**
 * The benchmark runner: enumerates cells (workload × n × method), generates each (workload, n) input once,
 * computes its reference once (shared by every method), runs the cells one at a time, and hands each finished
 * record to a sink (the journal + results writer in the CLI; an array in tests). Cells the sink already holds
 * (`--resume`) are skipped, and a (workload, n) whose cells are all done is not even generated.
 */
import { availableParallelism } from 'node:os';
import { resolveOptions } from '../attention/options.ts';
import { getMechanism } from '../attention/registry.ts';
import type { AttentionInput, Mechanism, Options } from '../attention/types.ts';
import { validateInput } from '../attention/validate.ts';
import { failedRecord, reasonOf, runCell, type CellSpec } from './cell.ts';
import { cellKey } from './journal.ts';
import { computeReference, type Reference, type ReferencePolicy } from './reference.ts';
import { ReferencePool } from './reference-pool.ts';
import type { BenchRecord, CellIdentity } from './results.ts';
import type { TimingPlan } from './timing.ts';
import type { BenchMode, Workload, WorkloadParams, WorkloadRequest } from './workloads/types.ts';

export interface MethodPlan {
  readonly mech: Mechanism;
  readonly options: Options;
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
  /** A (workload, n) whose Q/K/V would need more bytes than this is skipped. */
  readonly maxInputBytes: number;
}

export interface ResultSink {
  /** The finished record of a cell, if any (from an earlier, interrupted run). */
  get(key: string): BenchRecord | undefined;
  add(record: BenchRecord): void;
}

export interface RunnerHooks {
  onCellStart?(index: number, total: number, cell: CellIdentity): void;
  onCellDone?(index: number, total: number, record: BenchRecord, resumed: boolean): void;
}

interface Group {
  readonly wp: WorkloadPlan;
  readonly req: WorkloadRequest;
  readonly cells: readonly CellSpec[];
}

/** Every cell of the plan, grouped by (workload, n), in run order. */
export function planGroups(plan: BenchPlan): Group[] {
  const groups: Group[] = [];
  for (const wp of plan.workloads) {
    for (const n of wp.lengths) {
      const req: WorkloadRequest = { mode: plan.mode, n, m: plan.m, d: wp.workload.fixedD ?? plan.d, causal: plan.causal, seed: plan.seed };
      const shape = wp.workload.shape(req);
      const cells = plan.methods.map(({ mech, options }): CellSpec => ({
        mech, options,
        identity: {
          method: mech.name, family: mech.family, options, workload: wp.workload.name, workloadOptions: wp.params,
          mode: plan.mode, causal: plan.causal, n, m: shape.m, d: shape.d, dv: shape.dv, seed: plan.seed,
        },
      }));
      groups.push({ wp, req, cells });
    }
  }
  return groups;
}

/** Why a whole (workload, n) cannot be generated here, or null. */
function groupSkipReason(g: Group, plan: BenchPlan): string | null {
  const max = g.wp.workload.maxN;
  if (max !== null && g.req.n > max) return `the ${g.wp.workload.name} input has only n=${max} keys`;
  const c = g.cells[0]?.identity;
  const bytes = c ? 4 * (c.m * c.d + g.req.n * (c.d + c.dv)) : 0;
  if (bytes > plan.maxInputBytes) {
    return `Q/K/V need ${(bytes / 2 ** 20).toFixed(0)} MiB, over the ${(plan.maxInputBytes / 2 ** 20).toFixed(0)} MiB input limit for this machine`;
  }
  return null;
}

function generate(g: Group): AttentionInput {
  const input = { ...g.wp.workload.generate(g.req, g.wp.params), seed: g.req.seed };
  const want = g.cells[0]!.identity;
  if (input.m !== want.m || input.d !== want.d || input.dv !== want.dv) {
    throw new Error(`internal: workload ${g.wp.workload.name} generated m=${input.m}, d=${input.d}, dv=${input.dv}, its shape() said ${want.m}, ${want.d}, ${want.dv}`);
  }
  validateInput(input);
  return input;
}

class PoolHolder {
  #pool: ReferencePool | null = null;
  get(): ReferencePool | null {
    const size = Math.min(availableParallelism(), 4) - 1;
    if (size >= 1) this.#pool ??= new ReferencePool(size);
    return this.#pool;
  }
  async close(): Promise<void> {
    await this.#pool?.close();
  }
}

/** Runs every pending cell of the plan and returns all records (resumed and new) in plan order. */
export async function runBench(plan: BenchPlan, sink: ResultSink, hooks: RunnerHooks = {}): Promise<BenchRecord[]> {
  const groups = planGroups(plan);
  const total = groups.reduce((s, g) => s + g.cells.length, 0);
  const pools = new PoolHolder();
  let index = 0;
  try {
    for (const g of groups) {
      const start = index;
      index += g.cells.length;
      await runGroup(g, plan, sink, hooks, { start, total, pools });
    }
  } finally {
    await pools.close();
  }
  return groups.flatMap((g) => g.cells.map((c) => sink.get(cellKey(c.identity))!));
}

interface GroupContext {
  readonly start: number;
  readonly total: number;
  readonly pools: PoolHolder;
}

async function runGroup(g: Group, plan: BenchPlan, sink: ResultSink, hooks: RunnerHooks, ctx: GroupContext): Promise<void> {
  const pending = g.cells.flatMap((c, i) => {
    const done = sink.get(cellKey(c.identity));
    if (done) hooks.onCellDone?.(ctx.start + i, ctx.total, done, true);
    return done ? [] : [{ c, i: ctx.start + i }];
  });
  if (!pending.length) return;
  const finish = (i: number, r: BenchRecord): void => {
    sink.add(r);
    hooks.onCellDone?.(i, ctx.total, r, false);
  };
  const skip = groupSkipReason(g, plan);
  let input: AttentionInput | null = null;
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
  let ref: Promise<Reference> | null = null;
  const reference = (): Promise<Reference> => (ref ??= computeReference(inp, plan.referencePolicy, () => ctx.pools.get(), () => exactFastPath(inp)));
  for (const { c, i } of pending) {
    hooks.onCellStart?.(i, ctx.total, c.identity);
    finish(i, await runCell(c, inp, reference, plan.timing));
  }
}

/** The `exact` mechanism with its default options — the reference above the float64 cost limit. */
async function exactFastPath(input: AttentionInput): Promise<Float32Array> {
  const exact = getMechanism('exact');
  return (await exact.attend(input, resolveOptions(exact))).out;
}
