/**
 * The workload registry: every workload by name, and their parameters resolved from `--opt name.key=value`.
 * Like the mechanism registry, `factories` is an exhaustive Record over a closed union of names.
 */
import { QattnError, listChoices } from '../../core/errors.ts';
import { clustered } from './clustered.ts';
import { gaussian } from './gaussian.ts';
import { needle } from './needle.ts';
import { aggregation, multiKey, multiValue, singleKey } from './tasks.ts';
import { npyWorkload, type NpyPaths } from './npy.ts';
import type { Workload, WorkloadParams } from './types.ts';
import { zipf } from './zipf.ts';

export type WorkloadName = 'gaussian' | 'needle' | 'zipf' | 'clustered' | 'single-key' | 'multi-key' | 'multi-value' | 'aggregation' | 'npy';

/** What a workload may need from the command line (only `npy` needs anything: its files). */
export interface WorkloadContext {
  readonly npy?: NpyPaths | undefined;
}

const factories: Record<WorkloadName, (ctx: WorkloadContext) => Workload> = {
  gaussian: () => gaussian,
  needle: () => needle,
  zipf: () => zipf,
  clustered: () => clustered,
  'single-key': () => singleKey,
  'multi-key': () => multiKey,
  'multi-value': () => multiValue,
  aggregation: () => aggregation,
  npy: (ctx) => {
    if (!ctx.npy) throw new QattnError('the npy workload needs its files: --q Q.npy --k K.npy --v V.npy, or --npy DIR holding q.npy, k.npy, v.npy');
    return npyWorkload(ctx.npy);
  },
};

export const workloadNames = Object.keys(factories) as WorkloadName[];

export function isWorkloadName(name: string): name is WorkloadName {
  return Object.prototype.hasOwnProperty.call(factories, name);
}

export function getWorkload(name: string, ctx: WorkloadContext = {}): Workload {
  if (!isWorkloadName(name)) throw new QattnError(`unknown workload '${name}' (valid: ${listChoices(workloadNames)})`);
  return factories[name](ctx);
}

/** Fills defaults and checks `--opt workload.key=value` values against the declared parameters. */
export function resolveWorkloadParams(w: Workload, given: Readonly<Record<string, string | number>> = {}): WorkloadParams {
  const names = w.params.map((p) => p.name);
  for (const key of Object.keys(given)) {
    if (!names.includes(key)) {
      const valid = names.length ? `valid: ${names.join(', ')}` : 'it takes no parameters';
      throw new QattnError(`unknown parameter '${key}' for workload ${w.name} (${valid})`);
    }
  }
  const out: Record<string, number> = {};
  for (const p of w.params) {
    const raw = given[p.name];
    if (raw === undefined) {
      out[p.name] = p.default;
      continue;
    }
    const x = typeof raw === 'number' ? raw : raw.trim() === '' ? NaN : Number(raw);
    const where = `parameter ${p.name} of workload ${w.name}`;
    if (!Number.isFinite(x)) throw new QattnError(`${where} must be a number, got '${String(raw)}'`);
    if (p.integer && !Number.isInteger(x)) throw new QattnError(`${where} must be an integer, got '${String(raw)}'`);
    if (x < p.min || x > p.max) throw new QattnError(`${where} must be in [${p.min}, ${p.max}], got ${x}`);
    out[p.name] = x;
  }
  return out;
}

export type { Workload, WorkloadParams, WorkloadRequest, BenchMode } from './types.ts';
