/**
 * Reading budget sweeps (`qattn bench --budget`): each variant's records grouped by their base (the label without
 * `[budget=B]`), and the smallest budget swept that reaches a fidelity target at each n — relL2 ≤ 0.01 on operator
 * workloads, task accuracy ≥ 0.9 on task workloads (bench/workloads/tasks.ts). The charts and `npm run
 * bench:budget` both read it from here.
 */
import type { BenchRecord, OkRecord } from './results.ts';

/** relL2 a budget must reach on operator workloads. */
export const REL_L2_TARGET = 0.01;
/** Task accuracy a budget must reach on task workloads. */
export const ACCURACY_TARGET = 0.9;

/** The variant a budget record was swept from: `lsh[budget=256]` → `lsh`. */
export function baseVariant(r: Pick<BenchRecord, 'variant' | 'budget'>): string {
  const suffix = r.budget === null ? '' : `[budget=${r.budget}]`;
  return suffix && r.variant.endsWith(suffix) ? r.variant.slice(0, -suffix.length) : r.variant;
}

/** Whether a finished record meets its workload's target (accuracy where the workload is a task). */
export function meetsTarget(r: OkRecord): boolean {
  return r.fidelity.accuracy !== null ? r.fidelity.accuracy >= ACCURACY_TARGET : r.fidelity.relL2 <= REL_L2_TARGET;
}

/** The target in words, for a workload whose records do (or do not) carry accuracy. */
export function targetText(task: boolean): string {
  return task ? `accuracy ≥ ${ACCURACY_TARGET}` : `relL2 ≤ ${REL_L2_TARGET}`;
}

export interface BudgetReach {
  readonly base: string;
  readonly method: string;
  readonly workload: string;
  readonly n: number;
  /** Whether the workload is a task (its target is accuracy). */
  readonly task: boolean;
  /** The smallest budget swept that met the target, or null. */
  readonly budget: number | null;
  /** The budgets that ran (ok) at this n, ascending. */
  readonly swept: readonly number[];
  /** Why budgets did not run (skipped or failed cells), one line each. */
  readonly notRun: readonly string[];
}

/** Per (base variant, workload, n) with budget records: the smallest budget that reached the target. */
export function budgetReach(records: readonly BenchRecord[]): BudgetReach[] {
  const groups = new Map<string, BenchRecord[]>();
  for (const r of records) {
    if (r.budget === null) continue;
    const key = JSON.stringify([baseVariant(r), r.workload, r.n]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const ok = rs.filter((r): r is OkRecord => r.status === 'ok').sort((a, b) => a.budget! - b.budget!);
    const first = rs[0]!;
    const task = ok.some((r) => r.fidelity.accuracy !== null);
    return {
      base: baseVariant(first), method: first.method, workload: first.workload, n: first.n, task,
      budget: ok.find(meetsTarget)?.budget ?? null,
      swept: ok.map((r) => r.budget!),
      notRun: rs.filter((r) => r.status !== 'ok').map((r) => `budget ${r.budget}: ${r.status} — ${r.reason}`),
    };
  });
}
