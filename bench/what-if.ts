/**
 * The report's what-if panel (issue 13, item 7): the break-even context length recomputed in the page while a
 * reader changes the two-qubit gate time, the physical error rate, the code distance (or automatic), the QRAM
 * model and the classical parallelism S — offline, from numbers the run embeds.
 *
 * One model, two places. WHAT_IF_JS is plain JavaScript (no imports, no transpiler in the way), inlined into
 * index.html and evaluated here as `whatIf`, so the numbers the page shows are the numbers the tests check:
 * at each profile's own settings the panel reproduces `qattn verdict` (test/what-if.test.ts).
 *
 * What it recomputes, per n on a grid of log₂ n in steps of ¼ (from the run's smallest n to 2^128):
 * - QPU seconds per query = layers(n) × layer time + measurements(n) × readout, the model of oracles/qpu-time.ts
 *   qpuBreakdown: layers(n) = calls(n) × (oracle depth + diffusion depth) from the cost model at ⌈log₂ n⌉ index
 *   qubits (cost-model.ts, key payload, k excluded, ties broken by index), calls(n) the run's fitted oracle calls
 *   (crossover-model.ts, exponent capped at ½); layer time t₂q + 7/6·t₁q on a physical profile, or 1.5 logical
 *   cycles (4·t₂q + 2·t_meas)·d on the surface code, d the smallest odd distance whose logical error
 *   0.03·(p/0.01)^((d+1)/2) over the query's logical operations stays within the profile's failure budget
 *   (qpu-time.ts surfaceCodePlan) — or the distance the reader sets;
 * - classical seconds per query: the H200 scores + top-32 reference the verdict uses, divided by S;
 * - the break-even: the first grid n where the QPU is no slower; noisy: none when one oracle call at n = 2^20
 *   fails with probability above ½ (physical: 1 − (1 − p)^faults per call; surface code: 1 − (1 − p_L)^(depth ×
 *   qubits)), as in bench/verdict.ts.
 */
import {
  hardwareProfiles, iterationCost, ONE_QUBIT_LAYERS_PER_LAYER, qramFaultLocations, qramModels, T_LAYERS_PER_LAYER, type QramModel,
} from '../oracles/index.ts';
import { crossoverAnalysis, groverOracleModel, oracleShape, quantumRecords, REFERENCE_N, type CrossoverAnalysis } from './charts/crossover-analysis.ts';
import { MAX_LOG2_N } from './charts/crossover-model.ts';
import type { ResultsDoc } from './results.ts';
import { NOISY_MAX_ERROR } from './verdict.ts';

/** Per QRAM model, at each grid point. */
export interface WhatIfSeries {
  /** Two-qubit layers per query (oracle calls × (oracle + diffusion depth)). */
  readonly layers: number[];
  readonly measurements: number[];
  /** Logical circuit qubits (the surface code's logical operations are layers × width). */
  readonly width: number[];
  /** Fault locations of one oracle call on a physical profile (qpu-time.ts noisePerOracleCall). */
  readonly faults: number[];
  /** Depth × qubits of one iteration: a logical profile's exposures per call. */
  readonly volume: number[];
}

export interface WhatIfProfile {
  readonly name: string;
  readonly qram: QramModel;
  /** Physical (or, for a surface-code profile, the physical qubits') two-qubit gate seconds and error. */
  readonly twoQubitSeconds: number;
  readonly error: number;
  readonly oneQubitSeconds: number;
  readonly measurementSeconds: number;
  /** Set on a surface-code profile: its failure budget over the computation. */
  readonly targetFailure: number | null;
}

export interface WhatIfData {
  readonly method: string;
  readonly workload: string;
  readonly competitor: string;
  readonly log2n: number[];
  /** Classical seconds per query at each grid point (before dividing by S). */
  readonly classical: number[];
  /** Grid index of n = 2^20, where the noisy rule is read. */
  readonly reference: number;
  /** Grid index the break-even search starts at: the run's smallest n (the verdict's `from`). */
  readonly start: number;
  readonly series: Record<QramModel, WhatIfSeries>;
  readonly profiles: WhatIfProfile[];
  readonly oneQubitLayers: number;
  readonly tLayers: number;
  readonly noisyMaxError: number;
}

