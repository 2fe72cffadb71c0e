/**
 * The downstream report's charts (eval.json → Vega-Lite → SVG, rendered as the bench charts are):
 *  - eval-budget: bits/byte against the per-query budget, one line per mechanism, per text set, with the
 *    unmodified model as a dashed rule (`qattn eval --budget 8,32,128`);
 *  - eval-layers: per swapped block, the relative L2 error of its output against the unmodified model's on the
 *    same window — where in the network a mechanism's error enters;
 *  - eval-copy: the copy task's second copy per variant, against the unmodified model's first copy (nothing to
 *    copy from) and second copy (what in-context copying gains).
 */
import { asSpec, emptyChart, MECHANISM_PALETTE, type ChartSpec } from '../bench/charts/common.ts';
import { baseVariant } from '../bench/budget.ts';
import { renderSvg } from '../bench/render.ts';
import type { EvalDoc } from './eval-doc.ts';
import type { VariantEval } from './eval.ts';

export interface EvalChartDef {
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  build(doc: EvalDoc): ChartSpec;
  applies(doc: EvalDoc): boolean;
}

export interface RenderedEvalChart {
  readonly def: EvalChartDef;
  readonly spec: ChartSpec;
  readonly svg: string;
}

/** A variant's label without the `[budget=B]` the budget sweep appended: the line it belongs to. */
const budgetBase = (v: Pick<VariantEval, 'label' | 'budget'>): string => baseVariant({ variant: v.label, budget: v.budget });

const textSets = (doc: EvalDoc): EvalDoc['sets'] => doc.sets.filter((s) => s.name !== 'copy');

const colour = (domain: readonly string[]): Record<string, unknown> => ({
  scale: { domain, range: domain.map((_, i) => MECHANISM_PALETTE[i % MECHANISM_PALETTE.length]) }, legend: { orient: 'bottom', columns: 2, title: null },
});

