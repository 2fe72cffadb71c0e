/**
 * `topk-exact`: exact top-k attention — score every visible key, keep the k largest logits, softmax over them.
 *
 * It is the fidelity ceiling of ANY top-k selection of the same k (Grover, LSH, ANN or dequantized top-k can
 * at best find these k keys), so every selection method is compared with it at equal k. The idea of
 * attending only to the top-k scores is from Gupta et al., "Memory-efficient Transformers via Top-k
 * Attention" (arXiv 2106.06899).
 *
 * k larger than the number of keys is clamped to n (so k = n is exact attention); keys a query may not see
 * (causal window, −∞ mask) are never selected, so a query with fewer than k visible keys attends to exactly
 * its visible keys, and a fully masked query attends to none (output row 0, qattn's convention).
 */
import { logitsRow } from '../math.ts';
import { optNumber } from '../options.ts';
import { TopKHeap, meanSize, softmaxOverSelected } from '../select.ts';
import type { AttentionInput, AttentionOutput, Mechanism, Options } from '../types.ts';
import { singlePhase } from '../define.ts';
import { emptyCost } from '../types.ts';
import { visibleKeys } from '../validate.ts';

export const K_MAX = 2 ** 24;

async function attend(input: AttentionInput, options: Options): Promise<AttentionOutput> {
  const { m, n, dv } = input;
  const k = Math.min(optNumber(options, 'k'), n);
  const out = new Float32Array(m * dv);
  const row = new Float64Array(n);
  const heap = new TopKHeap(k);
  const selected: Int32Array[] = [];
  let dots = 0;
  for (let i = 0; i < m; i++) {
    logitsRow(input, i, row);
    dots += visibleKeys(input, i); // logitsRow only computes q·k inside the causal window
    heap.clear();
    for (let j = 0; j < n; j++) heap.push(j, row[j]!);
    const sel = heap.indices();
    softmaxOverSelected(input, i, sel, (j) => row[j]!, out);
    selected.push(sel);
  }
  const cost = emptyCost();
  cost.scoreEvaluations = dots;
  cost.selectedPerQuery = meanSize(selected);
  return { out, cost, selected, path: 'topk-heap' };
}

export const topkExact: Mechanism = singlePhase({
  name: 'topk-exact',
  family: 'classical',
  summary: 'exact scores for every key, heap top-k, softmax over the k (ceiling of any top-k selection)',
  reference: 'Gupta et al., Memory-efficient Transformers via Top-k Attention, arXiv 2106.06899',
  options: {
    k: { type: 'int', default: 32, min: 1, max: K_MAX, description: 'keys kept per query (clamped to n; k ≥ n is exact attention)' },
  },
  tolerance: {
    exhaustiveRelL2: 1e-6,
    note: 'with k = n every visible key is kept and the float64 softmax matches the reference up to float32 output rounding',
  },
  costFields: { scoreEvaluations: 'sum', selectedPerQuery: 'mean' },
  exhaustiveOptions: (n) => ({ k: Math.min(n, K_MAX) }),
  notSupportedReasons: () => [],
  attend,
});
