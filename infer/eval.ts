/**
 * Downstream quality of a swapped attention mechanism (`qattn eval`): bits per byte of next-byte prediction of a
 * byte-level causal LM (models/gpt2-bytes) over windows of text, with the unmodified model — exact attention as
 * onnxruntime computes it — as the baseline in the same run, and per block what the mechanism did (keys per
 * query, density, output error against the unmodified block). bits/byte at position t is −log₂ of the
 * probability the model gave byte t from positions < t; a window's figure is the mean over its scored positions.
 *
 * The induction copy task: L bytes of validation text written twice in one window; what the second copy
 * (positions L + 1 … 2L − 1) gains over the first comes from attending about L positions back, so it is the
 * model-level counterpart of a retrieval task (Olsson et al. 2022, "In-context learning and induction heads").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QattnError } from '../core/errors.ts';
import { klDivergence, totalVariation } from '../attention/fidelity.ts';
import { referenceWeights } from '../attention/kernels/reference.ts';
import type { AttentionInput, AttentionOutput, OptionValue } from '../attention/types.ts';
import type { AttentionBlock } from './block.ts';
import { runReference, runSwapped, type SessionCache, type TensorMap } from './execute.ts';
import type { InferModel } from './model.ts';
import { gpt2BytesDir } from './models.ts';
import { fidelity, swapFacts } from './report.ts';
import { textFeeds } from './text.ts';
import { asFloat32 } from './tensors.ts';

/** The shipped validation corpora (models/gpt2-bytes/README.md: the bytes after floor(0.95 · length)). */
export const CORPORA = {
  typescript: { file: 'typescript-lib.validation.d.ts', what: 'TypeScript lib .d.ts, validation bytes [2,983,800, 3,140,843)' },
  fortunes: { file: 'fortunes.validation.txt', what: 'English (Debian fortunes), validation bytes [2,447,840, 2,576,674)' },
} as const;
export type CorpusName = keyof typeof CORPORA;

/** One scored window: its bytes, where they came from, and the first position scored. */
export interface EvalWindow {
  readonly source: string;
  /** Byte offset in the source (null for generated text). */
  readonly offset: number | null;
  readonly bytes: Uint8Array;
  /** Positions scoreFrom … length − 1 are scored (each predicted from the positions before it). */
  readonly scoreFrom: number;
  /** Copy task: the length L of each copy (the first copy, positions 1 … L − 1, is the no-copy baseline). */
  readonly copyOf?: number;
}