function budgetSpec(doc: EvalDoc): ChartSpec {
  const title = 'Bits/byte vs budget';
  const rows = textSets(doc).flatMap((s) => [
    ...s.result.variants.filter((v) => v.budget !== null).map((v) => ({ set: s.name, method: budgetBase(v), budget: v.budget!, bpb: v.bitsPerByte })),
  ]);
  if (!rows.length) return emptyChart(title, 'no budget sweep in this run (qattn eval --budget 8,32,128)');
  const rules = textSets(doc).map((s) => ({ set: s.name, bpb: s.result.exactBitsPerByte }));
  const methods = [...new Set(rows.map((r) => r.method))];
  return asSpec({
    title: { text: title, subtitle: 'lower is better; dashed: the unmodified model on the same windows' },
    datasets: { lines: rows, rules },
    data: { name: 'lines' },
    facet: { field: 'set', type: 'nominal', title: null }, columns: 2,
    spec: {
      width: 340, height: 240,
      layer: [
        {
          mark: { type: 'line', point: { size: 50 } },
          encoding: {
            x: { field: 'budget', type: 'quantitative', title: 'per-query budget B (keys, samples or features)', scale: { type: 'log', base: 2 } },
            y: { field: 'bpb', type: 'quantitative', title: 'bits/byte', scale: { zero: false } },
            color: { field: 'method', type: 'nominal', ...colour(methods) },
          },
        },
        {
          data: { name: 'rules' },
          transform: [{ filter: 'true' }],
          mark: { type: 'rule', strokeDash: [6, 4], color: '#333' },
          encoding: { y: { field: 'bpb', type: 'quantitative' } },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  });
}

function layersSpec(doc: EvalDoc): ChartSpec {
  const title = 'Output error per swapped block';
  const rows = textSets(doc).flatMap((s) => s.result.variants.flatMap((v) => v.blocks.map((b) => ({
    set: s.name, variant: v.label, block: b.block, relL2: Math.max(b.relL2, 1e-8),
  }))));
  if (!rows.length) return emptyChart(title, 'no text set in this run (only the copy task)');
  const variants = [...new Set(rows.map((r) => r.variant))];
  return asSpec({
    title: { text: title, subtitle: 'relative L2 error of the block output against the unmodified model on the same window (mean over windows; floor 1e-8)' },
    data: { values: rows },
    facet: { field: 'set', type: 'nominal', title: null }, columns: 2,
    spec: {
      width: 340, height: 240,
      mark: { type: 'line', point: { size: 40 } },
      encoding: {
        x: { field: 'block', type: 'ordinal', title: 'attention block (graph order)' },
        y: { field: 'relL2', type: 'quantitative', title: 'relL2 of the block output', scale: { type: 'log' }, axis: { format: '.0e' } },
        color: { field: 'variant', type: 'nominal', ...colour(variants) },
      },
    },
  });
}

function copySpec(doc: EvalDoc): ChartSpec {
  const title = 'Copy task: the second copy';
  const copy = doc.sets.find((s) => s.name === 'copy')?.result;
  if (!copy) return emptyChart(title, 'no copy task in this run (qattn eval --copy 256)');
  const bars = copy.variants.map((v) => ({ variant: v.label, bpb: v.bitsPerByte }));
  const rules = [
    { what: `unmodified, second copy (${copy.exactBitsPerByte.toFixed(3)})`, bpb: copy.exactBitsPerByte },
    ...(copy.exactFirstCopyBitsPerByte === null ? [] : [{ what: `unmodified, first copy: nothing to copy (${copy.exactFirstCopyBitsPerByte.toFixed(3)})`, bpb: copy.exactFirstCopyBitsPerByte }]),
  ];
  return asSpec({
    title: { text: title, subtitle: 'bits/byte on the second copy (lower: the mechanism found the first copy); rules: the unmodified model' },
    width: 520, height: { step: 22 },
    datasets: { bars, rules },
    layer: [
      {
        data: { name: 'bars' }, mark: { type: 'bar', color: '#4c78a8' },
        encoding: {
          y: { field: 'variant', type: 'nominal', title: null, sort: null },
          x: { field: 'bpb', type: 'quantitative', title: 'bits/byte on the second copy' },
        },
      },
      {
        data: { name: 'rules' }, mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 2 },
        encoding: {
          x: { field: 'bpb', type: 'quantitative' },
          color: { field: 'what', type: 'nominal', title: null, scale: { range: ['#333333', '#e45756'] }, legend: { orient: 'bottom', direction: 'vertical' } },
        },
      },
    ],
  });
}

export const EVAL_CHARTS: readonly EvalChartDef[] = [
  {
    id: 'eval-budget', title: 'Bits/byte vs budget', build: budgetSpec,
    caption: 'Each mechanism at each per-query budget of the run (its budget knob: keys kept, samples drawn, features), every block swapped. A line that meets the dashed rule costs nothing downstream at that budget.',
    applies: (doc) => textSets(doc).some((s) => s.result.variants.some((v) => v.budget !== null)),
  },
  {
    id: 'eval-layers', title: 'Output error per swapped block', build: layersSpec,
    caption: 'Where the error enters: each swapped block\'s output against the unmodified model\'s on the same window. Later blocks see inputs already changed by earlier swapped blocks, so the error compounds along the graph.',
    applies: (doc) => textSets(doc).some((s) => s.result.variants.some((v) => v.blocks.length > 0)),
  },
  {
    id: 'eval-copy', title: 'Copy task: the second copy', build: copySpec,
    caption: 'Validation text written twice in one window; the second copy is predictable only by attending back to the first. A bar at the red rule gained nothing from the first copy.',
    applies: (doc) => doc.sets.some((s) => s.name === 'copy' && s.result.variants.length > 0),
  },
];

/** Every chart that applies to the document, rendered to SVG (a Vega-Lite or Vega error is an internal error). */
export async function renderEvalCharts(doc: EvalDoc): Promise<RenderedEvalChart[]> {
  const out: RenderedEvalChart[] = [];
  for (const def of EVAL_CHARTS.filter((d) => d.applies(doc))) {
    const spec = def.build(doc);
    const r = await renderSvg(spec);
    if (r.warnings.length) throw new Error(`internal: chart ${def.id}: ${r.warnings.join('; ')}`);
    out.push({ def, spec, svg: r.svg });
  }
  return out;
}
