/**
 * `qattn bench`: the scaling benchmark — every mechanism across context lengths, scored for speed and
 * fidelity, written to results.json / results.csv (with a crash-safe journal for --resume), then summarized.
 */
import { resolve } from 'node:path';
import { QattnError } from '../core/errors.ts';
import { buildConfig, DEFAULT_BUDGET_S, DEFAULT_LENGTHS, DEFAULT_WORKLOADS, MAX_N } from '../bench/config.ts';
import { timestampDir } from '../bench/output.ts';
import { latestRun } from '../bench/resume.ts';
import { progressReporter } from '../bench/progress.ts';
import { runBenchmark } from '../bench/run-benchmark.ts';
import { connectQueue } from '../bench/queue/submit.ts';
import { DEFAULT_RUN } from '../bench/queue/names.ts';
import { formatSummary } from '../bench/summary.ts';
import { verdictShort } from '../bench/verdict.ts';
import { workloadNames } from '../bench/workloads/index.ts';
import { HELP_FLAG, intFlag, numberFlag, parseFlags, processIo, type CliIo } from './args.ts';

export const BENCH_USAGE = `usage: qattn bench [flags]

Runs every registered mechanism across context lengths and scores speed and fidelity against exact attention.

  --methods a,b,…     mechanisms to run (default: all registered; see \`qattn list\`)
  --workloads a,b,…   ${workloadNames.join(', ')}
                        (default: ${DEFAULT_WORKLOADS.join(', ')}); single-key, multi-key, multi-value and
                        aggregation are tasks, scored as accuracy
  --mode M            decode (m queries against n keys; default) or prefill (n × n)
  --lengths L         n values: 4096, 2^12, ranges 2^8..2^16 (powers of two), comma-separated (default decode
                        2^${Math.log2(DEFAULT_LENGTHS.decode[0])}..2^${Math.log2(DEFAULT_LENGTHS.decode[1])}, prefill 2^${Math.log2(DEFAULT_LENGTHS.prefill[0])}..2^${Math.log2(DEFAULT_LENGTHS.prefill[1])}; max decode 2^${Math.log2(MAX_N.decode)}, prefill 2^${Math.log2(MAX_N.prefill)})
  --queries m         decode queries per cell (default 16)
  --dim d             head dimension (default 64)
  --causal            bottom-right aligned causal mask
  --seed S            seed of workloads and randomized mechanisms (default 0)
  --opt x.key=value   option of method x (see \`qattn list\`) or parameter of workload x
                        (needle.needles, needle.mass, needle.queryNorm, zipf.alpha, clustered.clusters,
                        aggregation.matches, … — bench/README.md lists them); repeatable
                        a comma list (--opt grover-topk.k=8,32,128) runs one labelled variant per value
                        (grover-topk[k=8], …); several lists run their product
  --variants FILE     a JSON array of configured variants, [{"label"?, "method", "options"?, "budget"?: null}],
                        run beside --methods (without --methods, only the variants run); "budget": null
                        keeps one at its own settings under --budget
  --budget B,B,…      per-query budgets: each method's knob set from each budget as its mechanism declares
                        (\`qattn list\`: keys kept, samples, candidates, features), labelled name[budget=B];
                        methods without a knob (exact) run once, as the baseline
  --q/--k/--v FILE    .npy inputs for the npy workload, or --npy DIR holding q.npy, k.npy, v.npy
  --fit-min N         smallest n in the scaling fits when ≥ 3 lengths reach it (default 4096)
  --budget-s S        time budget for a cell's prepare and for one attend, seconds (default ${DEFAULT_BUDGET_S}; it grows with n
                        above 2^20, ×16 at 2^24): a cell that would exceed it (extrapolated from smaller n) or did
                        is recorded as skipped, with the figures; one still running at 3× is stopped (--resume)
  --prepare-budget-s S  a separate prepare budget, seconds, the same at every n (default: prepare has --budget-s):
                        e.g. measure an index build at 2^20 without letting it run at 2^22
  --max-memory-gib G  memory limit for the process's RSS (default 90 % of what is available at the start): a
                        (workload, n) or cell predicted to exceed it is recorded as skipped, with the figures
  --out DIR           output directory (default results/<timestamp>/)
  --resume            continue an interrupted run in --out (default: the newest run under results/)
  --quick             every mechanism at a few small n with short timing: a smoke test in seconds
  --json              print results.json on stdout instead of the summary
  --no-charts         do not render charts after the run
  --queue URL         run the cells on a queue instead of here: redis://HOST[:PORT][/DB] (BullMQ on Redis); any
                        number of \`qattn worker --queue URL\` processes, on any machines, run them, and this
                        process collects the records into --out as usual. Cells are content-addressed (job id =
                        hash of the cell and the code version): submitting again adds nothing already queued or done
  --run NAME          the queue's run name (default '${DEFAULT_RUN}'): workers take cells from --run NAME`;

