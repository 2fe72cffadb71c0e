/**
 * The one head loop. A multi-head call is `heads` single-head calls — each prepared once and attended through
 * attention/run.ts — with the per-head costs combined as every cost field declares (attention/cost.ts) and the
 * per-head timings added up. `qattn attend` and the ONNX swap (infer/heads.ts) both go through here, so the
 * refusal reasons, timing and cost summation are the same everywhere.
 */
import { QattnError } from '../core/errors.ts';
import { combineHeadCosts } from './cost.ts';
import { queryOf } from './define.ts';
import { median } from '../core/stats.ts';
import { getMechanism } from './registry.ts';
import { attendPrepared, runAttention } from './run.ts';
import type { AttentionInput, AttentionOutput, CostReport, OptionValue, Options, PrepareCost } from './types.ts';

export interface HeadsOptions {
  /** Timed attends per head after the first (default 1); `ms` is the median of these. */
  readonly repeat?: number;
}

export interface HeadsRun {
  readonly options: Options;
  /** Prepare, summed over heads, milliseconds. */
  readonly prepareMs: number;
  /** The first attend after prepare, summed over heads: it includes any lazily built per-shape work. */
  readonly firstMs: number;
  /** Median of `repeat` further attends per head, summed over heads (firstMs when repeat = 0). */
  readonly ms: number;
  readonly cost: CostReport;
  readonly prepareCost: PrepareCost;
  /** The execution paths the heads took (usually one). */
  readonly paths: readonly string[];
}

function addPrepareCost(into: PrepareCost, c: PrepareCost): void {
  into.scoreEvaluations += c.scoreEvaluations;
  for (const [k, x] of Object.entries(c.extra)) into.extra[k] = (into.extra[k] ?? 0) + x;
}

/**
 * Runs `method` on heads 0…heads−1, handing each head's output to `write`. A user error from one head of
 * several says which head.
 */
export async function attendHeads(
  method: string, heads: number, head: (h: number) => AttentionInput, given: Readonly<Record<string, OptionValue>>,
  write: (h: number, out: AttentionOutput) => void, opts: HeadsOptions = {},
): Promise<HeadsRun> {
  const repeat = opts.repeat ?? 0;
  const costs: CostReport[] = [];
  const prepareCost: PrepareCost = { scoreEvaluations: 0, extra: {} };
  const paths = new Set<string>();
  let prepareMs = 0, firstMs = 0, ms = 0, options: Options = {};
  for (let h = 0; h < heads; h++) {
    try {
      const input = head(h);
      const r = await runAttention(method, input, given);
      const times: number[] = [];
      for (let i = 0; i < repeat; i++) times.push((await attendPrepared(r.prepared, queryOf(input))).ms);
      write(h, r.output);
      costs.push(r.output.cost);
      addPrepareCost(prepareCost, r.prepared.cost);
      if (r.output.path !== undefined) paths.add(r.output.path);
      prepareMs += r.prepareMs;
      firstMs += r.ms;
      ms += repeat > 0 ? median(times) : r.ms;
      options = r.options;
    } catch (err) {
      if (err instanceof QattnError && heads > 1) throw new QattnError(`head ${h} of ${heads}: ${err.message}`);
      throw err;
    }
  }
  const cost = combineHeadCosts(costs, getMechanism(method).costFields, method);
  return { options, prepareMs, firstMs, ms, cost, prepareCost, paths: [...paths] };
}
