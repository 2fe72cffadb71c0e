/**
 * The results file: TypeScript types of `results.json` — the one source of bench/results.schema.json, which
 * `npm run schemas` generates from ResultsDoc (scripts/schemas.ts; test/schemas.test.ts fails when the two
 * differ), so the JSDoc annotations here (@minimum, @format) are part of the contract —, its validation, and
 * the upgrade of files written by schemas 1 and 2.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { Family, OptionValue } from '../attention/types.ts';
import type { ReferencePolicy } from './reference.ts';
import type { Fidelity } from './score.ts';
import type { TimingPlan, TimingStats } from './timing.ts';
import type { BenchMode } from './workloads/types.ts';

/**
 * 2: a cell is prepared once and its queries timed apart (`timing` is query time, `prepare` the once-per-cache
 * work); records carry their RSS; the timing plan has a query and a prepare phase.
 * 3: configured variants (`variant`, the label records, fits and charts key on; `budget`), task accuracy
 * (`fidelity.accuracy`), the run's budgets.
 */
export const SCHEMA_VERSION = 3;

/** What identifies a cell: (workload, mode, n, variant: method with options, seed) and the shapes they imply. */
export interface CellIdentity {
  /** The registered mechanism. */
  readonly method: string;
  /**
   * The configured variant the cell belongs to — what records, fits, charts and the summary key on: the method's
   * name when the run has one setting of it, else a label such as `grover-topk[k=8]` (`--opt` lists, `--variants`
   * files, `lsh[budget=256]` for `--budget`).
   */
  readonly variant: string;
  /** The per-query budget this cell's options were set from (`--budget`; the mechanism's BudgetSpec), or null. */
  readonly budget: number | null;
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

/**
 * Hardware-independent counts of one attend call on the prepared cache, summed over its queries (CostReport;
 * null = not applicable to the method). Once-per-cache work is counted apart, in `prepare.cost`.
 */
export interface CostFields {
  readonly scoreEvaluations: number | null;
  readonly oracleQueries: number | null;
  readonly groverIterations: number | null;
  readonly samples: number | null;
  readonly selectedPerQuery: number | null;
  readonly extra: Readonly<Record<string, number>>;
}

/** Counts of the once-per-cache work (PrepareCost): dot products made while preparing, and named counters. */
export interface PrepareCostFields {
  readonly scoreEvaluations: number;
  readonly extra: Readonly<Record<string, number>>;
}

/**
 * The prepare phase of a cell (Mechanism.prepare: sessions, hash tables, indexes, trees, key features), timed
 * apart from the queries. `timing.warmupMs` is the first prepare, whose state the queries then used; with one
 * sample (a slow prepare is run once) that first prepare is the sample.
 */
export interface PreparePhase {
  readonly timing: TimingStats;
  readonly cost: PrepareCostFields;
}

/** Resident set size around a cell, bytes. */
export interface CellRss {
  /**
   * process.resourceUsage().maxRSS at the end of the cell: the process's high-water mark so far — this cell's
   * peak or that of any earlier cell, whichever was higher (it never goes down); the sampled cell peak where
   * that is higher (the kernel updates its high-water mark lazily).
   */
  /** @minimum 0 */
  readonly peakBytes: number;
  /**
   * RSS when the cell started: the process with the (workload, n) input and its reference already held.
   * @minimum 0
   */
  readonly startBytes: number;
  /** The highest RSS sampled during this cell alone (every 10 ms, by a sampling thread); null if not sampled. */
  readonly cellPeakBytes: number | null;
}

/** Where a cell ran: a queued run's cells run on any machine with qattn installed (`qattn worker`). */
export interface RecordHost {
  readonly hostname: string;
  /** CPU model (os.cpus()[0].model). */
  readonly cpu: string;
  /** The process that ran the cell. */
  readonly pid: number;
  /** The queue worker that ran it (`qattn worker`), absent in a local run. */
  readonly worker?: string;
}

export interface OkRecord extends CellIdentity {
  readonly status: 'ok';
  readonly reason: null;
  /** Which execution path the mechanism took (AttentionOutput.path). */
  readonly path: string | null;
  /** Query time: one attend call (all m queries) on the prepared cache; `warmupMs` is the first, scored call. */
  readonly timing: TimingStats;
  /** Counts of that attend call (the scored one). */
  readonly cost: CostFields;
  /** The once-per-cache work; null only in records upgraded from schema 1, whose `timing` included it. */
  readonly prepare: PreparePhase | null;
  readonly fidelity: Fidelity;
  /** Modeled QPU seconds per hardware profile (quantum mechanisms only; null otherwise). */
  readonly modeledQpuSeconds: Readonly<Record<string, number>> | null;
  /** Null only in records upgraded from schema 1. */
  readonly rss: CellRss | null;
  /** Where it ran (absent in files written before it was recorded). */
  readonly host?: RecordHost;
}

export interface FailedRecord extends CellIdentity {
  /**
   * `skipped`: the mechanism cannot run this input here (it says why), or the cell would exceed — or did
   * exceed — the run's time budget or memory limit; `error`: it threw (or returned NaN/Inf).
   */
  readonly status: 'skipped' | 'error';
  readonly reason: string;
  readonly path: null;
  readonly timing: null;
  readonly cost: null;
  /** What the prepare phase measured before the cell stopped (e.g. a prepare over the time budget), or null. */
  readonly prepare: PreparePhase | null;
  readonly fidelity: null;
  readonly modeledQpuSeconds: null;
  readonly rss: CellRss | null;
  /** Where it ran (absent in files written before it was recorded). */
  readonly host?: RecordHost;
}

export type BenchRecord = OkRecord | FailedRecord;

/** `time`: median query time (`timing`); `prepareTime`: median prepare time (`prepare.timing`). */
export type FitMetric = 'time' | 'prepareTime' | 'scoreEvaluations' | 'oracleQueries' | 'groverIterations' | 'samples' | 'selectedPerQuery';

/** log(metric) = intercept + exponent·log(n), least squares over nMin…nMax (natural logs). */
export interface FitEntry {
  readonly method: string;
  /** The variant (CellIdentity.variant) the fit is over. */
  readonly variant: string;
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
  /** The run's variants (labels; a method's name when it has one setting), in run order. */
  readonly methods: readonly string[];
  /** `--budget`: the per-query budgets swept, or null. */
  readonly budgets: readonly number[] | null;
  readonly workloads: readonly string[];
  readonly mode: BenchMode;
  readonly lengths: readonly number[];
  readonly queries: number;
  readonly dim: number;
  readonly causal: boolean;
  readonly quick: boolean;
  readonly fitMinN: number;
  readonly timing: TimingPlan;
  /**
   * A cell whose prepare or one attend would take (extrapolated from smaller n) or took longer than this is
   * skipped, seconds (`--budget-s`); null in files from schema 1.
   */
  readonly budgetS: number | null;
  /** `--prepare-budget-s`: a flat prepare budget, seconds; null (or absent in older files) when prepare has budgetS. */
  readonly prepareBudgetS?: number | null;
  /** `--max-memory-gib` in bytes, or null: the limit is then derived from the memory available at the start. */
  readonly maxMemoryBytes: number | null;
  /** The run's reference policy (files of schema 1 hold the older one). */
  readonly referencePolicy: ReferencePolicy | ReferencePolicyV1;
  readonly npy: { readonly q: string; readonly k: string; readonly v: string } | null;
}

/** bench/reference.ts ReferencePolicy as schema 1 wrote it (maxCachedWeights where schema 2 has maxSummaryWeights and maxWorkerInputBytes). */
export interface ReferencePolicyV1 {
  readonly maxFloat64Macs: number;
  readonly maxCachedWeights: number;
  readonly parallelMinMacs: number;
}

export interface BenchMeta {
  /** RFC 3339 (Date.toISOString). @format date-time */
  readonly createdAt: string;
  /** @format date-time */
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
  /** process.resourceUsage().maxRSS at the end of the run (the whole run's high-water mark). */
  readonly peakRssBytes: number | null;
  /** The memory limit cells were checked against (predicted peak RSS), bytes; null in files from schema 1. */
  readonly memoryLimitBytes: number | null;
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

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * A schema-1 document in the schema-2 shape, so results written before prepare was timed apart still open in
 * `qattn chart` / `qattn report`: records get `prepare: null` (their `timing` included it) and `rss: null`,
 * the timing plan becomes the query phase of a plan without a prepare phase of its own. Anything else is
 * returned as it is (validation then says what is wrong).
 */
export function upgradeResults(doc: unknown): unknown {
  return upgradeToV3(upgradeToV2(doc));
}

/**
 * A schema-2 document in the schema-3 shape: every record is its method's only variant (`variant` = method,
 * `budget` null), no record has a task accuracy, the run swept no budgets.
 */
function upgradeToV3(doc: unknown): unknown {
  if (!isObject(doc) || doc['schemaVersion'] !== 2 || !isObject(doc['meta']) || !Array.isArray(doc['records'])) return doc;
  const meta = doc['meta'];
  const config = isObject(meta['config']) ? { ...meta['config'], budgets: null } : meta['config'];
  const record = (r: unknown): unknown => {
    if (!isObject(r)) return r;
    const fidelity = isObject(r['fidelity']) ? { ...r['fidelity'], accuracy: null } : r['fidelity'];
    return { ...r, variant: r['method'], budget: null, fidelity };
  };
  const fits = Array.isArray(doc['fits']) ? doc['fits'].map((f: unknown) => (isObject(f) ? { ...f, variant: f['method'] } : f)) : doc['fits'];
  return { ...doc, schemaVersion: 3, meta: { ...meta, config }, records: doc['records'].map(record), fits };
}

function upgradeToV2(doc: unknown): unknown {
  if (!isObject(doc) || doc['schemaVersion'] !== 1 || !isObject(doc['meta']) || !Array.isArray(doc['records'])) return doc;
  const meta = doc['meta'];
  const config = isObject(meta['config']) ? meta['config'] : null;
  const timing = config && isObject(config['timing']) ? config['timing'] : null;
  const upgradedConfig = config && timing
    ? {
      ...config,
      // Schema 1 always made at least one timed call after the warm-up: no warm-up-only threshold.
      timing: {
        query: { ...timing, maxSamples: null },
        prepare: { budgetMs: 0, minSamples: 0, maxSamples: 0, singleSampleAboveMs: 0 },
        large: null,
      },
      budgetS: null, maxMemoryBytes: null,
    }
    : config;
  return {
    ...doc,
    schemaVersion: 2,
    meta: { ...meta, config: upgradedConfig, memoryLimitBytes: null },
    records: doc['records'].map((r: unknown) => (isObject(r) ? { ...r, prepare: null, rss: null } : r)),
  };
}