const FLAGS = {
  methods: { type: 'string', multiple: true }, workloads: { type: 'string', multiple: true },
  mode: { type: 'string' }, lengths: { type: 'string', multiple: true },
  queries: { type: 'string' }, dim: { type: 'string' }, seed: { type: 'string' }, causal: { type: 'boolean' },
  opt: { type: 'string', multiple: true }, variants: { type: 'string' }, budget: { type: 'string', multiple: true }, q: { type: 'string' }, k: { type: 'string' }, v: { type: 'string' },
  npy: { type: 'string' }, 'fit-min': { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' },
  'budget-s': { type: 'string' }, 'prepare-budget-s': { type: 'string' }, 'max-memory-gib': { type: 'string' },
  quick: { type: 'boolean' }, json: { type: 'boolean' }, 'no-charts': { type: 'boolean' }, queue: { type: 'string' }, run: { type: 'string' }, ...HELP_FLAG,
} as const;

type Flags = ReturnType<typeof parseFlags<typeof FLAGS>>;

function outDir(flags: Flags): string {
  if (flags.out !== undefined) return flags.out;
  if (!flags.resume) return timestampDir(resolve('results'));
  const last = latestRun(resolve('results'));
  if (!last) throw new QattnError('--resume: no unfinished run under results/ (a bare --resume only looks at results/<timestamp>/ runs; pass --out DIR)');
  return last;
}

export async function benchCommand(argv: string[], io: CliIo = processIo): Promise<number> {
  const flags = parseFlags('bench', argv, FLAGS);
  if (flags.help) {
    io.out(BENCH_USAGE);
    return 0;
  }
  const config = buildConfig({
    ...flags, fitMin: intFlag('fit-min', flags['fit-min'], 1, MAX_N.decode),
    queries: intFlag('queries', flags.queries, 1, 65536), dim: intFlag('dim', flags.dim, 1, 4096),
    seed: intFlag('seed', flags.seed, 0, 2 ** 32 - 1),
    budgetS: numberFlag('budget-s', flags['budget-s'], 0.001, 1e7),
    prepareBudgetS: numberFlag('prepare-budget-s', flags['prepare-budget-s'], 0.001, 1e7), maxMemoryGib: numberFlag('max-memory-gib', flags['max-memory-gib'], 0.01, 1e6),
  });
  const progress = progressReporter(process.stderr, flags.json === true && !process.stderr.isTTY);
  const queue = flags.queue === undefined ? null : await connectQueue(flags.queue, flags.run, config);
  try {
    const r = await runBenchmark(config, {
      dir: outDir(flags), resume: flags.resume === true, argv, hooks: progress, charts: false,
      ...(queue ? { execute: queue.execute } : {}),
    });
    progress.end();
    if (flags.json) io.out(JSON.stringify(r.doc, null, 1));
    else {
      const verdict = verdictShort(r.doc);
      const where = queue ? ` on the queue ${queue.describe()}` : '';
      io.out(`${formatSummary(r.doc.records, r.doc.fits)}${verdict ? `\n\n${verdict}` : ''}\n\nresults: ${r.paths.json} (${r.doc.records.length} cells${where}, ${r.seconds.toFixed(1)} s)`);
    }
    // After the results are safely written and reported, so a chart failure never costs a run.
    if (!flags['no-charts']) {
      const { renderAll } = await import('../bench/render.ts');
      const report = (await renderAll(r.paths.json, r.paths.dir)).report;
      // stderr under --json, so stdout stays one JSON document.
      (flags.json ? io.err : io.out)(`report: ${report} (charts beside it)`);
    }
    return 0;
  } finally {
    progress.end();
    await queue?.close();
  }
}
