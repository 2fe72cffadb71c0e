/**
 * From `qattn bench` flags to a run plan: which mechanisms (with resolved options), which workloads (with
 * resolved parameters and lengths), mode, shapes, seed, timing plan. Every mistake is a QattnError (exit 2)
 * raised here, before anything runs.
 */
import { join } from 'node:path';
import { QattnError, listChoices } from '../core/errors.ts';
import { allMechanisms, getMechanism, isMechanismName, mechanismNames } from '../attention/registry.ts';
import { groupOpts, methodPlans, optVariants, parseBudgets, readVariantsFile } from './variants.ts';
import { DEFAULT_FIT_MIN_N } from './fits.ts';
import { autoMemoryLimit, GIB } from './memory.ts';
import { parseLengths, powersOfTwo } from './lengths.ts';
import { DEFAULT_REFERENCE_POLICY } from './reference.ts';
import type { BenchConfigRecord } from './results.ts';
import type { BenchPlan, WorkloadPlan } from './runner.ts';
import { DEFAULT_PLAN, QUICK_PLAN } from './timing.ts';
import { getWorkload, isWorkloadName, resolveWorkloadParams, workloadNames, type WorkloadContext } from './workloads/index.ts';
import { BENCH_MODES, type BenchMode } from './workloads/types.ts';

export const MAX_N: Record<BenchMode, number> = { decode: 2 ** 24, prefill: 2 ** 16 };
/**
 * gaussian (iid logits: diffuse attention, the theory check's workload and the hard case for selection) and
 * needle (a few keys hold > 99 % of each query's mass: the peaked case selection is built for), so the default
 * run shows both regimes.
 */
export const DEFAULT_WORKLOADS = ['gaussian', 'needle'];
/**
 * Default per-phase time budget, seconds: a prepare (an index build, a session) or one attend call that would
 * take — or took — longer is skipped with the figures. 5 s up to 2^20 keys keeps the default run near two
 * minutes on two cores (a slower phase at n ≤ 2^20 would take a large share of it: raise --budget-s for a
 * thorough run); above 2^20 the budget grows with n (limits.ts budgetAt: 80 s at 2^24), so a prepare linear
 * in n at up to ~5 µs per key runs at every length.
 */
export const DEFAULT_BUDGET_S = 5;

/** Flag values as parsed by cli/bench.ts (strings, as typed). */
export interface BenchFlags {
  readonly methods?: readonly string[] | undefined;
  readonly workloads?: readonly string[] | undefined;
  readonly mode?: string | undefined;
  readonly lengths?: readonly string[] | undefined;
  readonly queries?: number | undefined;
  readonly dim?: number | undefined;
  readonly seed?: number | undefined;
  readonly opt?: readonly string[] | undefined;
  /** `--variants FILE.json` (bench/variants.ts). */
  readonly variants?: string | undefined;
  /** `--budget 64,256,…`. */
  readonly budget?: readonly string[] | undefined;
  readonly causal?: boolean | undefined;
  readonly quick?: boolean | undefined;
  readonly fitMin?: number | undefined;
  readonly q?: string | undefined;
  readonly k?: string | undefined;
  readonly v?: string | undefined;
  readonly npy?: string | undefined;
  readonly budgetS?: number | undefined;
  readonly prepareBudgetS?: number | undefined;
  readonly maxMemoryGib?: number | undefined;
}

export interface BenchConfig {
  readonly plan: BenchPlan;
  readonly record: BenchConfigRecord;
  readonly fitMinN: number;
}

/** Default decode lengths 2^8 … 2^20 (2^20 keys: a million-token context), prefill 2^8 … 2^12. */
export const DEFAULT_LENGTHS: Record<BenchMode, readonly [number, number]> = { decode: [2 ** 8, 2 ** 20], prefill: [2 ** 8, 2 ** 12] };

const list = (raw: readonly string[] | undefined): string[] | null =>
  raw === undefined ? null : raw.flatMap((r) => r.split(/[\s,]+/)).filter((x) => x !== '');

function defaultLengths(mode: BenchMode, quick: boolean): number[] {
  if (quick) return mode === 'decode' ? powersOfTwo(2 ** 7, 2 ** 9) : powersOfTwo(2 ** 6, 2 ** 8);
  return powersOfTwo(...DEFAULT_LENGTHS[mode]);
}

function npyPaths(f: BenchFlags): WorkloadContext['npy'] {
  const given = [f.q, f.k, f.v].filter((x) => x !== undefined).length;
  if (f.npy !== undefined && given) throw new QattnError('give either --npy DIR or --q/--k/--v files, not both');
  if (f.npy !== undefined) return { q: join(f.npy, 'q.npy'), k: join(f.npy, 'k.npy'), v: join(f.npy, 'v.npy') };
  if (given === 0) return undefined;
  if (given !== 3) throw new QattnError('the npy workload needs all three of --q, --k and --v');
  return { q: f.q!, k: f.k!, v: f.v! };
}

/** `--opt name.key=value` split by target: mechanism options and workload parameters. */
function splitOpts(raw: readonly string[]): Map<string, Record<string, string>> {
  const out = groupOpts(raw);
  for (const target of out.keys()) {
    if (!isMechanismName(target) && !isWorkloadName(target)) {
      throw new QattnError(`--opt ${target}.…: unknown method or workload '${target}' (methods: ${listChoices(mechanismNames)}; workloads: ${listChoices(workloadNames)})`);
    }
  }
  return out;
}

