/**
 * A cell as a BullMQ job: everything a worker on another machine needs to regenerate the cell's input from its
 * seed and run it — the identity (method or variant with resolved options, workload with parameters, n, m, d,
 * causal, seed) and the run settings that change its record (timing plan, time budgets, reference policy) —
 * plain JSON, no data shipped. Its key, the job id, is a hash of all of that and the code version (package
 * version + a hash of the sources, qattnVersion): the same cell submitted twice (or by two runs) is one job,
 * and a worker running other code refuses it.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getMechanism } from '../../attention/registry.ts';
import type { Options } from '../../attention/types.ts';
import { QattnError } from '../../core/errors.ts';
import { canonical, cellKey } from '../journal.ts';
import type { Limits } from '../limits.ts';
import type { CellIdentity } from '../results.ts';
import { planGroups, type BenchPlan } from '../runner.ts';
import { getWorkload } from '../workloads/index.ts';

/**
 * The run settings a cell's record depends on besides its identity: the plan's own fields (its m and d are the
 * requested ones; a workload with a fixed shape may give the cell others) and its time budgets. Not its memory
 * limit: a worker checks cells against its own machine's.
 */
export type JobSettings = Pick<BenchPlan, 'mode' | 'm' | 'd' | 'causal' | 'seed' | 'timing' | 'referencePolicy'> & {
  readonly budgetMs: number;
  readonly prepareBudgetMs: number | null;
};

export interface CellJob {
  /** The job id: cellId(identity, settings, version). */
  readonly key: string;
  readonly qattnVersion: string;
  readonly identity: CellIdentity;
  readonly settings: JobSettings;
}

let version: string | null = null;

/** Folders whose sources decide what a cell computes (not cli/, infer/, tests or docs). */
const CODE_DIRS = ['attention', 'bench', 'core', 'io', 'onnx', 'oracles'];

/** Every .ts/.mjs file under `dir`, sorted (bench/reference-data and the like hold no code). */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mjs)$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

/**
 * The code version of every cell key: package.json's version and a hash of the sources that compute a cell and of
 * package-lock.json (so a changed mechanism, or another dependency, is a new cell — never a record computed by
 * other code, found on the queue — and a worker running other code refuses the cell). ~300 files, read once.
 */
export function qattnVersion(): string {
  if (version === null) {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown };
    const h = createHash('sha256');
    for (const f of [...CODE_DIRS.flatMap((d) => sources(join(root, d))), join(root, 'package-lock.json')]) {
      h.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
    }
    version = `${typeof pkg.version === 'string' ? pkg.version : 'unknown'}+${h.digest('hex').slice(0, 12)}`;
  }
  return version;
}

/** The content address of a cell: sha256 of its journal key, its settings and the qattn version (32 hex digits). */
export function cellId(identity: CellIdentity, settings: JobSettings, qattn = qattnVersion()): string {
  const text = JSON.stringify([cellKey(identity), canonical(settings), qattn]);
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

export function settingsOf(plan: BenchPlan): JobSettings {
  return {
    mode: plan.mode, m: plan.m, d: plan.d, causal: plan.causal, seed: plan.seed, timing: plan.timing, referencePolicy: plan.referencePolicy,
    budgetMs: plan.limits.budgetMs, prepareBudgetMs: plan.limits.prepareBudgetMs ?? null,
  };
}

/** Every cell of the plan as a job, in plan order. The npy workload reads local files: it cannot be queued. */
export function jobsOf(plan: BenchPlan): CellJob[] {
  const npy = plan.workloads.find((w) => w.workload.name === 'npy');
  if (npy) throw new QattnError('--queue: the npy workload reads files on this machine, and a queued cell ships no data: run it without --queue');
  const settings = settingsOf(plan);
  const qattn = qattnVersion();
  return planGroups(plan).flatMap((g) => g.cells.map((c) => ({ key: cellId(c.identity, settings, qattn), qattnVersion: qattn, identity: c.identity, settings })));
}

/**
 * The one-cell plan a worker runs for a job, with this machine's memory limit. A job from another qattn
 * version, or naming a mechanism or workload this one lacks, is refused (the job fails, deterministically).
 */
export function planOfJob(job: CellJob, memoryLimitBytes: number): BenchPlan {
  if (job.qattnVersion !== qattnVersion()) {
    throw new QattnError(`this worker runs qattn ${qattnVersion()}, the cell was submitted by qattn ${job.qattnVersion}: run workers of the submitting code (version + source hash)`);
  }
  const { identity: c, settings: s } = job;
  const mech = getMechanism(c.method);
  const workload = getWorkload(c.workload);
  const options: Options = { ...c.options };
  const limits: Limits = { budgetMs: s.budgetMs, memoryLimitBytes, ...(s.prepareBudgetMs !== null ? { prepareBudgetMs: s.prepareBudgetMs } : {}) };
  return {
    methods: [{ mech, variant: c.variant, budget: c.budget, optionsAt: () => options }],
    workloads: [{ workload, params: c.workloadOptions, lengths: [c.n] }],
    mode: s.mode, m: s.m, d: s.d, causal: s.causal, seed: s.seed, timing: s.timing, referencePolicy: s.referencePolicy, limits,
  };
}
