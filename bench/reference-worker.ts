/**
 * Worker thread body for the float64 reference: computes the requested block of query rows and transfers the
 * result back (see reference-pool.ts). Started through core/worker-boot.mjs, which registers the TypeScript loader.
 */
import { parentPort } from 'node:worker_threads';
import type { AttentionInput } from '../attention/types.ts';
import { referenceRows, type RowSummary } from './reference-rows.ts';

export interface RowsRequest {
  readonly id: number;
  readonly input: AttentionInput;
  readonly i0: number;
  readonly i1: number;
  readonly top: number;
}

export type RowsReply =
  | { readonly id: number; readonly ok: true; readonly out: Float64Array; readonly rows: RowSummary[] }
  | { readonly id: number; readonly ok: false; readonly error: string };

const port = parentPort;
if (!port) throw new Error('reference-worker.ts must run in a worker thread');
port.on('message', (req: RowsRequest) => {
  try {
    const { out, rows } = referenceRows(req.input, req.i0, req.i1, req.top);
    const reply: RowsReply = { id: req.id, ok: true, out, rows };
    // Freshly allocated by referenceRows, so plain (transferable) ArrayBuffers, never shared ones.
    const transfer = [out.buffer as ArrayBuffer, ...rows.map((r) => r.top.buffer as ArrayBuffer)];
    port.postMessage(reply, transfer);
  } catch (err) {
    const reply: RowsReply = { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
    port.postMessage(reply);
  }
});