export interface WhatIfInputs {
  readonly profile: string;
  readonly twoQubitSeconds: number;
  readonly error: number;
  /** Surface-code distance, or 0 for the automatic choice (ignored on physical profiles). */
  readonly distance: number;
  readonly qram: QramModel;
  readonly parallelism: number;
}

export interface WhatIfResult {
  /** log₂ of the break-even n, noiseless; null: not below 2^128. */
  readonly breakEvenLog2: number | null;
  /** The same with the profile's noise: null when one call fails with probability above ½. */
  readonly noisyBreakEvenLog2: number | null;
  readonly perCallError: number;
  /** The surface-code distance at n = 2^20 (null on a physical profile). */
  readonly distance: number | null;
  readonly qpuSecondsAtReference: number;
  readonly classicalSecondsAtReference: number;
}

/** The model, as the page runs it (see the header). */
export const WHAT_IF_JS = String.raw`function qattnWhatIf(data, inp) {
  var p = null;
  for (var a = 0; a < data.profiles.length; a++) if (data.profiles[a].name === inp.profile) p = data.profiles[a];
  var s = data.series[inp.qram];
  if (!p || !s) return null;
  var surface = p.targetFailure !== null;
  var pL = function (d) { return Math.min(1, 0.03 * Math.pow(inp.error / 0.01, (d + 1) / 2)); };
  var distance = function (i) {
    if (inp.distance > 0) return inp.distance;
    var ops = Math.max(1, s.layers[i] * s.width[i]), d = 3;
    while (d < 999 && ops * pL(d) > p.targetFailure) d += 2;
    return d;
  };
  var seconds = function (i) {
    if (surface) {
      var cycle = (4 * inp.twoQubitSeconds + 2 * p.measurementSeconds) * distance(i);
      return s.layers[i] * cycle * (1 + data.tLayers) + s.measurements[i] * cycle;
    }
    return s.layers[i] * (inp.twoQubitSeconds + data.oneQubitLayers * p.oneQubitSeconds) + s.measurements[i] * p.measurementSeconds;
  };
  var even = null;
  for (var i = data.start; i < data.log2n.length && even === null; i++) if (seconds(i) <= data.classical[i] / inp.parallelism) even = data.log2n[i];
  var ref = data.reference;
  var err = surface ? -Math.expm1(s.volume[ref] * Math.log1p(-pL(distance(ref)))) : -Math.expm1(s.faults[ref] * Math.log1p(-inp.error));
  return {
    breakEvenLog2: even,
    noisyBreakEvenLog2: err <= data.noisyMaxError ? even : null,
    perCallError: err,
    distance: surface ? distance(ref) : null,
    qpuSecondsAtReference: seconds(ref),
    classicalSecondsAtReference: data.classical[ref] / inp.parallelism
  };
}`;

/** WHAT_IF_JS evaluated here: the function the page runs. */
export const whatIf = new Function(`${WHAT_IF_JS}\nreturn qattnWhatIf;`)() as (data: WhatIfData, inputs: WhatIfInputs) => WhatIfResult | null;

/** Grid step in log₂ n. */
const STEP = 0.25;

/** Four significant digits: the page's data stays small and nothing it shows needs more. */
const round4 = (x: number): number => Number(x.toPrecision(4));

