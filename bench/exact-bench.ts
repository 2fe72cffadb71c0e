/**
 * `npm run bench:exact` — throughput of the `exact` mechanism (a benchmark, not a test).
 *
 * Prefill (self-attention, m = n = N, d = 64, N = 512 … 8192): exact.attend (the fast path through the
 * Mechanism interface), a raw onnxruntime session running the same MultiHeadAttention graph with pre-made
 * input tensors (session.run only), and the float64 reference while it stays under ~10 s a call. The three
 * are timed round-robin (interleaved, so machine-load drift hits all alike) and reported as medians; the
 * fast/raw ratio is the median of per-round ratios of back-to-back calls (pairedRatio).
 * Throughput counts 4·m·n·d flops (Q·Kᵀ and P·V, one multiply-add = 2 flops). The wrapper ratio at N = 4096
 * (fast-path GFLOP/s ÷ raw ORT GFLOP/s) must be ≥ 0.9.
 *
 * Decode (m = 16 queries over n = 2^20 and 2^22 keys, d = 64): GB/s of K and V streamed (2·n·d·4 bytes per
 * call) for exact.attend (auto path) and the streaming TypeScript kernel, then the process's peak RSS.
 */
import type * as Ort from 'onnxruntime-node';
import { exact } from '../attention/mechanisms/exact.ts';
import { resolveOptions } from '../attention/options.ts';
import { referenceAttention64 } from '../attention/kernels/reference.ts';
import { streamingAttention } from '../attention/kernels/streaming.ts';
import { buildAttentionModel } from '../attention/kernels/ort/graphs.ts';
import { loadOrt, releaseSessions, sessionOptions } from '../attention/kernels/ort/sessions.ts';
import { maxAbs } from '../attention/fidelity.ts';
import type { AttentionInput } from '../attention/types.ts';
import { createRng, type Rng } from '../core/rng.ts';
import { median } from '../core/stats.ts';
import { gaussianPrefill } from './workloads/gaussian.ts';

/** Both sides use ORT's default thread pool (one thread per core): this bench measures the machine's best. */
const THREADS = 0;
const D = 64;
const PREFILL_N = [512, 1024, 2048, 4096, 8192];
const RATIO_N = 4096;
/** Skip the reference at an N where its predicted call time (4× the previous N's) exceeds this. */
const REFERENCE_LIMIT_MS = 10_000;
const DECODE_M = 16;
const DECODE_N = [2 ** 20, 2 ** 22];

type Timer = () => Promise<unknown>;


interface Timings {
  /** Median ms per timer. */
  readonly median: Record<string, number>;
  /** Per-round ms per timer (rounds are aligned across timers). */
  readonly samples: Record<string, number[]>;
}

/** Runs each timer once per round, in round-robin order (reversed on odd rounds), after one warm-up each. */
async function interleaved(timers: Record<string, Timer>, rounds: number): Promise<Timings> {
  const names = Object.keys(timers);
  for (const name of names) await timers[name]!();
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 ? [...names].reverse() : names) {
      const t0 = performance.now();
      await timers[name]!();
      samples[name]!.push(performance.now() - t0);
    }
  }
  return { median: Object.fromEntries(names.map((n) => [n, median(samples[n]!)])), samples };
}

/**
 * Median over rounds of time(b) / time(a) — the throughput ratio a : b from back-to-back pairs, which share
 * the machine's load at that moment (on a shared machine this is far steadier than a ratio of medians).
 */
function pairedRatio(t: Timings, a: string, b: string): number {
  const ta = t.samples[a]!, tb = t.samples[b]!;
  return median(ta.map((x, i) => tb[i]! / x));
}

const gflops = (m: number, n: number, ms: number): number => (4 * m * n * D) / (ms * 1e6);
const fmt = (x: number, digits = 1): string => x.toFixed(digits).padStart(9);

/** Uniform [−1, 1) — for the GiB-sized decode inputs, where Box–Muller would dominate set-up time. */
function uniformArray(rng: Rng, len: number): Float32Array {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = rng.next() * 2 - 1;
  return a;
}

async function rawMhaSession(ort: typeof Ort): Promise<Ort.InferenceSession> {
  const bytes = buildAttentionModel({ kind: 'mha', causal: false, hasBias: false, scale: 1 / Math.sqrt(D) });
  return ort.InferenceSession.create(bytes, sessionOptions(THREADS));
}


/** Pre-made input tensors for the raw session (its timed calls are session.run alone). */
function rawFeeds(ort: typeof Ort, input: AttentionInput): Record<string, Ort.Tensor> {
  const { n } = input;
  return { q: new ort.Tensor('float32', input.q, [1, n, D]), k: new ort.Tensor('float32', input.k, [1, n, D]), v: new ort.Tensor('float32', input.v, [1, n, D]) };
}

interface PrefillRow {
  /** Fast-path throughput ÷ raw ORT throughput (paired, see pairedRatio). */
  readonly ratio: number;
  /** Reference call time, null when skipped. */
  readonly refMs: number | null;
}

