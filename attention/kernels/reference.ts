/**
 * The float64 reference: softmax(Q·Kᵀ·scale + mask)·V computed row by row in float64 with a max-subtracted
 * softmax. It is the source of truth for every fidelity number in qattn. Memory is O(n) per query row, so it
 * also runs on long decode inputs (slowly).
 */
import type { AttentionInput } from '../types.ts';
import { logitsRow, softmaxInPlace } from '../math.ts';

/** Exact attention in float64. Returns O as a Float64Array [m×dv]. */
export function referenceAttention64(input: AttentionInput): Float64Array {
  const { m, n, dv, v } = input;
  const out = new Float64Array(m * dv);
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    softmaxInPlace(logitsRow(input, i, row));
    const oo = i * dv;
    for (let j = 0; j < n; j++) {
      const w = row[j]!;
      if (w === 0) continue;
      const vo = j * dv;
      for (let c = 0; c < dv; c++) out[oo + c]! += w * v[vo + c]!;
    }
  }
  return out;
}

/** The exact attention distribution of query i (float64, length n). */
export function referenceWeights(input: AttentionInput, i: number): Float64Array {
  return softmaxInPlace(logitsRow(input, i));
}