/** The panel's data for a run, or null when it has no quantum records with a fitted model. */
export function whatIfData(doc: ResultsDoc, a: CrossoverAnalysis = crossoverAnalysis(doc)): WhatIfData | null {
  const gpu = a.competitors[0];
  const model = a.profiles.find((p) => p.model)?.model;
  const recs = quantumRecords(doc);
  if (!a.method || !gpu || !model || !recs.length) return null;
  const shape = oracleShape(recs)!;
  // Steps of ¼ through log₂ 2^20 (the noisy rule is read there), from the run's smallest n or below it.
  const ref = Math.log2(REFERENCE_N), smallest = Math.log2(recs[0]!.n);
  const from = ref - STEP * Math.max(0, Math.ceil((ref - smallest) / STEP - 1e-9));
  const log2n: number[] = [];
  for (let t = 0; from + t * STEP <= MAX_LOG2_N + 1e-9; t++) log2n.push(from + t * STEP);
  const series = Object.fromEntries(qramModels.map((qram) => {
    const s: WhatIfSeries = { layers: [], measurements: [], width: [], faults: [], volume: [] };
    for (const l of log2n) {
      const n = 2 ** l, calls = model.callsAt(n);
      const m = groverOracleModel(shape, n, qram);
      const it = iterationCost(m);
      s.layers.push(round4(calls * it.depth));
      s.measurements.push(round4(calls * shape.measurementsPerCall));
      s.width.push(m.qubits);
      s.faults.push(round4(it.twoQubitGates - m.qram.twoQubitGates + qramFaultLocations(m)));
      s.volume.push(round4(it.depth * m.qubits));
    }
    return [qram, s];
  })) as Record<QramModel, WhatIfSeries>;
  const profiles = Object.values(hardwareProfiles).map((p): WhatIfProfile => ({
    name: p.name, qram: p.qram,
    twoQubitSeconds: p.surfaceCode ? p.surfaceCode.physicalTwoQubitSeconds : p.twoQubitGateSeconds,
    error: p.surfaceCode ? p.surfaceCode.physicalError : p.twoQubitError,
    oneQubitSeconds: p.oneQubitGateSeconds,
    measurementSeconds: p.surfaceCode ? p.surfaceCode.physicalMeasurementSeconds : p.measurementSeconds,
    targetFailure: p.surfaceCode ? p.surfaceCode.targetFailure : null,
  }));
  return {
    method: a.method, workload: a.workload ?? '', competitor: gpu.name, log2n,
    classical: log2n.map((l) => round4(gpu.time(2 ** l))),
    reference: log2n.findIndex((l) => Math.abs(l - ref) < 1e-9),
    start: Math.max(0, log2n.findIndex((l) => l >= smallest - 1e-9)),
    series, profiles, oneQubitLayers: ONE_QUBIT_LAYERS_PER_LAYER, tLayers: T_LAYERS_PER_LAYER, noisyMaxError: NOISY_MAX_ERROR,
  };
}

/** A profile's own settings as panel inputs. */
export function defaultInputs(data: WhatIfData, profile: string, parallelism = 1): WhatIfInputs {
  const p = data.profiles.find((x) => x.name === profile) ?? data.profiles[0]!;
  return { profile: p.name, twoQubitSeconds: p.twoQubitSeconds, error: p.error, distance: 0, qram: p.qram, parallelism };
}

/**
 * The panel's sentence for a result (plain JavaScript like WHAT_IF_JS, run by the page on every change and
 * here for the text the page opens with, so both say the same).
 */
export const WHAT_IF_TEXT_JS = String.raw`function qattnWhatIfText(data, inp, r) {
  if (!r) return 'no model for this profile';
  var pow = function (l) { return l === null ? 'never (not below 2^128)' : '2^' + (Math.abs(l - Math.round(l)) < 1e-9 ? String(Math.round(l)) : l.toFixed(2)); };
  var sec = function (x) {
    var u = [[1, 's'], [1e-3, 'ms'], [1e-6, 'µs'], [1e-9, 'ns'], [1e-12, 'ps']];
    if (!(x < 1e3)) return x.toExponential(1) + ' s';
    for (var i = 0; i < u.length; i++) if (x >= u[i][0]) return Number((x / u[i][0]).toPrecision(2)) + ' ' + u[i][1];
    return x.toExponential(1) + ' s';
  };
  return 'break-even n = ' + pow(r.breakEvenLog2) + ' with noiseless hardware' +
    (inp.qram === 'free' ? ' and a free QRAM (the most favourable assumption)' : '') +
    '; with the error rate: ' + pow(r.noisyBreakEvenLog2) + ' (one oracle call at n = 2^20 fails with probability ' + r.perCallError.toPrecision(3) + ')' +
    (r.distance !== null ? '; surface-code distance ' + r.distance + ' at n = 2^20' : '') +
    '. At n = 2^20: QPU ' + sec(r.qpuSecondsAtReference) + ' against ' + sec(r.classicalSecondsAtReference) + ' per query for ' + data.competitor +
    (inp.parallelism !== 1 ? ' on ' + inp.parallelism + ' of them' : '') + '.';
}`;

export const whatIfText = new Function(`${WHAT_IF_TEXT_JS}\nreturn qattnWhatIfText;`)() as (data: WhatIfData, inputs: WhatIfInputs, r: WhatIfResult | null) => string;