/** One N: interleaved fast/raw medians, then one reference call if `runReference`. */
async function prefillRow(ort: typeof Ort, raw: Ort.InferenceSession, n: number, runReference: boolean): Promise<PrefillRow> {
  const input = gaussianPrefill(n, D);
  const options = resolveOptions(exact, { threads: THREADS });
  const feeds = rawFeeds(ort, input);
  const fast = await exact.attend(input, options);
  const rawOut = (await raw.run(feeds)).o!.data as Float32Array;
  const rounds = n > RATIO_N ? 9 : 31;
  const timed = await interleaved({ fast: () => exact.attend(input, options), raw: () => raw.run(feeds) }, rounds);
  const t = timed.median;
  let refMs: number | null = null, refErr = '';
  if (runReference) {
    const t0 = performance.now();
    const ref = referenceAttention64(input); // one call: seconds long at these sizes, so JIT noise is small
    refMs = performance.now() - t0;
    refErr = ` max|fast−ref| ${maxAbs(fast.out, ref).toExponential(1)}`;
  }
  const ratio = pairedRatio(timed, 'fast', 'raw');
  const refCols = refMs === null ? `${'—'.padStart(9)} ${'—'.padStart(9)}` : `${fmt(refMs, 0)} ${fmt(gflops(n, n, refMs), 2)}`;
  console.log(
    `${String(n).padStart(5)} ${fast.path!.padStart(8)} ${fmt(t.fast!, 2)} ${fmt(gflops(n, n, t.fast!))} ${fmt(t.raw!, 2)} ${fmt(gflops(n, n, t.raw!))}`
      + ` ${refCols} ${fmt(ratio, 3)}   max|fast−raw| ${maxAbs(fast.out, rawOut).toExponential(1)}${refErr}`,
  );
  return { ratio, refMs };
}

/** Absolute per-call cost of the Mechanism wrapper: a tiny input, where the attention itself is ~free. */
async function wrapperOverhead(ort: typeof Ort, raw: Ort.InferenceSession): Promise<void> {
  const input = gaussianPrefill(16, D);
  const options = resolveOptions(exact, { threads: THREADS });
  const feeds = rawFeeds(ort, input);
  const t = (await interleaved({ fast: () => exact.attend(input, options), raw: () => raw.run(feeds) }, 301)).median;
  console.log(`   16 (m = n = 16: per-call overhead) fast ${(t.fast! * 1e3).toFixed(0)} µs, raw ${(t.raw! * 1e3).toFixed(0)} µs`);
}

async function prefill(ort: typeof Ort): Promise<void> {
  console.log(`\nPrefill, m = n = N, d = ${D}: medians of interleaved runs; GFLOP/s = 4·m·n·d / time`);
  console.log('    N     path   fast ms  fast GF/s    raw ms   raw GF/s    ref ms  ref GF/s  fast/raw (paired median of raw ms / fast ms)');
  const raw = await rawMhaSession(ort);
  let lastRefMs: number | null = 0; // the reference is O(N²): the next N takes ~4× as long
  let ratio = NaN;
  for (const n of PREFILL_N) {
    const row = await prefillRow(ort, raw, n, lastRefMs !== null && lastRefMs * 4 < REFERENCE_LIMIT_MS);
    lastRefMs = row.refMs;
    if (n === RATIO_N) ratio = row.ratio;
  }
  await wrapperOverhead(ort, raw);
  await raw.release();
  console.log(`\nWrapper ratio at N = ${RATIO_N}: fast path / raw ORT throughput = ${ratio.toFixed(3)} (target ≥ 0.9: ${ratio >= 0.9 ? 'met' : 'NOT met'})`);
}

async function decodeRow(label: string, n: number, run: () => Promise<string>, rounds: number): Promise<void> {
  let path = '';
  const times: number[] = [];
  for (let r = 0; r < rounds + 1; r++) {
    const t0 = performance.now();
    path = await run();
    if (r > 0 || rounds === 0) times.push(performance.now() - t0); // the first call warms up (session, arena, JIT)
  }
  const ms = median(times);
  const gbs = (2 * n * D * 4) / (ms * 1e6);
  const log2 = Math.log2(n);
  console.log(`  2^${log2} keys  ${label.padEnd(20)} ${path.padEnd(10)} ${fmt(ms, 0)} ms ${fmt(gbs, 2)} GB/s  (${times.length} timed)`);
}

async function decode(): Promise<void> {
  console.log(`\nDecode, m = ${DECODE_M} queries, d = ${D}: GB/s of K and V streamed (2·n·d·4 bytes per call), medians`);
  const rng = createRng(7);
  const nMax = DECODE_N[DECODE_N.length - 1]!;
  const q = uniformArray(rng, DECODE_M * D), k = uniformArray(rng, nMax * D), v = uniformArray(rng, nMax * D);
  const options = resolveOptions(exact, { threads: THREADS });
  for (const n of DECODE_N) {
    const input: AttentionInput = { q, k: k.subarray(0, n * D), v: v.subarray(0, n * D), m: DECODE_M, n, d: D, dv: D };
    await decodeRow('exact.attend (auto)', n, async () => (await exact.attend(input, options)).path ?? '', 5);
    await decodeRow('streaming kernel', n, async () => { streamingAttention(input); return 'streaming'; }, n > 2 ** 20 ? 0 : 2);
  }
}

async function main(): Promise<void> {
  const ort = loadOrt();
  if (ort instanceof Error) throw ort;
  console.log(`exact-bench: node ${process.version}, onnxruntime-node ${ort.env.versions.common}, ${process.arch}`);
  await prefill(ort);
  await releaseSessions();
  await decode();
  console.log(`\nPeak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (process.resourceUsage().maxRSS)`);
}

await main();
