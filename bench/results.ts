/**
 * The results file: TypeScript types of `results.json`, validation against bench/results.schema.json (the
 * contract charts and users read), and the flattening into `results.csv`.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { Family, OptionValue } from '../attention/types.ts';
import type { ReferencePolicy } from './reference.ts';
import type { Fidelity } from './score.ts';
import type { TimingPlan, TimingStats } from './timing.ts';
import type { BenchMode } from './workloads/types.ts';

export const SCHEMA_VERSION = 1;

/** What identifies a cell: (workload, mode, n, method, options, seed) and the shapes they imply. */
export interface CellIdentity {
  readonly method: string;
  readonly family: Family;
  readonly options: Readonly<Record<string, OptionValue>>;
  readonly workload: string;
  readonly workloadOptions: Readonly<Record<string, number>>;
  readonly mode: BenchMode;
  readonly causal: boolean;
  readonly n: number;
  readonly m: number;
  readonly d: number;
  readonly dv: number;
  readonly seed: number;
}

/** Hardware-independent counts, summed over queries (CostReport; null = not applicable to the method). */
export interface CostFields {
  readonly scoreEvaluations: number | null;
  readonly oracleQueries: number | null;
  readonly groverIterations: number | null;
  readonly samples: number | null;
  readonly selectedPerQuery: number | null;
  readonly extra: Readonly<Record<string, number>>;
}

export interface OkRecord extends CellIdentity {
  readonly status: 'ok';
  readonly reason: null;
  /** Which execution path the mechanism took (AttentionOutput.path). */
  readonly path: string | null;
  readonly timing: TimingStats;
  readonly cost: CostFields;
  readonly fidelity: Fidelity;
  /** Modeled QPU seconds per hardware profile (quantum mechanisms only; null otherwise). */
  readonly modeledQpuSeconds: Readonly<Record<string, number>> | null;
}

export interface FailedRecord extends CellIdentity {
  /** `skipped`: the mechanism declared it cannot run this input; `error`: it threw (or returned NaN/Inf). */
  readonly status: 'skipped' | 'error';
  readonly reason: string;
  readonly path: null;
  readonly timing: null;
  readonly cost: null;
  readonly fidelity: null;
  readonly modeledQpuSeconds: null;
}

export type BenchRecord = OkRecord | FailedRecord;

export type FitMetric = 'time' | 'scoreEvaluations' | 'oracleQueries' | 'groverIterations' | 'samples' | 'selectedPerQuery';

/** log(metric) = intercept + exponent·log(n), least squares over nMin…nMax (natural logs). */
export interface FitEntry {
  readonly method: string;
  readonly workload: string;
  readonly mode: BenchMode;
  readonly metric: FitMetric;
  readonly exponent: number;
  readonly intercept: number;
  /** 95 % confidence interval of the exponent (Student t, points − 2 degrees of freedom). */
  readonly ci95: readonly [number, number];
  /** Coefficient of determination (null when the metric is constant). */
  readonly r2: number | null;
  readonly nMin: number;
  readonly nMax: number;
  readonly points: number;
}

export interface BenchConfigRecord {
  readonly methods: readonly string[];
  readonly workloads: readonly string[];
  readonly mode: BenchMode;
  readonly lengths: readonly number[];
  readonly queries: number;
  readonly dim: number;
  readonly causal: boolean;
  readonly quick: boolean;
  readonly fitMinN: number;
  readonly timing: TimingPlan;
  readonly referencePolicy: ReferencePolicy;
  readonly npy: { readonly q: string; readonly k: string; readonly v: string } | null;
}

export interface BenchMeta {
  readonly createdAt: string;
  readonly finishedAt: string | null;
  /** HEAD of the qattn checkout that ran (null outside a git checkout). */
  readonly gitCommit: string | null;
  /** Whether that checkout had uncommitted changes (null outside a checkout). */
  readonly gitDirty: boolean | null;
  readonly qattnVersion: string;
  readonly node: string;
  readonly platform: string;
  readonly cpu: string;
  readonly cores: number;
  readonly totalMemoryBytes: number;
  readonly seed: number;
  readonly argv: readonly string[];
  readonly config: BenchConfigRecord;
  /** Cells taken from the journal of an interrupted run (`--resume`). */
  readonly resumedCells: number;
  readonly durationMs: number | null;
  readonly peakRssBytes: number | null;
}

export interface ResultsDoc {
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly meta: BenchMeta;
  readonly records: readonly BenchRecord[];
  readonly fits: readonly FitEntry[];
}

// RFC 3339 date-time (what Date.toISOString writes), checked without the ajv-formats dependency.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

let validator: ((doc: unknown) => string[]) | null = null;

function compile(): (doc: unknown) => string[] {
  const schema: unknown = JSON.parse(readFileSync(new URL('./results.schema.json', import.meta.url), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  ajv.addFormat('date-time', DATE_TIME);
  const validate = ajv.compile(schema as object);
  return (doc) => (validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`));
}

/** Schema errors of a results document ([] = valid). */
export function validateResults(doc: unknown): string[] {
  validator ??= compile();
  return validator(doc);
}
