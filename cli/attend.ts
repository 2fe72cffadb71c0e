/**
 * `qattn attend`: runs one registered mechanism on Q/K/V .npy files and writes O as a float32 .npy.
 * Multi-head inputs loop over heads (each head is one runAttention call, like the library), and every check —
 * flags, method, options, shapes, output directory — runs before any computation, so a mistake costs nothing
 * and leaves no output file behind.
 */
import { QattnError } from '../core/errors.ts';
import { checkOutputFile, checkParentDir } from '../core/fs-safe.ts';
import { writeNpy } from '../io/npy.ts';
import { parseOptPairs, resolveOptions } from '../attention/options.ts';
import { combineHeadCosts } from '../attention/cost.ts';
import { getMechanism } from '../attention/registry.ts';
import { runAttention } from '../attention/run.ts';
import type { AttentionInput, CostReport, OptionValue, Options } from '../attention/types.ts';
import { HELP_FLAG, intFlag, numberFlag, parseFlags, requireFlag, type CliIo } from './args.ts';
import { loadAttendTensors, type AttendTensors } from '../io/attention-tensors.ts';

export const ATTEND_USAGE = `usage: qattn attend --method NAME --q Q.npy --k K.npy --v V.npy --out O.npy [flags]

Computes O = softmax(Q·Kᵀ·scale + mask)·V with one mechanism (see \`qattn list\`) and writes O as float32 .npy.

  --method NAME      mechanism to run (required)
  --opt key=value    mechanism option; repeatable (see \`qattn list\` for each mechanism's options)
  --q, --k, --v      input .npy files (float32, float64, int32 or int64; converted to float32):
                       Q [m, d], K [n, d], V [n, dv] for one head, or
                       Q [H, m, d], K [H, n, d], V [H, n, dv] (or [B, H, ...]) for several heads,
                       computed head by head; O is then [H, m, dv] (or [B, H, m, dv])
  --mask M.npy       additive mask: [n] or [m, n] shared by all heads, or [H, m, n] per head;
                       -inf masks a key out
  --causal           bottom-right aligned causal mask: query i sees keys 0..i+n-m (needs m <= n)
  --scale S          score scale (default 1/sqrt(d))
  --seed S           seed for randomized mechanisms (integer, default 0)
  --out O.npy        output file, written atomically (required)
  --json             print one JSON line {method, options, shape, ms, cost, path};
                       ms is the attention compute time alone, summed over heads; cost fields combine
                       over heads as \`qattn list\` declares (counts add up, per-query means average,
                       qubits and per-call noise take the largest head)`;

const FLAGS = {
  method: { type: 'string' }, opt: { type: 'string', multiple: true },
  q: { type: 'string' }, k: { type: 'string' }, v: { type: 'string' }, mask: { type: 'string' },
  causal: { type: 'boolean' }, scale: { type: 'string' }, seed: { type: 'string' },
  out: { type: 'string' }, json: { type: 'boolean' }, ...HELP_FLAG,
} as const;

interface HeadsResult {
  readonly out: Float32Array;
  readonly options: Options;
  readonly ms: number;
  readonly cost: CostReport;
  readonly paths: string[];
}

type Common = Pick<AttentionInput, 'causal' | 'scale' | 'seed'>;

/** Runs the mechanism head by head; errors from a head of a multi-head input say which head. */
async function runHeads(method: string, t: AttendTensors, given: Record<string, OptionValue>, common: Common): Promise<HeadsResult> {
  const { m, n, d, dv, heads } = t;
  const out = new Float32Array(heads * m * dv);
  const costs: CostReport[] = [];
  const paths = new Set<string>();
  let ms = 0, options: Options = {};
  for (let h = 0; h < heads; h++) {
    const mask = t.mask && (t.mask.perHead ? t.mask.data.subarray(h * m * n, (h + 1) * m * n) : t.mask.data);
    const input: AttentionInput = {
      q: t.q.subarray(h * m * d, (h + 1) * m * d), k: t.k.subarray(h * n * d, (h + 1) * n * d),
      v: t.v.subarray(h * n * dv, (h + 1) * n * dv), m, n, d, dv, ...common, ...(mask ? { mask } : {}),
    };
    try {
      const r = await runAttention(method, input, given);
      out.set(r.output.out, h * m * dv);
      costs.push(r.output.cost);
      if (r.output.path !== undefined) paths.add(r.output.path);
      ms += r.ms;
      options = r.options;
    } catch (err) {
      if (err instanceof QattnError && heads > 1) throw new QattnError(`head ${h} of ${heads}: ${err.message}`);
      throw err;
    }
  }
  return { out, options, ms, cost: combineHeadCosts(costs, getMechanism(method).costFields, method), paths: [...paths] };
}

export async function attendCommand(argv: string[], io: CliIo): Promise<number> {
  const f = parseFlags('attend', argv, FLAGS);
  if (f.help) {
    io.out(ATTEND_USAGE);
    return 0;
  }
  const method = requireFlag('attend', 'method', f.method);
  const paths = { q: requireFlag('attend', 'q', f.q), k: requireFlag('attend', 'k', f.k), v: requireFlag('attend', 'v', f.v), mask: f.mask };
  const outPath = requireFlag('attend', 'out', f.out);
  const given = parseOptPairs(f.opt ?? []);
  const common: Common = {
    causal: f.causal ?? false,
    seed: intFlag('seed', f.seed, 0, 0xffffffff) ?? 0,
    ...(f.scale !== undefined ? { scale: numberFlag('scale', f.scale) } : {}),
  };
  resolveOptions(getMechanism(method), given); // unknown method/option fails before any file is read
  // Fails early (before computing) if --out cannot be written: no directory, or not a new/regular file.
  checkParentDir(outPath);
  checkOutputFile(outPath);
  const tensors = loadAttendTensors(paths);
  const r = await runHeads(method, tensors, given, common);
  const shape = [...tensors.lead, tensors.m, tensors.dv];
  writeNpy(outPath, { dtype: 'float32', shape, data: r.out });
  const path = r.paths.length ? r.paths.join(',') : null;
  if (f.json) {
    io.out(JSON.stringify({ method, options: r.options, shape, ms: r.ms, cost: r.cost, path }));
  } else {
    const evals = r.cost.scoreEvaluations;
    io.out(`${method}: wrote ${outPath} [${shape.join(', ')}] float32 in ${r.ms.toFixed(3)} ms` +
      ` (${tensors.heads} head${tensors.heads === 1 ? '' : 's'}, ${evals} score evaluations${path ? `, path ${path}` : ''})`);
  }
  return 0;
}
