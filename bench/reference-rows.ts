/**
 * The float64 reference for a block of query rows — the same arithmetic as attention/kernels/reference.ts
 * (logitsRow → max-subtracted softmax → float64 accumulation, in the same order), split by rows so that
 * blocks can run on worker threads and, optionally, keeping each row's exact attention weights for the
 * selection metrics (mass recall, top-k recall) of every mechanism scored against it.
 */
import { logitsRow, softmaxInPlace } from '../attention/math.ts';
import type { AttentionInput } from '../attention/types.ts';

export interface ReferenceRows {
  /** Rows i0…i1−1 of O, float64, [(i1−i0)×dv]. */
  readonly out: Float64Array;
  /** Their exact attention weights as float32 [(i1−i0)×n], or null when not kept. */
  readonly weights: Float32Array | null;
}

export function referenceRows(input: AttentionInput, i0: number, i1: number, keepWeights: boolean): ReferenceRows {
  const { n, dv, v } = input;
  const out = new Float64Array((i1 - i0) * dv);
  const weights = keepWeights ? new Float32Array((i1 - i0) * n) : null;
  const row = new Float64Array(n);
  for (let i = i0; i < i1; i++) {
    softmaxInPlace(logitsRow(input, i, row));
    weights?.set(row, (i - i0) * n);
    const oo = (i - i0) * dv;
    for (let j = 0; j < n; j++) {
      const w = row[j]!;
      if (w === 0) continue;
      const vo = j * dv;
      for (let c = 0; c < dv; c++) out[oo + c]! += w * v[vo + c]!;
    }
  }
  return { out, weights };
}
