/**
 * The results of `qattn eval` as a document (eval.json) and its downstream report (index.html beside it): per
 * text set, bits/byte per variant against the unmodified model, per swapped block the density and output
 * error, per head the attention-row total variation, and the copy task beside the unmodified model's first copy.
 * The page is static HTML under the same Content-Security-Policy as the bench report (no script, no fetch).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { QattnError } from '../core/errors.ts';
import { ensureDir } from '../core/fs-safe.ts';
import { chartSection, escapeHtml, STYLE, table, type ReportChart } from '../bench/report.ts';
import { svgToPng } from '../bench/render.ts';
import type { SetEval } from './eval.ts';
import { renderEvalCharts } from './eval-charts.ts';

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
  /** Worker threads the windows were spread over (the numbers do not depend on it; the times do). */
  readonly jobs: number;
  readonly seconds: number;
  readonly sets: ReadonlyArray<{ readonly name: string; readonly result: SetEval }>;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Whether a parsed JSON document is an eval.json (by its kind). */
export function isEvalDoc(doc: unknown): doc is EvalDoc {
  return isObject(doc) && doc['kind'] === EVAL_KIND;
}

let validator: ((doc: unknown) => string[]) | null = null;

/** Schema errors of an eval document ([] = valid), against infer/eval.schema.json (generated from EvalDoc: npm run schemas). */
export function validateEvalDoc(doc: unknown): string[] {
  if (!validator) {
    const schema: unknown = JSON.parse(readFileSync(new URL('./eval.schema.json', import.meta.url), 'utf8'));
    const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema as object);
    validator = (d) => (validate(d) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`));
  }
  return validator(doc);
}

/** Reads an eval.json; a wrong version or shape is one QattnError line. */
export function readEvalDoc(path: string, doc: unknown = JSON.parse(readFileSync(path, 'utf8'))): EvalDoc {
  if (!isEvalDoc(doc)) throw new QattnError(`${path} is not a qattn eval.json (no "kind": "${EVAL_KIND}")`);
  if (doc.schemaVersion !== EVAL_SCHEMA_VERSION) throw new QattnError(`${path}: eval.json schema ${String(doc.schemaVersion)}, this qattn reads ${EVAL_SCHEMA_VERSION}`);
  const errors = validateEvalDoc(doc);
  if (errors.length) throw new QattnError(`${path} does not match the eval.json schema (infer/eval.schema.json): ${errors.slice(0, 3).join('; ')}${errors.length > 3 ? ` (+${errors.length - 3} more)` : ''}`);
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
      v.label, f3(v.bitsPerByte), signed(v.delta), (v.kl === null ? '∞' : v.kl.toExponential(2)), f3(v.attentionTv),
      ...v.blocks.map((b) => `${f3(b.density)} / ${b.relL2.toExponential(1)}`),
    ]),
  ];
  const scored = s.windows.reduce((a, w) => a + w.scored, 0);
  return `<section id="set-${escapeHtml(name)}"><h2>${escapeHtml(title)}</h2><p>${escapeHtml(`${s.source}; ${s.windows.length} windows, ${scored} bytes scored.${first}`)}</p>\n${table(header, rows, 'num')}</section>`;
}

/** The downstream report of an eval document, with its rendered charts. */
export function buildEvalReport(doc: EvalDoc, charts: readonly ReportChart[] = []): string {
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
${charts.map(chartSection).join('\n')}
</body></html>
`;
}

/**
 * Writes the downstream report into `dir`: each chart as <id>.vl.json, .svg and .png, index.html, and (with
 * `json`) the document itself as eval.json. Everything is rendered in memory first and each file is written
 * atomically, so a failure leaves no half-written file. Returns the paths written.
 */
export async function writeEvalReport(doc: EvalDoc, dir: string, json: boolean): Promise<string[]> {
  const errors = validateEvalDoc(doc);
  if (errors.length) throw new Error(`internal: eval.json would not match its schema: ${errors.slice(0, 3).join('; ')}`);
  const charts = await renderEvalCharts(doc);
  const files: Array<[string, string | Uint8Array]> = [];
  if (json) files.push(['eval.json', `${JSON.stringify(doc, null, 1)}\n`]);
  for (const c of charts) {
    files.push([`${c.def.id}.vl.json`, `${JSON.stringify(c.spec, null, 1)}\n`], [`${c.def.id}.svg`, c.svg], [`${c.def.id}.png`, await svgToPng(c.svg)]);
  }
  files.push(['index.html', buildEvalReport(doc, charts)]);
  ensureDir(dir, 'output directory');
  return files.map(([name, data]) => {
    writeFileAtomic(join(dir, name), data);
    return join(dir, name);
  });
}
