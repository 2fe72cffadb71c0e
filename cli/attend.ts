/**
 * `qattn attend`: runs one registered mechanism on Q/K/V .npy files and writes O as a float32 .npy.
 * Multi-head inputs go through the one head loop (attention/heads.ts: a prepared cache per head), and every check —
 * flags, method, options, shapes, output directory — runs before any computation, so a mistake costs nothing
 * and leaves no output file behind.
 */
import { checkOutputFile, checkParentDir } from '../core/fs-safe.ts';
import { writeNpy } from '../io/npy.ts';
import { parseOptPairs, resolveOptions } from '../attention/options.ts';
import { attendHeads } from '../attention/heads.ts';
import { getMechanism } from '../attention/registry.ts';
import type { AttentionInput } from '../attention/types.ts';
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
  --repeat R         after the first attend, time R more on the same prepared cache and report their
                       median as ms (default 0: ms is the first attend)
  --json             print one JSON line {method, options, shape, ms, firstMs, prepareMs, repeat, cost,
                       prepareCost, path}: prepareMs is the once-per-cache work (sessions, indexes, hash
                       tables, trees, key features), firstMs the first attend after it (it includes work
                       built lazily per query shape, such as an onnxruntime session), ms the attend time
                       (median of --repeat, else firstMs); each summed over heads. Cost fields combine over
                       heads as \`qattn list\` declares (counts add up, per-query means average, qubits and
                       per-call noise take the largest head); prepareCost counts the once-per-cache work`;

const FLAGS = {
  method: { type: 'string' }, opt: { type: 'string', multiple: true },
  q: { type: 'string' }, k: { type: 'string' }, v: { type: 'string' }, mask: { type: 'string' },
  causal: { type: 'boolean' }, scale: { type: 'string' }, seed: { type: 'string' },
  out: { type: 'string' }, json: { type: 'boolean' }, repeat: { type: 'string' }, ...HELP_FLAG,
} as const;

type Common = Pick<AttentionInput, 'causal' | 'scale' | 'seed'>;

/** Head h of the loaded tensors as a one-head input (views, no copies). */
function headInput(t: AttendTensors, common: Common, h: number): AttentionInput {
  const { m, n, d, dv } = t;
  const mask = t.mask && (t.mask.perHead ? t.mask.data.subarray(h * m * n, (h + 1) * m * n) : t.mask.data);
  return {
    q: t.q.subarray(h * m * d, (h + 1) * m * d), k: t.k.subarray(h * n * d, (h + 1) * n * d),
    v: t.v.subarray(h * n * dv, (h + 1) * n * dv), m, n, d, dv, ...common, ...(mask ? { mask } : {}),
  };
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
  const repeat = intFlag('repeat', f.repeat, 0, 100_000) ?? 0;
  const tensors = loadAttendTensors(paths);
  const { m, dv, heads } = tensors;
  const out = new Float32Array(heads * m * dv);
  const r = await attendHeads(method, heads, (h) => headInput(tensors, common, h), given, (h, o) => out.set(o.out, h * m * dv), { repeat });
  const shape = [...tensors.lead, m, dv];
  writeNpy(outPath, { dtype: 'float32', shape, data: out });
  const path = r.paths.length ? r.paths.join(',') : null;
  if (f.json) {
    io.out(JSON.stringify({
      method, options: r.options, shape, ms: r.ms, firstMs: r.firstMs, prepareMs: r.prepareMs, repeat,
      cost: r.cost, prepareCost: r.prepareCost, path,
    }));
  } else {
    const evals = r.cost.scoreEvaluations;
    const timing = repeat > 0 ? `attend ${r.ms.toFixed(3)} ms (median of ${repeat}; first ${r.firstMs.toFixed(3)} ms)` : `attend ${r.ms.toFixed(3)} ms`;
    io.out(`${method}: wrote ${outPath} [${shape.join(', ')}] float32; prepare ${r.prepareMs.toFixed(3)} ms, ${timing}` +
      ` (${heads} head${heads === 1 ? '' : 's'}, ${evals} score evaluations${path ? `, path ${path}` : ''})`);
  }
  return 0;
}
