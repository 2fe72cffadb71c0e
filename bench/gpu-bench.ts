/**
 * `npm run bench:gpu` — does the gpu.js path help on this machine? (A benchmark, not a test.)
 *
 * Attention, prefill m = n = N, d = dv = 64, N = 2^10 … 2^14: `exact` (onnxruntime, its auto path) beside
 * `exact-gpujs`, interleaved per round; GFLOP/s = 4·m·n·d / time, and the relative L2 gap between the two.
 * Grover, 16 … 22 qubits, 4 marked states: ms per iteration of the float64 CPU `statevector` backend beside
 * the float32 `gpujs` backend (each rep a fresh backend running ITERATIONS iterations from |s⟩), and the
 * marked-probability gap. Every gpu.js row names the mode gpu.js ran in (gpu = GL through headless-gl).
 *
 * Usage: npm run bench:gpu [-- --mode auto|gpu|webasm|cpu]. gpu.js's CPU modes are slow at large N: a size
 * whose predicted call time (4× the previous N's) exceeds CALL_LIMIT_MS is skipped, and says so.
 */
import { parseArgs } from 'node:util';
import { relL2 } from '../attention/fidelity.ts';
import { exact } from '../attention/mechanisms/exact.ts';
import { exactGpujs } from '../attention/mechanisms/exact-gpujs.ts';
import { resolveOptions } from '../attention/options.ts';
import { releaseSessions } from '../attention/kernels/ort/sessions.ts';
import { GPUJS_MODES, gpujsStatus, type GpujsMode } from '../core/gpujs/runtime.ts';
import type { AttentionInput, AttentionOutput } from '../attention/types.ts';
import { markedOracle } from '../oracles/oracle.ts';
import { createStatevectorBackend } from '../oracles/backends/statevector.ts';
import { createGpujsBackend } from '../oracles/backends/gpujs.ts';
import { formatMs, table } from './format.ts';
import { median } from '../core/stats.ts';
import { gaussianPrefill } from './workloads/gaussian.ts';

const D = 64;
const ATTENTION_N = [2 ** 10, 2 ** 11, 2 ** 12, 2 ** 13, 2 ** 14];
const QUBITS = [16, 17, 18, 19, 20, 21, 22];
const ITERATIONS = 24;
const CALL_LIMIT_MS = 120_000;


async function timed(run: () => Promise<AttentionOutput>): Promise<{ ms: number; out: AttentionOutput }> {
  const t0 = performance.now();
  const out = await run();
  return { ms: performance.now() - t0, out };
}


/** Rounds per N: several where a call is short, one (no warm-up beyond kernel compilation) where it is long. */
const roundsFor = (predictedMs: number): number => (predictedMs < 2_000 ? 5 : predictedMs < 20_000 ? 2 : 1);

async function attentionRow(n: number, mode: GpujsMode, predictedMs: number): Promise<{ row: string[]; gpujsMs: number }> {
  const input = gaussianPrefill(n, D);
  const ortOpts = resolveOptions(exact), gpuOpts = resolveOptions(exactGpujs, { mode });
  const ort = await exact.attend(input, ortOpts); // warm-up: session creation
  const rounds = roundsFor(predictedMs);
  const ortMs: number[] = [], gpuMs: number[] = [];
  let gpu: AttentionOutput | null = null;
  for (let r = 0; r < rounds; r++) {
    // Alternate the order so drift in machine load hits both sides alike.
    const pair = r % 2 ? ['gpu', 'ort'] : ['ort', 'gpu'];
    for (const side of pair) {
      if (side === 'ort') ortMs.push((await timed(() => exact.attend(input, ortOpts))).ms);
      else {
        const t = await timed(() => exactGpujs.attend(input, gpuOpts));
        gpuMs.push(t.ms);
        gpu = t.out;
      }
    }
  }
  const o = median(ortMs), g = median(gpuMs);
  const gf = (ms: number): string => ((4 * n * n * D) / (ms * 1e6)).toFixed(2);
  const row = [`2^${Math.log2(n)}`, ort.path ?? '', formatMs(o), gf(o), gpu?.path ?? '', formatMs(g), gf(g), (g / o).toFixed(1),
    relL2(gpu!.out, ort.out).toExponential(1), String(rounds)];
  return { row, gpujsMs: g };
}

async function attention(mode: GpujsMode): Promise<void> {
  console.log(`\nExact attention, prefill m = n = N, d = dv = ${D} (medians; GF/s = 4·m·n·d / time)`);
  const rows: string[][] = [];
  let last = 0;
  for (const n of ATTENTION_N) {
    const predicted = last * 4;
    if (predicted > CALL_LIMIT_MS) {
      rows.push([`2^${Math.log2(n)}`, '', '', '', `skipped: predicted ${formatMs(predicted)} a call`, '', '', '', '', '']);
      continue;
    }
    const { row, gpujsMs } = await attentionRow(n, mode, predicted);
    rows.push(row);
    last = gpujsMs;
  }
  console.log(table(['N', 'exact path', 'ms', 'GF/s', 'gpu.js path', 'ms', 'GF/s', 'gpujs/ort time', 'relL2 gap', 'rounds'], rows, [1, 4]));
  await releaseSessions();
}

/** ms per iteration of `ITERATIONS` iterations from |s⟩ on a fresh backend, and the marked probability after them. */
function groverRun(prepare: () => { markedProbability(r: number): number }): { msPerIt: number; p: number } {
  const t0 = performance.now();
  const p = prepare().markedProbability(ITERATIONS);
  return { msPerIt: (performance.now() - t0) / ITERATIONS, p };
}

function grover(mode: GpujsMode): void {
  console.log(`\nGrover iterations (oracle phase flip + diffusion) on the full state vector, 4 marked states, ${ITERATIONS} iterations a rep (medians of 3)`);
  const rows: string[][] = [];
  for (const q of QUBITS) {
    const N = 2 ** q;
    const oracle = markedOracle(N, [1, N / 4 + 3, N / 2 + 7, N - 2]);
    const sv: number[] = [], gj: number[] = [];
    let pSv = 0, pGj = 0, ran = '';
    for (let rep = 0; rep < 3; rep++) {
      const a = groverRun(() => createStatevectorBackend().prepare(oracle));
      const backend = createGpujsBackend({ mode });
      const b = groverRun(() => backend.prepare(oracle));
      sv.push(a.msPerIt), gj.push(b.msPerIt), pSv = a.p, pGj = b.p, ran = backend.ran().join('+');
    }
    const s = median(sv), g = median(gj);
    rows.push([String(q), formatMs(s), `gpujs-${ran}`, formatMs(g), (g / s).toFixed(1), Math.abs(pGj - pSv).toExponential(1)]);
  }
  console.log(table(['qubits', 'statevector (f64) ms/it', 'gpu.js path', 'ms/it', 'gpujs/statevector time', '|Δ P(marked)|'], rows, [2]));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { mode: { type: 'string', default: 'auto' } } });
  const mode = GPUJS_MODES.find((m) => m === values.mode);
  if (!mode) throw new Error(`--mode must be one of ${GPUJS_MODES.join(', ')}`);
  console.log(`gpu-bench: node ${process.version}, ${process.arch}; ${gpujsStatus()}; requested mode '${mode}'`);
  await attention(mode);
  grover(mode);
  console.log(`\nPeak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

await main();