function workloadPlans(names: readonly string[], opts: Map<string, Record<string, string>>, f: BenchFlags, mode: BenchMode, lengths: number[] | null): WorkloadPlan[] {
  const ctx: WorkloadContext = { npy: npyPaths(f) };
  if (ctx.npy && !names.includes('npy')) throw new QattnError('--q/--k/--v (or --npy) were given but --workloads does not include npy');
  return names.map((name) => {
    const workload = getWorkload(name, ctx);
    const params = resolveWorkloadParams(workload, opts.get(name));
    let ls = lengths ?? defaultLengths(mode, f.quick === true);
    if (workload.maxN !== null && lengths === null) ls = [...ls.filter((n) => n < workload.maxN!), workload.maxN];
    return { workload, params, lengths: ls };
  });
}

export function buildConfig(f: BenchFlags): BenchConfig {
  const mode = (f.mode ?? 'decode') as BenchMode;
  if (!BENCH_MODES.includes(mode)) throw new QattnError(`--mode must be decode or prefill, got '${f.mode}'`);
  const opts = splitOpts(f.opt ?? []);
  const fromFile = f.variants === undefined ? [] : readVariantsFile(f.variants);
  // With --variants, --methods adds to them; without, every registered mechanism runs.
  const methodNames = list(f.methods) ?? (fromFile.length ? [] : allMechanisms().map((m) => m.name));
  if (!methodNames.length && !fromFile.length) throw new QattnError('--methods needs at least one method');
  const variants = [...[...new Set(methodNames)].flatMap((name) => optVariants(getMechanism(name), opts.get(name))), ...fromFile];
  const npyGiven = f.npy !== undefined || f.q !== undefined || f.k !== undefined || f.v !== undefined;
  const workloadList = [...new Set(list(f.workloads) ?? (npyGiven ? ['npy'] : DEFAULT_WORKLOADS))];
  if (!workloadList.length) throw new QattnError('--workloads needs at least one workload');
  for (const target of opts.keys()) {
    if (!methodNames.includes(target) && !workloadList.includes(target)) throw new QattnError(`--opt for ${target}, which is not among the --methods or --workloads of this run`);
  }
  const lengths = f.lengths === undefined ? null : parseLengths(f.lengths, MAX_N[mode], mode);
  const workloads = workloadPlans(workloadList, opts, f, mode, lengths);
  const budgets = f.budget === undefined ? null : parseBudgets(f.budget);
  if (budgets && !variants.some((v) => v.mech.budget)) throw new QattnError(`--budget: none of this run's methods has a budget knob (${variants.map((v) => v.label).join(', ')})`);
  const allLengths = [...new Set(workloads.flatMap((w) => w.lengths))].sort((a, b) => a - b);
  const methods = methodPlans(variants, budgets, allLengths);
  const m = f.queries ?? 16;
  // Bottom-right causal needs m ≤ n; a length below m would only fill the run with error records.
  const rows = (w: WorkloadPlan, n: number): number => w.workload.shape({ mode, n, m, d: f.dim ?? 64, causal: true, seed: 0 }).m;
  const tooShort = f.causal ? workloads.flatMap((w) => w.lengths.filter((n) => rows(w, n) > n)) : [];
  if (tooShort.length) {
    throw new QattnError(`--causal needs --queries ≤ n (query i sees keys 0…i+n−m), but m = ${m} exceeds n = ${[...new Set(tooShort)].join(', ')}: ` +
      'lower --queries or raise --lengths');
  }
  const timing = f.quick ? QUICK_PLAN : DEFAULT_PLAN;
  const budgetS = f.budgetS ?? DEFAULT_BUDGET_S;
  if (!(Number.isFinite(budgetS) && budgetS > 0)) throw new QattnError(`--budget-s must be a positive number of seconds, got ${f.budgetS}`);
  const prepareBudgetS = f.prepareBudgetS ?? null;
  if (prepareBudgetS !== null && !(Number.isFinite(prepareBudgetS) && prepareBudgetS > 0)) {
    throw new QattnError(`--prepare-budget-s must be a positive number of seconds, got ${f.prepareBudgetS}`);
  }
  if (f.maxMemoryGib !== undefined && !(Number.isFinite(f.maxMemoryGib) && f.maxMemoryGib > 0)) {
    throw new QattnError(`--max-memory-gib must be a positive number, got ${f.maxMemoryGib}`);
  }
  const maxMemoryBytes = f.maxMemoryGib === undefined ? null : Math.floor(f.maxMemoryGib * GIB);
  const plan: BenchPlan = {
    methods, workloads, mode, m, d: f.dim ?? 64, causal: f.causal === true, seed: f.seed ?? 0,
    timing, referencePolicy: DEFAULT_REFERENCE_POLICY,
    limits: {
      budgetMs: budgetS * 1000, memoryLimitBytes: maxMemoryBytes ?? autoMemoryLimit(),
      ...(prepareBudgetS !== null ? { prepareBudgetMs: prepareBudgetS * 1000 } : {}),
    },
  };
  const fitMinN = f.fitMin ?? DEFAULT_FIT_MIN_N;
  const npy = workloadList.includes('npy') ? npyPaths(f) ?? null : null;
  const record: BenchConfigRecord = {
    methods: methods.map((m) => m.variant), budgets, workloads: workloadList, mode,
    lengths: allLengths,
    queries: plan.m, dim: plan.d, causal: plan.causal, quick: f.quick === true, fitMinN,
    timing, budgetS, ...(prepareBudgetS !== null ? { prepareBudgetS } : {}), maxMemoryBytes, referencePolicy: plan.referencePolicy, npy: npy ? { q: npy.q, k: npy.k, v: npy.v } : null,
  };
  return { plan, record, fitMinN };
}
