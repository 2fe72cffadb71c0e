/**
 * Renders a results.json into charts — `<id>.vl.json` (the Vega-Lite spec, data inlined), `<id>.svg` (Vega's
 * headless renderer: a View with renderer 'none' + view.toSVG(), https://vega.github.io/vega/usage/#node)
 * and `<id>.png` (sharp rasterizing that SVG at PNG_SCALE) — and into the HTML report `index.html`.
 *
 * Everything is rendered in memory first and written only when all of it succeeded, each file atomically, so
 * bad input (missing, not JSON, schema-invalid) or a failing chart leaves the output directory untouched.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { ensureDir, fsErrorText } from '../core/fs-safe.ts';
import { QattnError } from '../core/errors.ts';
import { CHARTS } from './charts/index.ts';
import type { ChartDef, ChartSpec } from './charts/common.ts';
import { buildReport } from './report.ts';
import { upgradeResults, validateResults, type ResultsDoc } from './results.ts';

/** PNG pixels per SVG pixel: 2× keeps 12 px labels crisp on high-density screens and in a README. */
export const PNG_SCALE = 2;
export const REPORT_FILE = 'index.html';

export interface RenderedSvg {
  readonly svg: string;
  readonly width: number;
  readonly height: number;
  /** Vega-Lite / Vega warnings (a correct spec has none; the tests assert that). */
  readonly warnings: readonly string[];
}

export interface RenderedChart extends RenderedSvg {
  readonly def: ChartDef;
  readonly spec: ChartSpec;
  readonly png: Uint8Array;
}

export interface RenderOutput {
  /** Every file written, in write order. */
  readonly files: readonly string[];
  readonly charts: readonly RenderedChart[];
  /** Path of index.html, or null when only charts were asked for. */
  readonly report: string | null;
}

/** Reads and validates a results file; every problem is a one-line QattnError. */
export function loadResults(path: string): ResultsDoc {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new QattnError(`cannot read results file ${path}: ${fsErrorText(err)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new QattnError(`${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  // Files written before schema 2 (prepare not timed apart) are read in the schema-2 shape.
  doc = upgradeResults(doc);
  const errors = validateResults(doc);
  if (errors.length) {
    const more = errors.length > 3 ? ` (and ${errors.length - 3} more)` : '';
    throw new QattnError(`${path} is not a qattn results file: ${errors.slice(0, 3).join('; ')}${more}`);
  }
  return doc as ResultsDoc;
}

/** A Vega logger that collects instead of printing (a CLI run must not spray console warnings). */
function collectingLogger(sink: string[]): ReturnType<typeof vega.logger> {
  return vega.logger(vega.Warn, undefined, (method, _level, args) => {
    sink.push(`${method}: ${args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ')}`);
  });
}

/** Compiles a Vega-Lite spec and renders it to an SVG string with Vega's headless (renderer 'none') view. */
export async function renderSvg(spec: ChartSpec): Promise<RenderedSvg> {
  const warnings: string[] = [];
  const logger = collectingLogger(warnings);
  // Vega tags data objects it ingests (Symbol ids, derived fields): render a copy so `spec` stays as built.
  const compiled = compile(structuredClone(spec), { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger });
  try {
    const svg = await view.toSVG();
    const size = /^<svg[^>]*\swidth="(\d+(?:\.\d+)?)"[^>]*\sheight="(\d+(?:\.\d+)?)"/.exec(svg);
    if (!size) throw new Error('internal: Vega produced an SVG without width/height');
    const errors = warnings.filter((w) => w.startsWith('error'));
    if (errors.length) throw new Error(`internal: Vega reported ${errors.join('; ')}`);
    return { svg, width: Number(size[1]), height: Number(size[2]), warnings };
  } finally {
    view.finalize();
  }
}

/** SVG → PNG at PNG_SCALE (librsvg via sharp; density is in DPI, 72 = 1 SVG px per PNG px). */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  return new Uint8Array(await sharp(Buffer.from(svg), { density: 72 * PNG_SCALE }).png({ compressionLevel: 9 }).toBuffer());
}

async function renderChart(def: ChartDef, doc: ResultsDoc): Promise<RenderedChart> {
  const spec = def.build(doc);
  const svg = await renderSvg(spec);
  return { ...svg, def, spec, png: await svgToPng(svg.svg) };
}

/** Every chart of CHARTS that applies to `doc` (a budget chart needs a budget sweep), in memory. */
export async function renderCharts(doc: ResultsDoc, defs: readonly ChartDef[] = CHARTS): Promise<RenderedChart[]> {
  const out: RenderedChart[] = [];
  for (const def of defs.filter((d) => d.applies?.(doc) ?? true)) out.push(await renderChart(def, doc));
  return out;
}

function writeAll(outDir: string, charts: readonly RenderedChart[], html: string | null): string[] {
  ensureDir(outDir);
  const files: string[] = [];
  const put = (name: string, data: string | Uint8Array): void => {
    const path = join(outDir, name);
    writeFileAtomic(path, data);
    files.push(path);
  };
  for (const c of charts) {
    put(`${c.def.id}.vl.json`, `${JSON.stringify(c.spec, null, 1)}\n`);
    put(`${c.def.id}.svg`, c.svg);
    put(`${c.def.id}.png`, c.png);
  }
  if (html !== null) put(REPORT_FILE, html);
  return files;
}

/** `qattn chart`: the charts of a results file into `outDir` (no report). */
export async function renderChartFiles(resultsPath: string, outDir: string): Promise<RenderOutput> {
  const charts = await renderCharts(loadResults(resultsPath));
  return { files: writeAll(outDir, charts, null), charts, report: null };
}

export interface ReportOutput extends RenderOutput {
  readonly report: string;
}

/** `qattn report` and the end of `qattn bench`: every chart plus index.html beside them. */
export async function renderAll(resultsPath: string, outDir: string): Promise<ReportOutput> {
  const doc = loadResults(resultsPath);
  const charts = await renderCharts(doc);
  const html = buildReport(doc, charts);
  const files = writeAll(outDir, charts, html);
  return { files, charts, report: join(outDir, REPORT_FILE) };
}
