/**
 * `npm run bench:budget` — every mechanism at equal per-query budgets (Sparse Frontier, arXiv 2504.17768: compare
 * at equal compute, not at each method's defaults). Each mechanism's knob is set from each budget B in 64, 256,
 * 1024, 4096 through its declared BudgetSpec (`qattn list` says what one unit is for each: keys kept, samples,
 * candidates scored, random features), on needle (operator fidelity) and single-key retrieval (task accuracy),
 * decode m = 16, d = 64, at n = 2^16 and 2^20 — the runner of `qattn bench` (bench/runner.ts), so every cell is
 * scored against float64 exact attention and timed like any other. MagicPIG's two published configurations
 * (K = 10 × L = 150 and K = 11 × L = 300, sampling mode; Chen et al., arXiv 2410.16179) run beside the sweep at
 * their own settings.
 *
 * Printed: per mechanism the smallest budget swept reaching relL2 ≤ 0.01 on needle and accuracy ≥ 0.9 on
 * single-key at each n — or "not reached", or why the cells did not run — with lsh's candidates actually scored;
 * then MagicPIG's compute fraction (keys scored / n) beside the paper's "about 2 %". A benchmark, not a test:
 * it writes results.json and the charts (fidelity-vs-budget, budget-to-target) under --out and exits 0.
 *
 * Flags: --out DIR (default results/budget-<timestamp>), --lengths L (default 2^16,2^20), --budget B,… (default
 * 64,256,1024,4096), --budget-s S (per-phase time budget, default 60), --prepare-budget-s S (default 120: an HNSW
 * build over 2^16 keys is measured, one over 2^20 — predicted near ten minutes on two cores — is skipped with
 * the reason), --quick (n = 2^10, 2^12, budgets 16, 64: a smoke test), --in RESULTS.json (print the tables of a
 * saved run again).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { QattnError } from '../core/errors.ts';
import { budgetReach, type BudgetReach } from './budget.ts';
import { buildConfig } from './config.ts';
import { formatN, table } from './format.ts';
import { cellKey } from './journal.ts';
import { collectGarbage, formatBytes, maxRssBytes } from './memory.ts';
import { startMeta, finishMeta } from './meta.ts';
import { buildDoc, outputPaths, timestampDir, writeResults } from './output.ts';
import { progressReporter } from './progress.ts';
import type { BenchRecord, OkRecord } from './results.ts';
import { runBench } from './runner.ts';

const WORKLOADS = ['needle', 'single-key'] as const;
/** MagicPIG's published configurations: K bits per table × L tables, importance sampling of the colliding keys. */
const MAGICPIG = [{ K: 10, L: 150 }, { K: 11, L: 300 }] as const;
/** The paper's figure for both: "about 2 %" of the keys' computation (Chen et al. 2024, §5). */
const MAGICPIG_PUBLISHED = 0.02;

interface Args {
  /** Print the tables of a saved run instead of running (--in RESULTS.json). */
  readonly input: string | null;
  readonly out: string;
  readonly lengths: string[];
  readonly budgets: string[];
  readonly budgetS: number;
  readonly prepareBudgetS: number;
}

function parse(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: { in: { type: 'string' }, out: { type: 'string' }, lengths: { type: 'string' }, budget: { type: 'string' }, 'budget-s': { type: 'string' }, 'prepare-budget-s': { type: 'string' }, quick: { type: 'boolean' } },
  });
  const quick = values.quick === true;
  const num = (name: string, raw: string | undefined, def: number): number => {
    const x = raw === undefined ? def : Number(raw);
    if (!(Number.isFinite(x) && x > 0)) throw new QattnError(`--${name} must be a positive number, got '${raw}'`);
    return x;
  };
  return {
    input: values.in ?? null,
    out: values.out ?? timestampDir(resolve('results')).replace(/([^/]+)$/, 'budget-$1'),
    lengths: [values.lengths ?? (quick ? '2^10,2^12' : '2^16,2^20')],
    budgets: [values.budget ?? (quick ? '16,64' : '64,256,1024,4096')],
    budgetS: num('budget-s', values['budget-s'], 60),
    prepareBudgetS: num('prepare-budget-s', values['prepare-budget-s'], 120),
  };
}

