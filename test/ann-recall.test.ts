/**
 * ann-topk's recall against HNSW's search-time knob (issue 14, item 3): the candidate list size ef
 * (`expansionSearch`; Malkov & Yashunin, "Efficient and robust approximate nearest neighbor search using
 * Hierarchical Navigable Small World graphs", arXiv 1603.09320) trades speed for recall — recall@k of the exact
 * top-k keys rises with ef and reaches ≈ 1 — measured on gaussian keys against topkOverlap (attention/fidelity.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectionFidelity } from '../attention/fidelity.ts';
import { runAttention } from '../attention/run.ts';
import { gaussianInput } from './helpers/workloads.ts';

test('ann-topk: recall@10 of the exact top-10 rises with expansionSearch (HNSW ef) and reaches ≥ 0.95', async (t) => {
  const input = gaussianInput({ m: 32, n: 4096, d: 32, dv: 4, seed: 71 });
  const efs = [10, 40, 160, 640];
  const recall: number[] = [];
  for (const ef of efs) {
    const out = (await runAttention('ann-topk', input, { k: 10, expansionSearch: ef })).output;
    recall.push(selectionFidelity(input, out.selected!).topkRecall);
  }
  t.diagnostic(`n = 4096, d = 32, 32 queries: recall@10 at ef = ${efs.join(' / ')}: ${recall.map((r) => r.toFixed(3)).join(' / ')}`);
  for (let i = 1; i < recall.length; i++) assert.ok(recall[i]! >= recall[i - 1]! - 0.02, `ef ${efs[i]}: recall ${recall[i]} below ef ${efs[i - 1]}'s ${recall[i - 1]}`);
  assert.ok(recall[recall.length - 1]! >= 0.95, `ef = 640: recall ${recall.at(-1)}`);
  assert.ok(recall[0]! < recall[recall.length - 1]!, 'a small candidate list loses some of the top keys');
});
