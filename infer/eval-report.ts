/**
 * The downstream report of a `qattn eval` document (eval-doc.ts) — index.html and its charts beside it: per
 * text set, bits/byte per variant against the unmodified model, per swapped block the density and output
 * error, per head the attention-row total variation, and the copy task beside the unmodified model's first copy.
 * The page is static HTML under the same Content-Security-Policy as the bench report (no script, no fetch).
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { ensureDir } from '../core/fs-safe.ts';
import { chartSection, escapeHtml, STYLE, table, type ReportChart } from '../bench/report.ts';
import { svgToPng } from '../bench/render.ts';
import type { SetEval } from './eval.ts';
import { renderEvalCharts } from './eval-charts.ts';
import { validateEvalDoc, type EvalDoc } from './eval-doc.ts';


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
