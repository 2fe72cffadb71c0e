/**
 * `qattn eval`: downstream quality of swapped attention on a trained causal LM — bits/byte of next-byte
 * prediction of gpt2-bytes on its validation text (or a user's file), the unmodified model as the baseline in the
 * same run, per block what each mechanism did, and the induction copy task (infer/eval.ts).
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { QattnError } from '../core/errors.ts';
import { ensureDir } from '../core/fs-safe.ts';
import { getMechanism } from '../attention/registry.ts';
import { groupOpts, methodPlans, optVariants, parseBudgets, readVariantsFile, variantLabel, type VariantSpec } from '../bench/variants.ts';
import { formatMs, table } from '../bench/format.ts';
import { copyWindows, corpusWindows, ROW_STRIDE, type EvalVariant, type SetEval } from '../infer/eval.ts';
import { evaluateSets } from '../infer/eval-pool.ts';
import { loadInferModel } from '../infer/model.ts';
import { resolveModel } from '../infer/models.ts';
import { EVAL_KIND, EVAL_SCHEMA_VERSION, type EvalDoc } from '../infer/eval-doc.ts';
import { writeEvalReport } from '../infer/eval-report.ts';
import { HELP_FLAG, intFlag, parseFlags, type CliIo } from './args.ts';

/**
 * The default suite: exact swapped in (it must equal the unmodified model), topk-exact at three k, grover-topk
 * at k = 32 noiseless and under one hardware profile's noise, and every other mechanism at its defaults.
 */
export const DEFAULT_SUITE: readonly string[] = [
  'exact', 'topk-exact.k=8', 'topk-exact.k=32', 'topk-exact.k=128', 'grover-topk.k=32', 'grover-topk.k=32,hardware=superconducting',
  'lsh', 'performer', 'l2-sampling', 'dequantized-topk', 'ann-topk',
];

/** Worker threads by default: two cores' worth (the machines qattn is measured on have two). */
export const DEFAULT_JOBS = Math.max(1, Math.min(2, availableParallelism()));

/** `--budget` without `--attention`: every mechanism of the default suite at its defaults, swept over the budgets. */
export const BUDGET_SUITE: readonly string[] = [
  'exact', 'topk-exact', 'grover-topk', 'grover-topk.hardware=superconducting', 'lsh', 'performer', 'l2-sampling', 'dequantized-topk', 'ann-topk',
];

export const EVAL_USAGE = `usage: qattn eval [--model gpt2-bytes] [--attention a,b,…] [--opt m.key=v[,v…] …] [--variants FILE] [flags]

Bits per byte of next-byte prediction of a byte-level causal LM with its attention blocks replaced by qattn
mechanisms, against the unmodified model (exact attention in onnxruntime) on the same windows, and the
induction copy task. Without --attention or --variants the default suite runs:
  ${DEFAULT_SUITE.join(', ')}

  --model M           gpt2-bytes (default; shipped in models/) or a path to a byte-level causal LM .onnx
  --attention a,b,…   mechanisms (see \`qattn list\`); each at its defaults unless --opt sets it
  --opt m.key=v       option of mechanism m; a comma list runs one labelled variant per value; repeatable
  --variants FILE     a JSON array of configured variants, [{"label"?, "method", "options"?, "budget"?: null}]
  --budget B,…        run every variant at each per-query budget B (its mechanism's budget knob, \`qattn list\`;
                        exact once, as the baseline); without --attention: ${BUDGET_SUITE.join(', ')}
  --corpus C,…        typescript, fortunes (the validation bytes of the model's two corpora; default both) or a file
  --windows W         windows per corpus (default 16), consecutive from the corpus's first byte (0: only the
                        copy task)
  --window-bytes T    bytes per window, ≤ 1024 (default 1024)
  --copy L            the copy task: L bytes of validation text written twice, scored on the second copy, beside
                        the unmodified model's first copy (default 256; 0: skip it)
  --copy-corpus C     the copy task's text: fortunes (default), typescript or a file; segments from its end
  --copy-windows C    copy-task windows (default 4)
  --layers 0,2        swap only these attention blocks (graph order); the others stay unmodified
  --seed S            seed of randomized mechanisms and the copy task (default 0)
  --jobs J            worker threads, each taking the next window (default ${DEFAULT_JOBS}: min(2, cores)); the numbers
                        do not depend on J, only the wall times do
  --json              print the results as one JSON document (per block and head: density, output error, and
                        for mechanisms whose rows are a restricted softmax the total variation and KL of their
                        attention rows against exact attention, on every ${ROW_STRIDE}th query row)
  --out DIR           also write DIR/eval.json and its downstream report DIR/index.html (\`qattn report --in
                        DIR/eval.json\` writes it again)`;

