/**
 * The cited GPU reference figures (bench/reference-data/gpu-h200-attention.jsonl; source and method in
 * bench/reference-data/README.md): classical attention timed on one NVIDIA H200, bf16, d = 128. Read from the
 * copy in this repository only — a fresh clone renders the same crossover chart.
 */
import { readFileSync } from 'node:fs';

export const GPU_REFERENCE_FILE = new URL('../reference-data/gpu-h200-attention.jsonl', import.meta.url);
/** The head dimension of every GPU reference row (the only one the data has). */
export const GPU_REFERENCE_DIM = 128;
export const GPU_REFERENCE_SOURCE = 'one NVIDIA H200, PyTorch 2.11, bf16, d = 128, median of 10 runs (bench/reference-data/)';

export interface GpuReferenceRow {
  readonly kind: string;
  readonly n: number | null;
  readonly m: number | null;
  readonly k: number | null;
  readonly d: number | null;
  readonly msMedian: number | null;
}

/** A GPU series: one kind (and k or m), sorted by n. */
export interface GpuSeries {
  readonly name: string;
  readonly points: ReadonlyArray<{ readonly n: number; readonly ms: number }>;
}

const num = (o: Record<string, unknown>, key: string): number | null => {
  const x = o[key];
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
};

/** Parses the JSONL text; a malformed line is a bug in the committed data and throws naming the line. */
export function parseGpuReference(text: string): GpuReferenceRow[] {
  return text.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    const o: unknown = JSON.parse(line);
    if (typeof o !== 'object' || o === null || typeof (o as { kind?: unknown }).kind !== 'string') {
      throw new Error(`internal: ${GPU_REFERENCE_FILE.pathname}:${i + 1} is not a {kind, …} object`);
    }
    const r = o as Record<string, unknown>;
    return [{ kind: r['kind'] as string, n: num(r, 'n'), m: num(r, 'm'), k: num(r, 'k'), d: num(r, 'd'), msMedian: num(r, 'ms_median') }];
  });
}

let cached: GpuReferenceRow[] | null = null;

export function loadGpuReference(): GpuReferenceRow[] {
  cached ??= parseGpuReference(readFileSync(GPU_REFERENCE_FILE, 'utf8'));
  return cached;
}

function series(rows: readonly GpuReferenceRow[], name: string, pick: (r: GpuReferenceRow) => boolean): GpuSeries {
  const points = rows.filter((r) => pick(r) && r.n !== null && r.msMedian !== null)
    .map((r) => ({ n: r.n!, ms: r.msMedian! }))
    .sort((a, b) => a.n - b.n);
  return { name, points };
}

/**
 * The two classical competitors of a Grover top-k on one decode query: scores + top-k (the same selection,
 * done by a scan; k = 32) and exact decode attention (m = 1).
 */
export function gpuCompetitors(rows: readonly GpuReferenceRow[] = loadGpuReference()): { readonly topk: GpuSeries; readonly exact: GpuSeries } {
  return {
    topk: series(rows, 'H200 top-32 (ref.)', (r) => r.kind === 'decode_scores_topk_bf16' && r.k === 32),
    exact: series(rows, 'H200 exact decode (ref.)', (r) => r.kind === 'decode_sdpa_bf16' && r.m === 1),
  };
}
