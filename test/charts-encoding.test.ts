/**
 * How the charts encode things across charts (issue 11's first-run stumbles): one colour per mechanism in every
 * chart, the largest n always labelled, the crossover's close H200 lines told apart, and one grover oracle-call
 * exponent in the fits table and the crossover. Built from the committed sample run (no bench run needed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mechanismNames } from '../attention/registry.ts';
import { coincidingLines, MECHANISM_PALETTE, mechanismColorScale, nTicks, type ChartSpec } from '../bench/charts/common.ts';
import { crossoverAnalysis } from '../bench/charts/crossover-analysis.ts';
import { crossoverSpec, crossoverSubtitle, EXTRAPOLATED_DASHES } from '../bench/charts/crossover.ts';
import { fidelityVsNSpec } from '../bench/charts/fidelity-vs-n.ts';
import { CHARTS } from '../bench/charts/index.ts';
import { computeFits } from '../bench/fits.ts';
import { renderSvg } from '../bench/render.ts';
import { buildReport } from '../bench/report.ts';
import { upgradeResults, type OkRecord, type ResultsDoc } from '../bench/results.ts';

// Read as `qattn chart` reads it: a file of an older schema is upgraded first.
const sample = upgradeResults(JSON.parse(readFileSync(new URL('../results/sample/results.json', import.meta.url), 'utf8'))) as ResultsDoc;
const ok = (doc: ResultsDoc): OkRecord[] => doc.records.filter((r): r is OkRecord => r.status === 'ok');
/** The sample's smallest n (the records the synthetic documents below are built from, whatever lengths it ran). */
const smallestN = Math.min(...ok(sample).map((r) => r.n));

/** Every object under `key` anywhere in a spec (encodings sit in facets, layers and concatenations). */
function collect(node: unknown, key: string, out: Array<Record<string, unknown>> = []): Array<Record<string, unknown>> {
  if (Array.isArray(node)) for (const x of node) collect(x, key, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key && v && typeof v === 'object' && !Array.isArray(v)) out.push(v as Record<string, unknown>);
      collect(v, key, out);
    }
  }
  return out;
}

const colorsOf = (spec: ChartSpec): Array<Record<string, unknown>> =>
  collect(spec, 'encoding').flatMap((e) => (e['color'] && typeof e['color'] === 'object' ? [e['color'] as Record<string, unknown>] : []));