const FLAGS = {
  model: { type: 'string' }, attention: { type: 'string', multiple: true }, opt: { type: 'string', multiple: true }, variants: { type: 'string' }, budget: { type: 'string', multiple: true },
  corpus: { type: 'string' }, 'copy-corpus': { type: 'string' }, windows: { type: 'string' }, 'window-bytes': { type: 'string' }, copy: { type: 'string' }, 'copy-windows': { type: 'string' },
  layers: { type: 'string' }, seed: { type: 'string' }, jobs: { type: 'string' }, json: { type: 'boolean' }, out: { type: 'string' }, ...HELP_FLAG,
} as const;

/** The suite entry `grover-topk.k=32,hardware=superconducting` as a variant (label, mechanism, given options). */
function suiteEntry(entry: string): VariantSpec {
  const dot = entry.indexOf('.');
  const method = dot < 0 ? entry : entry.slice(0, dot);
  const pairs = dot < 0 ? [] : entry.slice(dot + 1).split(',').map((kv) => kv.split('=') as [string, string]);
  const [spec] = optVariants(getMechanism(method), Object.fromEntries(pairs));
  return { ...spec!, label: variantLabel(method, pairs) };
}

/** The run's variants: --attention with --opt lists and --variants, else a default suite; at each --budget when given. */
function variantsOf(f: ReturnType<typeof parseFlags<typeof FLAGS>>, windowBytes: number): EvalVariant[] {
  const opts = groupOpts(f.opt ?? []);
  const names = (f.attention ?? []).flatMap((a) => a.split(',')).map((x) => x.trim()).filter((x) => x !== '');
  for (const target of opts.keys()) if (!names.includes(target)) throw new QattnError(`--opt for ${target}, which is not among --attention`);
  const budgets = f.budget === undefined ? null : parseBudgets(f.budget);
  const fromFile = f.variants === undefined ? [] : readVariantsFile(f.variants);
  const specs: VariantSpec[] = !names.length && !fromFile.length
    ? (budgets ? BUDGET_SUITE : DEFAULT_SUITE).map(suiteEntry)
    : [...names.flatMap((name) => optVariants(getMechanism(name), opts.get(name))), ...fromFile];
  // methodPlans checks that labels are distinct and maps each budget through the mechanism's BudgetSpec at n = T.
  return methodPlans(specs, budgets, [windowBytes]).map((p) => ({ label: p.variant, method: p.mech.name, options: p.optionsAt(windowBytes), budget: p.budget }));
}

function parseLayers(raw: string | undefined, blocks: number): number[] | null {
  if (raw === undefined) return null;
  const layers = raw.split(',').map((x) => x.trim()).filter((x) => x !== '').map(Number);
  if (!layers.length || layers.some((l) => !Number.isInteger(l) || l < 0 || l >= blocks)) {
    throw new QattnError(`--layers must list block indices in [0, ${blocks - 1}] (the model has ${blocks} attention blocks), got '${raw}'`);
  }
  return [...new Set(layers)].sort((a, b) => a - b);
}

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : String(x));
const signed = (x: number): string => (x >= 0 ? `+${x.toFixed(3)}` : x.toFixed(3));