/** The page's wiring: read the form, run the model, write the sentence; a new profile loads its own settings. */
const WIRING_JS = String.raw`(function () {
  var data = JSON.parse(document.getElementById('wi-data').textContent);
  var $ = function (id) { return document.getElementById(id); };
  var profileOf = function (name) { for (var i = 0; i < data.profiles.length; i++) if (data.profiles[i].name === name) return data.profiles[i]; return data.profiles[0]; };
  var update = function () {
    var inp = {
      profile: $('wi-profile').value, twoQubitSeconds: Number($('wi-t2q').value) * 1e-9, error: Number($('wi-error').value),
      distance: Math.max(0, Math.round(Number($('wi-distance').value))), qram: $('wi-qram').value, parallelism: Math.max(1, Number($('wi-s').value))
    };
    var ok = inp.twoQubitSeconds > 0 && inp.error >= 0 && inp.error < 1;
    $('wi-result').textContent = ok ? qattnWhatIfText(data, inp, qattnWhatIf(data, inp)) : 'enter a gate time > 0 and an error rate in [0, 1)';
  };
  var load = function () {
    var p = profileOf($('wi-profile').value);
    $('wi-t2q').value = String(p.twoQubitSeconds * 1e9);
    $('wi-error').value = String(p.error);
    $('wi-qram').value = p.qram;
    $('wi-distance').disabled = p.targetFailure === null;
    update();
  };
  $('wi-profile').addEventListener('change', load);
  ['wi-t2q', 'wi-error', 'wi-distance', 'wi-qram', 'wi-s'].forEach(function (id) { $(id).addEventListener('input', update); $(id).addEventListener('change', update); });
  update();
})();`;

/** The profile the panel opens on. */
export const WHAT_IF_START = 'superconducting';

/** What the report inlines: the section's HTML (its script included) and the script's CSP source. */
export interface WhatIfPanel {
  readonly html: string;
  /** 'sha256-…' of the one script, for the page's script-src. */
  readonly scriptHash: string;
}

/**
 * The what-if section, or null without data. Its data travels as JSON in a non-executable
 * <script type="application/json"> (textContent, never evaluated; '<' written as \u003c so no string in it can
 * close the element); the one executable script is the model and the wiring above, allowed by its hash.
 */
export function whatIfPanel(data: WhatIfData | null, escapeHtml: (s: string) => string, sha256Base64: (s: string) => string): WhatIfPanel | null {
  if (!data) return null;
  const start = defaultInputs(data, WHAT_IF_START);
  const first = whatIfText(data, start, whatIf(data, start));
  const script = `${WHAT_IF_JS}\n${WHAT_IF_TEXT_JS}\n${WIRING_JS}`;
  const options = (values: readonly string[], selected: string): string =>
    values.map((v) => `<option value="${escapeHtml(v)}"${v === selected ? ' selected' : ''}>${escapeHtml(v)}</option>`).join('');
  const html = `<section id="what-if"><h2>What if</h2>
<p>The break-even context length for ${escapeHtml(data.method)} on ${escapeHtml(data.workload)} against ${escapeHtml(data.competitor)}, recomputed in this page from the cost model (bench/what-if.ts; at each profile's own settings it is the verdict table above). Change the assumptions: the two-qubit gate time (on the fault-tolerant profile, of its physical qubits), the physical error rate, the surface-code distance (0: the smallest that keeps the whole query within the profile's failure budget), the QRAM model and the classical parallelism S.</p>
<form id="wi-form" class="what-if">
<label>hardware profile <select id="wi-profile">${options(data.profiles.map((p) => p.name), start.profile)}</select></label>
<label>two-qubit gate time (ns) <input id="wi-t2q" type="number" min="0" step="any" value="${start.twoQubitSeconds * 1e9}"></label>
<label>physical error rate <input id="wi-error" type="number" min="0" max="1" step="any" value="${start.error}"></label>
<label>code distance <input id="wi-distance" type="number" min="0" step="2" value="0" disabled></label>
<label>QRAM <select id="wi-qram">${options(Object.keys(data.series), start.qram)}</select></label>
<label>classical parallelism S <input id="wi-s" type="number" min="1" step="any" value="1"></label>
</form>
<p><output id="wi-result" for="wi-form">${escapeHtml(first)}</output></p>
<script type="application/json" id="wi-data">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
<script>${script}</script>
</section>`;
  return { html, scriptHash: `sha256-${sha256Base64(script)}` };
}