/** Legend label → symbol fill, read from Vega's SVG (labels like "exact (t ∝ n^0.98)" keyed by "exact"). */
function legendFills(svg: string): Map<string, string> {
  const re = /role-legend-symbol"[^>]*><path [^>]*fill="(#[0-9a-f]{6})"[^>]*\/><\/g><g class="mark-text role-legend-label"[^>]*><text [^>]*>([^<]*)<\/text>/g;
  return new Map([...svg.matchAll(re)].map((m) => [m[2]!.split(' (')[0]!, m[1]!]));
}

/** The sample's records copied to n = 2^8 … 2^16, so axes span the default bench lengths. */
function wideDoc(doc: ResultsDoc): ResultsDoc {
  const base = ok(doc).filter((r) => r.n === smallestN);
  const records = [8, 9, 10, 11, 12, 13, 14, 15, 16].flatMap((k) => base.map((r) => ({ ...r, n: 2 ** k })));
  return { ...doc, meta: { ...doc.meta, config: { ...doc.meta.config, lengths: records.map((r) => r.n) } }, records, fits: computeFits(records) };
}

test('every mechanism has one colour in every chart: the registry order over one palette', async () => {
  // Without lsh too: a missing method must not shift the colours of the ones after it.
  const docs = [sample, { ...sample, records: sample.records.filter((r) => r.method !== 'lsh') }];
  for (const doc of docs) {
    const seen = new Map<string, Set<string>>();
    const mechanismCharts: string[] = [];
    for (const def of CHARTS) {
      const spec = def.build(doc);
      for (const c of colorsOf(spec)) {
        const scale = c['scale'] as { domain?: string[]; range?: string[] } | undefined;
        // An implicit domain would colour by the order of this chart's data: the bug being fixed.
        assert.ok(Array.isArray(scale?.domain), `${def.id}: colour encoding of ${String(c['field'])} has an explicit domain`);
        if (!mechanismNames.every((m) => scale!.domain!.includes(m))) continue;
        mechanismCharts.push(def.id);
        for (const m of mechanismNames) {
          const colour = scale!.range![scale!.domain!.indexOf(m)]!;
          seen.set(m, (seen.get(m) ?? new Set()).add(colour));
        }
      }
      if (['time-vs-n', 'cost-vs-n', 'fidelity-vs-n', 'fidelity-vs-cost'].includes(def.id)) {
        // What a reader sees: the legend symbol drawn next to each method's name.
        const fills = legendFills((await renderSvg(spec)).svg);
        assert.ok(fills.has('grover-topk'), `${def.id}: grover-topk in the legend`);
        for (const [m, fill] of fills) {
          if (mechanismNames.includes(m as never)) assert.equal(fill, MECHANISM_PALETTE[mechanismNames.indexOf(m as never)], `${def.id}: ${m}`);
        }
      }
    }
    assert.deepEqual([...new Set(mechanismCharts)], ['time-vs-n', 'cost-vs-n', 'fidelity-vs-n', 'fidelity-vs-cost']);
    for (const [m, colours] of seen) assert.deepEqual([...colours], [MECHANISM_PALETTE[mechanismNames.indexOf(m as never)]], m);
  }
  // grover-topk is pink (tableau10's 8th), also in cost-vs-n where performer has no line.
  assert.equal(MECHANISM_PALETTE[mechanismNames.indexOf('grover-topk')], '#ff9da6');
  // A method the registry does not know is appended, so it cannot take a registered method's colour.
  const odd = mechanismColorScale({ ...sample, records: [...sample.records, { ...sample.records[0]!, method: 'other', variant: 'other' }] });
  assert.equal(odd.domain.indexOf('other'), mechanismNames.length);
});

test('the largest n is always a labelled tick of the n axis', async () => {
  // Ticks: hi always; spaced for a flush end label (1.5 labels at Vega's 0.8 em estimate) so none is hidden.
  assert.deepEqual(nTicks(256, 65536, 360), [256, 1024, 4096, 16384, 65536]);
  assert.deepEqual(nTicks(128, 512, 360), [128, 256, 512]);
  assert.equal(nTicks(256, 32768, 260).at(-1), 32768);
  assert.equal(nTicks(100, 1000, 360).at(-1), 1000, 'a length that is not a power of two');
  for (const [lo, hi, w] of [[256, 65536, 360], [256, 2 ** 24, 260], [128, 2 ** 87, 640], [1000, 3000, 360]] as const) {
    const t = nTicks(lo, hi, w);
    assert.equal(t.at(-1), hi);
    const px = t.map((n) => (Math.log2(n / lo) / Math.log2(hi / lo)) * w);
    for (let i = 1; i < px.length; i++) assert.ok(px[i]! - px[i - 1]! >= 1.5 * 4 * 9.6, `${lo}…${hi}: ticks ${t[i - 1]}, ${t[i]} too close`);
  }
  const doc = wideDoc(sample);
  for (const id of ['time-vs-n', 'fidelity-vs-n', 'cost-vs-n']) {
    const spec = CHARTS.find((c) => c.id === id)!.build(doc);
    const xs = collect(spec, 'encoding').flatMap((e) => (e['x'] ? [e['x'] as { axis: { values: number[]; labelOverlap: boolean } }] : []));
    assert.ok(xs.length > 0, id);
    for (const x of xs) {
      assert.equal(x.axis.values.at(-1), 2 ** 16, `${id}: the axis values end at the largest n`);
      assert.equal(x.axis.labelOverlap, false, `${id}: Vega may not hide a label`);
    }
    const { svg, warnings } = await renderSvg(spec);
    assert.deepEqual(warnings, [], id);
    assert.match(svg, /opacity="1">2\^16<\/text>/, `${id}: 2^16 drawn`);
    assert.doesNotMatch(svg, /opacity="0">2\^\d+<\/text>/, `${id}: no hidden n label`);
  }
});

test('crossover: the H200 top-32 and exact-decode lines differ in dash and point shape, and are named as close', async () => {
  const spec = crossoverSpec(sample) as unknown as { title: { subtitle: string[] } };
  const a = crossoverAnalysis(sample);
  const [topk, exact] = a.competitors.map((c) => c.name);
  assert.deepEqual([topk, exact], ['H200 top-32 (ref.)', 'H200 exact decode (ref.)']);
  const shape = collect(spec, 'encoding').flatMap((e) => (e['shape'] ? [e['shape'] as { scale: { domain: string[]; range: string[] } }] : []))[0]!;
  const shapeOf = (s: string): string => shape.scale.range[shape.scale.domain.indexOf(s)]!;
  assert.notEqual(shapeOf(topk!), shapeOf(exact!));
  // One extrapolated layer per dash; the exact one filters in the exact-attention series.
  const lines = collect(spec, 'mark').filter((m) => m['type'] === 'line' && Array.isArray(m['strokeDash'])).map((m) => JSON.stringify(m['strokeDash']));
  for (const d of EXTRAPOLATED_DASHES) assert.ok(lines.includes(JSON.stringify(d.dash)), `dash ${d.dash}`);
  assert.notDeepEqual(EXTRAPOLATED_DASHES[0].dash, EXTRAPOLATED_DASHES[1].dash);
  const filters = [...JSON.stringify(spec).matchAll(/"filter":("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]!) as string);
  const dashDot = filters.flatMap((f) => /^\(indexof\((\[.*\]), datum\.series\) >= 0\)$/.exec(f)?.[1] ?? []).map((x) => JSON.parse(x) as string[]);
  assert.equal(dashDot.length, 1);
  assert.ok(dashDot[0]!.includes(exact!) && !dashDot[0]!.includes(topk!), `the dash-dot layer draws ${dashDot[0]}`);
  const subtitle = spec.title.subtitle.join(' ');
  assert.ok(subtitle.includes(`nearly coinciding: ${topk} and ${exact} within`), subtitle);
  assert.ok(subtitle.includes('dash-dot and squares: exact attention'));
  assert.ok(spec.title.subtitle.every((l) => l.length <= 92), 'subtitle lines wrapped');
  const { svg, warnings } = await renderSvg(crossoverSpec(sample));
  assert.deepEqual(warnings, []);
  assert.ok(svg.includes('stroke-dasharray="9,3,2,3"'), 'dash-dotted line drawn');
});

/**
 * A run like the default bench (2^7…2^16) where BBHT overheads steepen oracle calls below 2^12: over every n the
 * exponent is steeper than over n ≥ fitMinN (the fits table). The crossover used to fit every n and print that one.
 */
function steepSmallN(): ResultsDoc {
  const base = ok(sample).find((r) => r.method === 'grover-topk' && r.workload === 'gaussian' && r.n === smallestN)!;
  const records = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16].map((k): OkRecord => {
    const n = 2 ** k;
    // √(kn) minus a fixed saving: steeper than √n at small n, → √n at large n (plus a little noise).
    const perQuery = (40 * Math.sqrt(32 * n) - 1500) * (1 + 0.02 * Math.sin(k));
    const calls = perQuery * base.m;
    return { ...base, n, cost: { ...base.cost, oracleQueries: calls, groverIterations: calls }, modeledQpuSeconds: { superconducting: calls * 1e-4 } };
  });
  const config = { ...sample.meta.config, methods: ['grover-topk'], workloads: ['gaussian'], lengths: records.map((r) => r.n), fitMinN: 4096 };
  return { ...sample, meta: { ...sample.meta, config }, records, fits: computeFits(records, 4096) };
}

test('coinciding lines: one helper, per cell, within a relative tolerance, over drawn points only', () => {
  type Row = { method: string; cell: string; n: number; v: number | null };
  const line = (method: string, cell: string, vs: Array<number | null>): Row[] => vs.map((v, i) => ({ method, cell, n: 2 ** (7 + i), v }));
  const keys = { method: (r: Row) => r.method, cell: (r: Row) => r.cell, n: (r: Row) => r.n, value: (r: Row) => r.v };
  const rows = [
    ...line('a', 'x', [1, 2]), ...line('b', 'x', [1.005, 2]), ...line('c', 'x', [1, 3]),
    ...line('a', 'y', [1, 2]), ...line('c', 'y', [1, 2.5]),
    ...line('p', 'z', [null, null]), ...line('q', 'z', [null, null]),
  ];
  assert.deepEqual(coincidingLines(rows, keys).map((c) => [c.cell, c.groups]), [['x', [['a', 'b']]]]);
  assert.deepEqual(coincidingLines(rows, { ...keys, relTol: 0.001 }), [], 'a and b differ by 0.5 % at n = 128');
  assert.deepEqual(coincidingLines(rows, { ...keys, relTol: 0.5 }).map((c) => [c.cell, c.groups]), [['x', [['a', 'b', 'c']]], ['y', [['a', 'c']]]]);
});

test('fidelity-vs-n names the lines drawn on top of one another, per workload and panel', async () => {
  // Synthetic: grover-topk keeps exactly topk-exact's keys (same fidelity); lsh differs; in needle all differ.
  const base = ok(sample).find((r) => r.method === 'topk-exact' && r.workload === 'gaussian')!;
  const rec = (workload: string, method: string, n: number, relL2: number, massRecall: number | null): OkRecord =>
    ({ ...base, workload, method, variant: method, n, fidelity: { ...base.fidelity, relL2, massRecall } });
  const records = [128, 256, 512].flatMap((n, i) => [
    rec('gaussian', 'topk-exact', n, 0.5 + i, 0.6 - i / 10), rec('gaussian', 'grover-topk', n, 0.5 + i, 0.6 - i / 10),
    rec('gaussian', 'lsh', n, 3 + i, 0.1),
    rec('needle', 'topk-exact', n, 0.01 * (i + 1), 0.99), rec('needle', 'grover-topk', n, 0.03 * (i + 1), 0.9), rec('needle', 'lsh', n, 1.5, 0.2),
  ]);
  const methods = ['topk-exact', 'lsh', 'grover-topk'];
  const doc: ResultsDoc = { ...sample, meta: { ...sample.meta, config: { ...sample.meta.config, methods, workloads: ['gaussian', 'needle'] } }, records, fits: computeFits(records) };
  const spec = fidelityVsNSpec(doc);
  const subtitle = (spec as unknown as { title: { subtitle: string[] } }).title.subtitle;
  const notes = subtitle.slice(subtitle.indexOf('coinciding lines (drawn on top of one another):') + 1);
  assert.deepEqual(notes, ['relative L2 error, gaussian: topk-exact = grover-topk', 'mass recall, gaussian: topk-exact = grover-topk'], subtitle.join('\n'));
  assert.ok(!notes.some((l) => l.includes('lsh') || l.includes('needle')), 'a differing line is not named');
  const { warnings } = await renderSvg(spec);
  assert.deepEqual(warnings, []);
  // No coinciding lines: no heading.
  const apart = { ...doc, records: records.filter((r) => r.method !== 'grover-topk') };
  assert.ok(!(fidelityVsNSpec(apart) as unknown as { title: { subtitle: string[] } }).title.subtitle.some((l) => l.startsWith('coinciding')));
});

test('one grover oracle-call exponent: the crossover fits the fits table’s n range and says so', () => {
  const doc = steepSmallN();
  const fit = doc.fits.find((f) => f.method === 'grover-topk' && f.metric === 'oracleQueries')!;
  assert.deepEqual([fit.nMin, fit.nMax, fit.points], [4096, 65536, 5]);
  const model = crossoverAnalysis(doc).profiles[0]!.model!;
  assert.ok(Math.abs(model.fittedAlpha - fit.exponent) < 1e-9, `crossover ${model.fittedAlpha} vs fits table ${fit.exponent}`);
  assert.deepEqual(model.fitRange, [4096, 65536]);
  const all = computeFits(doc.records, 2 ** 30).find((f) => f.metric === 'oracleQueries')!;
  assert.ok(all.exponent - fit.exponent > 0.02, `the two ranges differ (${all.exponent} vs ${fit.exponent}): the test means something`);
  const subtitle = crossoverSubtitle(doc, crossoverAnalysis(doc)).join(' ');
  assert.ok(subtitle.includes(`(fit ${fit.exponent.toFixed(2)} over n = 2^12…2^16, as in the fits table`), subtitle);
  // The report's fits table says which lengths count, and that the crossover uses the same exponent.
  const html = buildReport(doc, []);
  assert.match(html, /over n ≥ 2\^12 when at least three lengths reach it/);
  assert.ok(html.includes(`<td>${fit.exponent.toFixed(3)}</td>`));
  // Without a fits entry the crossover fits every length and does not claim to match the table.
  const bare = { ...doc, fits: [] };
  const m2 = crossoverAnalysis(bare).profiles[0]!.model!;
  assert.deepEqual(m2.fitRange, [128, 65536]);
  assert.ok(!crossoverSubtitle(bare, crossoverAnalysis(bare)).join(' ').includes('as in the fits table'));
});

test('bench/report.ts does not import bench/render.ts (render.ts calls the report: no cycle)', () => {
  const src = readFileSync(new URL('../bench/report.ts', import.meta.url), 'utf8');
  assert.doesNotMatch(src, /from '\.\/render(\.ts)?'/);
});
