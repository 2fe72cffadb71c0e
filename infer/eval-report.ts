/**
 * The results of `qattn eval` as a document (eval.json) and its downstream report (index.html beside it): per
 * text set, bits/byte per variant against the unmodified model, per swapped block the density and output
 * error, per head the attention-row total variation, and the copy task beside the unmodified model's first copy.
 * The page is static HTML under the same Content-Security-Policy as the bench report (no script, no fetch).
 */
import { readFileSync } from 'node:fs';
import { QattnError } from '../core/errors.ts';
import { escapeHtml, STYLE, table } from '../bench/report.ts';
import type { SetEval } from './eval.ts';

export const EVAL_KIND = 'qattn-eval';
export const EVAL_SCHEMA_VERSION = 1;

/** eval.json: what `qattn eval --out DIR` writes. */
export interface EvalDoc {
  readonly kind: typeof EVAL_KIND;
  readonly schemaVersion: typeof EVAL_SCHEMA_VERSION;
  readonly createdAt: string;
  readonly argv: readonly string[];
  readonly model: string;
  /** Swapped blocks (graph order), or null: all. */
  readonly layers: readonly number[] | null;
  readonly seed: number;
  readonly windowBytes: number;
  readonly seconds: number;
  readonly sets: ReadonlyArray<{ readonly name: string; readonly result: SetEval }>;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Whether a parsed JSON document is an eval.json (by its kind). */
export function isEvalDoc(doc: unknown): doc is EvalDoc {
  return isObject(doc) && doc['kind'] === EVAL_KIND;
}

/** Reads an eval.json; a wrong version or shape is one QattnError line. */
export function readEvalDoc(path: string, doc: unknown = JSON.parse(readFileSync(path, 'utf8'))): EvalDoc {
  if (!isEvalDoc(doc)) throw new QattnError(`${path} is not a qattn eval.json (no "kind": "${EVAL_KIND}")`);
  if (doc.schemaVersion !== EVAL_SCHEMA_VERSION) throw new QattnError(`${path}: eval.json schema ${String(doc.schemaVersion)}, this qattn reads ${EVAL_SCHEMA_VERSION}`);
  if (!Array.isArray(doc.sets) || doc.sets.some((s) => !isObject(s) || !isObject(s.result) || !Array.isArray(s.result.variants))) {
    throw new QattnError(`${path}: "sets" must be an array of {name, result: {variants: […]}}`);
  }
  return doc;
}

const f3 = (x: number | null): string => (x === null || !Number.isFinite(x) ? '–' : x.toFixed(3));
const signed = (x: number): string => (x >= 0 ? `+${x.toFixed(3)}` : x.toFixed(3));

function setSection(name: string, s: SetEval): string {
  const title = name === 'copy' ? 'Copy task (second copy scored)' : `${name}`;
  const first = s.exactFirstCopyBitsPerByte === null ? '' : ` The unmodified model's first copy, with nothing to copy from: ${f3(s.exactFirstCopyBitsPerByte)} bits/byte.`;
  const blocks = s.variants[0]?.blocks.map((b) => b.block) ?? [];
  const header = ['attention', 'bits/byte', 'Δ vs exact', 'KL (nats/byte)', 'attention-row TV', ...blocks.map((b) => `block ${b}: density / relL2`)];
  const rows = [
    ['unmodified model (exact, onnxruntime)', f3(s.exactBitsPerByte), '—', '—', '—', ...blocks.map(() => '—')],
    ...s.variants.map((v) => [
      v.label, f3(v.bitsPerByte), signed(v.delta), v.kl.toExponential(2), f3(v.attentionTv),
      ...v.blocks.map((b) => `${f3(b.density)} / ${b.relL2.toExponential(1)}`),
    ]),
  ];
  const scored = s.windows.reduce((a, w) => a + w.scored, 0);
  return `<section id="set-${escapeHtml(name)}"><h2>${escapeHtml(title)}</h2><p>${escapeHtml(`${s.source}; ${s.windows.length} windows, ${scored} bytes scored.${first}`)}</p>\n${table(header, rows, 'num')}</section>`;
}

/** The downstream report of an eval document. */
export function buildEvalReport(doc: EvalDoc): string {
  const layers = doc.layers ? `blocks ${doc.layers.join(', ')} swapped` : 'every attention block swapped';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:;">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>qattn downstream report — ${escapeHtml(doc.createdAt)}</title>
<style>${STYLE}</style></head><body>
<h1>qattn downstream report</h1>
<p>${escapeHtml(`Bits per byte of next-byte prediction of ${doc.model} (${layers}; windows of ${doc.windowBytes} bytes; seed ${doc.seed}), lower is better, against the unmodified model on the same windows. Attention-row TV: total variation between exact attention's rows and the mechanism's, where its rows are a restricted softmax. Run ${doc.createdAt} in ${doc.seconds.toFixed(0)} s: qattn eval ${doc.argv.join(' ')}.`)}</p>
${doc.sets.map((s) => setSection(s.name, s.result)).join('\n')}
</body></html>
`;
}