/** The MagicPIG variants as a --variants file (run at their own settings: "budget": null). */
function magicpigFile(): string {
  const dir = join(tmpdir(), `qattn-budget-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'magicpig.json');
  const entries = MAGICPIG.map(({ K, L }) => ({ label: `magicpig[K=${K},L=${L}]`, method: 'lsh', options: { bits: K, tables: L, mode: 'sample' }, budget: null }));
  writeFileSync(path, JSON.stringify(entries));
  return path;
}

/** A skip reason in a few words: "prepare ≈ 354s > 120s budget" from the runner's sentence. */
function shortReason(line: string): string {
  const why = line.replace(/^budget \d+: (skipped|error) — /, '');
  const m = /^(prepare|one attend) would take about (\S+) .*over the (\S+) /.exec(why);
  return m ? `${m[1]} ≈ ${m[2]} > ${m[3]} budget` : why.split(/[;(]/)[0]!.trim();
}

/** One table cell: the budget reached, "not reached", or why the cells did not run; lsh adds the candidates it scored. */
function reachCell(r: BudgetReach | undefined, records: readonly BenchRecord[]): string {
  if (!r) return '–';
  if (r.budget === null) {
    const skipped = r.notRun.map((x) => /^budget (\d+)/.exec(x)?.[1]).filter((x) => x !== undefined);
    if (r.swept.length) return `not reached (≤ ${r.swept.at(-1)}${skipped.length ? `; ${skipped.join(', ')} not run` : ''})`;
    return `not run: ${shortReason(r.notRun[0] ?? 'no cells')}`;
  }
  const rec = records.find((x): x is OkRecord => x.status === 'ok' && x.budget === r.budget && x.workload === r.workload && x.n === r.n && x.variant === `${r.base}[budget=${r.budget}]`);
  const scored = rec && r.method === 'lsh' && rec.cost.scoreEvaluations !== null ? ` (scored ${Math.round(rec.cost.scoreEvaluations / rec.m)})` : '';
  return `${r.budget}${scored}`;
}

function reachTable(records: readonly BenchRecord[], ns: readonly number[]): string {
  const reach = budgetReach(records);
  const bases = [...new Set(reach.map((r) => r.base))];
  const cols = WORKLOADS.flatMap((w) => ns.map((n) => [w, n] as const));
  const rows = bases.map((b) => [b, ...cols.map(([w, n]) => reachCell(reach.find((r) => r.base === b && r.workload === w && r.n === n), records))]);
  const header = ['method', ...cols.map(([w, n]) => `${w} ${formatN(n)}`)];
  return `smallest budget swept reaching relL2 ≤ 0.01 (needle) or accuracy ≥ 0.9 (single-key); lsh: candidates it actually scored per query in brackets:\n${table(header, rows)}`;
}

function baselineTable(records: readonly BenchRecord[]): string {
  const rows = records.filter((r): r is OkRecord => r.status === 'ok' && r.budget === null && !r.variant.startsWith('magicpig'))
    .map((r) => [r.variant, r.workload, formatN(r.n), r.fidelity.relL2.toExponential(1), r.fidelity.accuracy === null ? '–' : r.fidelity.accuracy.toFixed(3)]);
  return `baselines (every key; no budget knob):\n${table(['method', 'workload', 'n', 'relL2', 'accuracy'], rows)}`;
}

function magicpigTable(records: readonly BenchRecord[]): string {
  const rows = records.filter((r) => r.variant.startsWith('magicpig')).map((r) => {
    if (r.status !== 'ok') return [r.variant, r.workload, formatN(r.n), `${r.status}: ${r.reason}`, '', '', ''];
    const fraction = (r.cost.scoreEvaluations ?? 0) / (r.m * r.n);
    return [r.variant, r.workload, formatN(r.n), `${(100 * fraction).toFixed(1)} %`, `${(100 * MAGICPIG_PUBLISHED).toFixed(0)} % (paper, LLM keys)`,
      r.fidelity.relL2.toExponential(1), r.fidelity.accuracy === null ? '–' : r.fidelity.accuracy.toFixed(3)];
  });
  return `MagicPIG's published configurations (lsh mode=sample; compute fraction = keys scored / n):\n${table(['variant', 'workload', 'n', 'compute fraction', 'published', 'relL2', 'accuracy'], rows)}`;
}

function tables(records: readonly BenchRecord[], ns: readonly number[]): string[] {
  return [reachTable(records, ns), magicpigTable(records), baselineTable(records)];
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (args.input) {
    const { loadResults } = await import('./render.ts');
    const doc = loadResults(args.input);
    console.log(`bench:budget tables of ${args.input} (${doc.meta.argv.join(' ')}; ${doc.records.length} cells, ${((doc.meta.durationMs ?? 0) / 1000).toFixed(0)} s)\n`);
    console.log(tables(doc.records, doc.meta.config.lengths).join('\n\n'));
    return;
  }
  const paths = outputPaths(args.out);
  if (existsSync(paths.json)) throw new QattnError(`${paths.dir} already holds results: choose another --out`);
  // What ran, as the results' meta records it: this script and its flags.
  const argv = ['bench:budget', ...process.argv.slice(2)];
  const config = buildConfig({
    workloads: [...WORKLOADS], lengths: args.lengths, budget: args.budgets, variants: magicpigFile(),
    methods: ['exact', 'topk-exact', 'grover-topk', 'lsh', 'performer', 'ann-topk', 'l2-sampling', 'dequantized-topk', 'exact-gpujs'],
    // The HNSW build on every core, as a practitioner builds a long cache's index; its queries stay on one.
    opt: ['ann-topk.buildThreads=0'],
    budgetS: args.budgetS, prepareBudgetS: args.prepareBudgetS,
  });
  rmSync(join(tmpdir(), `qattn-budget-${process.pid}`), { recursive: true, force: true });
  const { plan } = config;
  const ns = config.record.lengths;
  const t0 = performance.now();
  console.log(`bench:budget: ${plan.methods.length} variants on ${WORKLOADS.join(', ')}, decode m = ${plan.m}, d = ${plan.d}, n = ${ns.map(formatN).join(', ')}, ` +
    `budgets ${config.record.budgets!.join(', ')}; ${args.budgetS} s per attend, ${args.prepareBudgetS} s per prepare; node ${process.version}`);
  const store = new Map<string, BenchRecord>();
  const progress = progressReporter(process.stderr);
  const meta = startMeta(argv, plan.seed, config.record, 0, plan.limits.memoryLimitBytes);
  const records = await runBench(plan, { get: (k) => store.get(k), add: (r) => void store.set(cellKey(r), r) }, progress);
  progress.end();
  collectGarbage();
  mkdirSync(paths.dir, { recursive: true });
  writeResults(paths, buildDoc(finishMeta(meta, t0), records, config.fitMinN), true);
  const { renderAll } = await import('./render.ts');
  const { report } = await renderAll(paths.json, paths.dir);
  const parts = tables(records, ns);
  parts.push(`${records.length} cells in ${((performance.now() - t0) / 1000).toFixed(0)} s; peak RSS ${formatBytes(maxRssBytes())}; results ${paths.json}, charts ${report}`);
  console.log(`\n${parts.join('\n\n')}`);
}

try {
  await main();
} catch (err) {
  if (!(err instanceof QattnError)) throw err;
  console.error(`bench:budget: ${err.message}`);
  process.exitCode = 2;
}