function setTable(title: string, s: SetEval): string {
  const rows = [['unmodified model (exact, onnxruntime)', f3(s.exactBitsPerByte), '—', '—', '—', '—', '—'],
    ...s.variants.map((v) => {
      const densities = v.blocks.map((b) => (b.density === null ? '–' : b.density.toFixed(2)));
      return [v.label, f3(v.bitsPerByte), signed(v.delta), (v.kl === null ? '∞' : v.kl.toExponential(2)), densities.join(' / '), v.attentionTv === null ? '–' : v.attentionTv.toFixed(3), formatMs(v.ms)];
    })];
  const scored = s.windows.reduce((a, w) => a + w.scored, 0);
  const first = s.exactFirstCopyBitsPerByte === null ? '' : `; the unmodified model's first copy, with nothing to copy from: ${f3(s.exactFirstCopyBitsPerByte)} bits/byte`;
  return `${title}: ${s.source}; ${s.windows.length} windows, ${scored} bytes scored${first}\n` +
    table(['attention', 'bits/byte', 'Δ vs exact', 'KL (nats/byte)', 'density per swapped block', 'attention TV', 'time'], rows);
}

export async function evalCommand(argv: string[], io: CliIo): Promise<number> {
  const f = parseFlags('eval', argv, FLAGS);
  if (f.help) {
    io.out(EVAL_USAGE);
    return 0;
  }
  const windows = intFlag('windows', f.windows, 0, 4096) ?? 16;
  const size = intFlag('window-bytes', f['window-bytes'], 2, 1024) ?? 1024;
  const variants = variantsOf(f, size);
  const copy = intFlag('copy', f.copy, 0, 512) ?? 256;
  const copyWindowCount = intFlag('copy-windows', f['copy-windows'], 1, 256) ?? 4;
  const seed = intFlag('seed', f.seed, 0, 0xffffffff) ?? 0;
  const jobs = intFlag('jobs', f.jobs, 1, 64) ?? DEFAULT_JOBS;
  const corpora = (f.corpus ?? 'typescript,fortunes').split(',').map((c) => c.trim()).filter((c) => c !== '');
  if (!corpora.length) throw new QattnError('--corpus needs at least one corpus');
  const sets = windows === 0 ? [] : corpora.map((c) => ({ name: c, windows: corpusWindows(c, windows, size) }));
  if (!sets.length && copy === 0) throw new QattnError('--windows 0 with --copy 0 leaves nothing to evaluate');
  if (copy > 0) sets.push({ name: 'copy', windows: copyWindows(f['copy-corpus'] ?? 'fortunes', copy, copyWindowCount) });
  if (f.out) ensureDir(f.out, 'output directory');
  const resolved = resolveModel(f.model ?? 'gpt2-bytes');
  const im = await loadInferModel(resolved.path);
  const layers = parseLayers(f.layers, im.blocks.length);
  const t0 = performance.now();
  const results = await evaluateSets(resolved.path, sets, variants, layers, seed, jobs, (done, total, set, what) => {
    if (!f.json || process.stderr.isTTY) io.err(`[${done}/${total} ${((performance.now() - t0) / 1000).toFixed(0)} s] ${set}: ${what}`);
  });
  const seconds = (performance.now() - t0) / 1000;
  const doc: EvalDoc = {
    kind: EVAL_KIND, schemaVersion: EVAL_SCHEMA_VERSION, createdAt: new Date().toISOString(), argv,
    model: resolved.path, layers, seed, windowBytes: size, jobs, seconds, sets: results,
  };
  if (f.out) await writeEvalReport(doc, f.out, true);
  if (f.json) io.out(JSON.stringify(doc));
  else {
    const swapped = layers ? `blocks ${layers.join(', ')} swapped` : `all ${im.blocks.length} attention blocks swapped`;
    io.out(`qattn eval: ${resolved.name ?? resolved.path}, ${swapped}; bits/byte of next-byte prediction (lower is better), baseline the unmodified model on the same windows\n`);
    for (const { name, result } of results) io.out(`${setTable(name === 'copy' ? 'copy task (second copy scored)' : name, result)}\n`);
    io.out(`${results.reduce((a, r) => a + r.result.windows.length, 0)} windows × ${variants.length + 1} models in ${seconds.toFixed(0)} s on ${jobs} worker thread${jobs === 1 ? '' : 's'} (times per variant are summed over windows)${f.out ? `; wrote ${join(f.out, 'eval.json')} and its report ${join(f.out, 'index.html')}` : ''}`);
  }
  return 0;
}