/** A corpus's text: a shipped validation set by name, or a user's file. */
export function corpusBytes(corpus: string): { source: string; bytes: Uint8Array } {
  if (corpus in CORPORA) {
    const c = CORPORA[corpus as CorpusName];
    return { source: `${corpus} (${c.what})`, bytes: readFileSync(join(gpt2BytesDir(), c.file)) };
  }
  try {
    return { source: corpus, bytes: readFileSync(corpus) };
  } catch (e) {
    throw new QattnError(`--corpus ${corpus}: not fortunes or typescript, and cannot read it as a file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** `count` consecutive windows of `size` bytes from the start of a corpus (so the bytes used are [0, count·size)). */
export function corpusWindows(corpus: string, count: number, size: number): EvalWindow[] {
  const { source, bytes } = corpusBytes(corpus);
  if (bytes.length < count * size) {
    throw new QattnError(`--corpus ${corpus} has ${bytes.length} bytes, fewer than --windows ${count} × --window-bytes ${size}`);
  }
  return Array.from({ length: count }, (_, i) => ({ source, offset: i * size, bytes: bytes.subarray(i * size, (i + 1) * size), scoreFrom: 1 }));
}

/**
 * The copy task's window: L bytes of a corpus's validation text (from `offset`), then the same L bytes again;
 * scored on the second copy. The unmodified model predicts a second copy far better than the first (measured on
 * English: 3.11 → 1.39 bits/byte at L = 128) only by attending back about L positions to the first: the gain is
 * in-context copying, and a mechanism that misses the match loses it. (Random strings do not work here: this
 * model has not learned to copy them — 8.88 bits/byte on the second copy of 256 random printable bytes.)
 */
export function copyWindow(corpus: string, length: number, offset: number): EvalWindow {
  if (!(Number.isInteger(length) && length >= 2 && length <= 512)) throw new QattnError(`the copy task's length must be an integer in [2, 512], got ${length}`);
  const { bytes: text } = corpusBytes(corpus);
  if (offset < 0 || offset + length > text.length) throw new QattnError(`the copy task needs ${length} bytes of ${corpus} from ${offset}; it has ${text.length}`);
  const half = text.subarray(offset, offset + length);
  const bytes = new Uint8Array(2 * length);
  bytes.set(half, 0);
  bytes.set(half, length);
  return { source: `copy task: ${length} bytes of ${corpus} written twice`, offset, bytes, scoreFrom: length + 1, copyOf: length };
}

/** C copy-task windows from the end of a corpus's validation text (away from the windows taken from its start). */
export function copyWindows(corpus: string, length: number, count: number): EvalWindow[] {
  const total = corpusBytes(corpus).bytes.length;
  return Array.from({ length: count }, (_, i) => copyWindow(corpus, length, total - (i + 1) * length));
}

/** Mean bits per byte over positions scoreFrom … T − 1 of logits [1, T, 256]: −log₂ softmax(logits[t − 1])[byte t]. */
export function bitsPerByte(logits: Float32Array, bytes: Uint8Array, scoreFrom: number): number {
  const V = 256;
  let total = 0;
  for (let t = scoreFrom; t < bytes.length; t++) {
    const row = (t - 1) * V;
    let mx = -Infinity;
    for (let j = 0; j < V; j++) mx = Math.max(mx, logits[row + j]!);
    let z = 0;
    for (let j = 0; j < V; j++) z += Math.exp(logits[row + j]! - mx);
    total += (Math.log(z) + mx - logits[row + bytes[t]!]!) / Math.LN2;
  }
  return total / (bytes.length - scoreFrom);
}

/** A window's bytes as the model's feeds (its tokens are the bytes; no padding in a single row). */
const feeds = (w: EvalWindow): TensorMap => textFeeds([[...w.bytes]], ['input_ids', 'attention_mask']);

export interface EvalVariant {
  readonly label: string;
  readonly method: string;
  readonly options: Readonly<Record<string, OptionValue>>;
  /** The per-query budget these options spend (`qattn eval --budget`; the mechanism's BudgetSpec), or null. */
  readonly budget: number | null;
}

/**
 * Query rows per head the attention-row metrics score: every ROW_STRIDE-th (64 float64 rows of a 1024-byte window
 * per head), which keeps them to a few percent of an eval's time.
 */
export const ROW_STRIDE = 16;

/** Attention-row metrics of one head, means over its scored rows (mechanisms whose rows are a restricted softmax). */
export interface HeadRows {
  /** Total variation ½Σ|p − q| between exact attention's row p and the mechanism's q. */
  readonly tv: number;
  /** KL(q ‖ p) = −ln(exact mass on the kept keys), nats: finite whenever any key is kept (null: a row kept no exact mass). */
  readonly klApproxExact: number | null;
  /**
   * Fraction of rows where KL(p ‖ q) — exact against the mechanism — is finite: only where every key of nonzero
   * exact weight was kept (k ≥ the visible keys). Dropping any key makes it infinite.
   */
  readonly klExactApproxFinite: number;
  readonly rows: number;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** x, or null where it is not finite (JSON has no Infinity or NaN; eval.json's schema says what null means). */
const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** The mean of values that may be null (not finite): null if any is. */
const meanOrNull = (xs: readonly (number | null)[]): number | null => (xs.some((x) => x === null) ? null : mean(xs as number[]));

/** HeadRows of one head's output, or null when the mechanism's rows are not a restricted softmax. */
export function headRows(input: AttentionInput, output: AttentionOutput, stride = ROW_STRIDE): HeadRows | null {
  if (output.weights !== 'restricted-softmax' || !output.selected) return null;
  let tv = 0, klq = 0, finite = 0, rows = 0;
  for (let i = 0; i < input.m; i += stride) {
    const p = referenceWeights(input, i);
    const keys = new Set(output.selected[i] ?? []);
    let mass = 0;
    for (const j of keys) mass += p[j]!;
    const q = new Float64Array(p.length);
    if (mass > 0) for (const j of keys) q[j] = p[j]! / mass;
    tv += mass > 0 ? totalVariation(p, q) : 1;
    klq += mass > 0 ? klDivergence(q, p) : Infinity;
    if (Number.isFinite(klDivergence(p, q))) finite++;
    rows++;
  }
  return { tv: tv / rows, klApproxExact: finiteOrNull(klq / rows), klExactApproxFinite: finite / rows, rows };
}

/** What one variant did in one block over the windows (means). */
export interface BlockEval {
  readonly block: number;
  readonly name: string;
  /** Keys attended per query ÷ keys visible (1: every key, the block computed exact attention); null if not reported. */
  readonly density: number | null;
  /** relL2 of the block's output against the unmodified model's, on the same window. */
  readonly relL2: number;
  /** Per head, attention-row metrics against exact attention on the same head input (null: the mechanism's rows are not a restricted softmax). */
  readonly heads: readonly (HeadRows | null)[];
}

export interface VariantEval {
  readonly label: string;
  readonly method: string;
  readonly options: Readonly<Record<string, OptionValue>>;
  /** The per-query budget of `qattn eval --budget`, or null. */
  readonly budget: number | null;
  /** Mean over windows of bits/byte. */
  readonly bitsPerByte: number;
  /** bitsPerByte − the unmodified model's, on the same windows. */
  readonly delta: number;
  readonly perWindow: readonly number[];
  /** Mean over windows of KL(unmodified ‖ swapped) of the next-byte distributions, nats per position (null: not finite). */
  readonly kl: number | null;
  readonly blocks: readonly BlockEval[];
  /** Mean total variation of attention rows over every swapped head (null when the mechanism exposes no rows). */
  readonly attentionTv: number | null;
  /** Wall time of the swapped runs, all windows, milliseconds (the simulator's, for quantum mechanisms). */
  readonly ms: number;
}

export interface SetEval {
  readonly source: string;
  readonly windows: readonly { readonly offset: number | null; readonly bytes: number; readonly scored: number }[];
  /** The unmodified model (exact attention in onnxruntime): the baseline. */
  readonly exactBitsPerByte: number;
  readonly exactPerWindow: readonly number[];
  /** Copy task: the unmodified model on the first copy (nothing to copy from yet), or null. */
  readonly exactFirstCopyBitsPerByte: number | null;
  readonly variants: readonly VariantEval[];
}

/** One block's measures on one window (plain data: a worker thread posts it). */
export interface WindowBlock {
  readonly index: number;
  readonly name: string;
  readonly density: number | null;
  readonly relL2: number;
  readonly heads: readonly (HeadRows | null)[];
}

/** One variant on one window. */
export interface WindowVariant {
  readonly bitsPerByte: number;
  /** KL(unmodified ‖ swapped) of the next-byte distributions, nats per position (null: not finite). */
  readonly kl: number | null;
  /** Wall time of the swapped run without the row metrics computed inside it, milliseconds. */
  readonly ms: number;
  readonly blocks: readonly WindowBlock[];
}

/** Everything one window gave: the unmodified model's bits/byte and each variant's measures. */
export interface WindowEval {
  readonly exact: number;
  /** Copy task: the unmodified model on the first copy; null for other windows. */
  readonly firstCopy: number | null;
  readonly variants: readonly WindowVariant[];
}

/**
 * One window: the unmodified model once, then each variant with the chosen layers swapped (all when `layers` is
 * null). `onVariant(v)` is called after variant v (−1: the unmodified model).
 */
export async function evalWindow(
  im: InferModel, w: EvalWindow, variants: readonly EvalVariant[], layers: readonly number[] | null, seed: number, sessions: SessionCache,
  onVariant?: (v: number) => void,
): Promise<WindowEval> {
  const f = feeds(w);
  const ref = await runReference(im, f, sessions);
  const refLogits = asFloat32(ref.get('logits')!, 'logits');
  const exact = bitsPerByte(refLogits, w.bytes, w.scoreFrom);
  const firstCopy = w.copyOf === undefined ? null : bitsPerByte(refLogits.subarray(0, w.copyOf * 256), w.bytes.subarray(0, w.copyOf), 1);
  onVariant?.(-1);
  const out: WindowVariant[] = [];
  for (let v = 0; v < variants.length; v++) {
    const variant = variants[v]!;
    const rowsOf = new Map<AttentionBlock, Map<number, HeadRows | null>>();
    let rowMs = 0;
    const onHeadOutput = (b: AttentionBlock, h: number, input: AttentionInput, o: AttentionOutput): void => {
      const r0 = performance.now();
      const m = rowsOf.get(b) ?? new Map<number, HeadRows | null>();
      m.set(h, headRows(input, o));
      rowsOf.set(b, m);
      rowMs += performance.now() - r0;
    };
    const t0 = performance.now();
    const { tensors, blocks } = await runSwapped(im, f, { method: variant.method, options: variant.options, seed, sessions, onHeadOutput, ...(layers ? { layers } : {}) });
    // Wall time of the swapped run without the row metrics computed inside it.
    const ms = performance.now() - t0 - rowMs;
    const logits = asFloat32(tensors.get('logits')!, 'logits');
    out.push({
      bitsPerByte: bitsPerByte(logits, w.bytes, w.scoreFrom),
      kl: finiteOrNull(fidelity(tensors.get('logits')!, ref.get('logits')!, true).kl ?? NaN),
      ms,
      blocks: blocks.map((r): WindowBlock => {
        const heads = rowsOf.get(r.block) ?? new Map<number, HeadRows | null>();
        return {
          index: im.blocks.indexOf(r.block), name: r.block.name, density: swapFacts(r).density,
          relL2: fidelity(tensors.get(r.block.output)!, ref.get(r.block.output)!, false).relL2,
          heads: Array.from({ length: heads.size ? Math.max(...heads.keys()) + 1 : 0 }, (_, h) => heads.get(h) ?? null),
        };
      }),
    });
    onVariant?.(v);
  }
  return { exact, firstCopy, variants: out };
}

/** One text set's result from its windows' (in window order): means over windows, per block and head. */
export function combineWindows(windows: readonly EvalWindow[], results: readonly WindowEval[], variants: readonly EvalVariant[]): SetEval {
  const exact = results.map((r) => r.exact);
  const firstCopy = results.flatMap((r) => (r.firstCopy === null ? [] : [r.firstCopy]));
  const exactBitsPerByte = mean(exact);
  return {
    source: windows[0]?.source ?? '',
    windows: windows.map((w) => ({ offset: w.offset, bytes: w.bytes.length, scored: w.bytes.length - w.scoreFrom })),
    exactBitsPerByte, exactPerWindow: exact, exactFirstCopyBitsPerByte: firstCopy.length ? mean(firstCopy) : null,
    variants: variants.map((variant, v): VariantEval => {
      const runs = results.map((r) => r.variants[v]!);
      const byBlock = new Map<number, WindowBlock[]>();
      for (const run of runs) for (const b of run.blocks) byBlock.set(b.index, [...(byBlock.get(b.index) ?? []), b]);
      const blocks = [...byBlock].sort((a, b) => a[0] - b[0]).map(([block, bs]): BlockEval => {
        const densities = bs.flatMap((b) => (b.density === null ? [] : [b.density]));
        const width = Math.max(0, ...bs.map((b) => b.heads.length));
        const heads = Array.from({ length: width }, (_, h): HeadRows | null => {
          const hs = bs.flatMap((b) => (b.heads[h] ? [b.heads[h]] : []));
          return hs.length ? {
            tv: mean(hs.map((x) => x.tv)), klApproxExact: meanOrNull(hs.map((x) => x.klApproxExact)),
            klExactApproxFinite: mean(hs.map((x) => x.klExactApproxFinite)), rows: hs.reduce((a, x) => a + x.rows, 0),
          } : null;
        });
        return { block, name: bs[0]!.name, density: densities.length ? mean(densities) : null, relL2: mean(bs.map((b) => b.relL2)), heads };
      });
      const tvs = blocks.flatMap((b) => b.heads.flatMap((h) => (h ? [h.tv] : [])));
      const bpb = mean(runs.map((r) => r.bitsPerByte));
      return {
        label: variant.label, method: variant.method, options: variant.options, budget: variant.budget, bitsPerByte: bpb, delta: bpb - exactBitsPerByte,
        perWindow: runs.map((r) => r.bitsPerByte), kl: meanOrNull(runs.map((r) => r.kl)), ms: runs.reduce((a, r) => a + r.ms, 0), blocks,
        attentionTv: tvs.length ? mean(tvs) : null,
      };
    }),
  };
}
