/**
 * The gpu.js path: `exact-gpujs` and the `gpujs` state-vector backend agree with the CPU paths within their
 * declared float32 tolerances in every gpu.js mode that runs on this machine (WebAssembly and JavaScript
 * always; GL only where headless-gl creates a context), report the mode they ran in, and fail with one clear
 * line when mode 'gpu' is asked for without a GPU. Sizes are small: gpu.js's CPU modes are slow.
 *
 * The GL kernels are also run where Node has no GPU: the same modules, bundled for the browser, on gpu.js's
 * WebGL backend (the parent of its headless-gl one: same GLSL, same textures) in headless Chromium with
 * SwiftShader's software WebGL — skipped where Debian's chromium is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { QattnError } from '../core/errors.ts';
import { relL2 } from '../attention/fidelity.ts';
import { referenceAttention64 } from '../attention/kernels/reference.ts';
import { streamingAttention } from '../attention/kernels/streaming.ts';
import { GPUJS_REL_L2, gpujsAttention, gpujsCannotRunReason, tileRows } from '../attention/kernels/gpujs/attention.ts';
import { gpujsAutoMode, type GpujsMode } from '../core/gpujs/runtime.ts';
import { runAttention } from '../attention/run.ts';
import { listCommand } from '../cli/list.ts';
import { createRng } from '../core/rng.ts';
import { backendNames, createBackend, depolarizing, markedOracle, optimalIterations, thresholdOracle } from '../oracles/index.ts';
import { GPUJS_AMPLITUDE_TOLERANCE, createGpujsBackend } from '../oracles/backends/gpujs.ts';
import { gaussianInput } from './helpers/workloads.ts';

const auto = gpujsAutoMode();
const hasGpu = auto === 'gpu';
/** gpu.js is an optional dependency: without it only the "unavailable" behaviour is testable. */
const needsGpujs = { skip: auto === null ? 'gpu.js is not installed' : false };
/** Every mode that can run here: explicit ones, plus 'gpu' where headless-gl works. */
const modes: GpujsMode[] = hasGpu ? ['auto', 'gpu', 'webasm', 'cpu'] : ['auto', 'webasm', 'cpu'];
/** What each mode must report having run in. */
const expectRan = (mode: GpujsMode): string => (mode === 'auto' ? String(auto) : mode);

test('gpu.js loads here (it is installed as an optional dependency) and picks a mode', needsGpujs, () => {
  assert.ok(auto === 'gpu' || auto === 'webasm' || auto === 'cpu', `auto mode ${String(auto)}`);
});

/** Runs ESM code in a child process where resolving 'gpu.js' fails, as on an install without it. */
function withoutGpujs(code: string): string {
  const hide = `import Module from 'node:module';
    const resolve = Module._resolveFilename;
    Module._resolveFilename = function (req, ...rest) {
      if (req === 'gpu.js' || req.startsWith('gpu.js/')) throw Object.assign(new Error("Cannot find module '" + req + "'"), { code: 'MODULE_NOT_FOUND' });
      return resolve.call(this, req, ...rest);
    };`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `${hide}\n${code}`], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('without gpu.js: one QattnError line for both gpu.js paths; list and the CPU paths still work', () => {
  const root = new URL('..', import.meta.url).href;
  const out = withoutGpujs(`
    const { runAttention } = await import('${root}attention/run.ts');
    const { createBackend } = await import('${root}oracles/backends/registry.ts');
    const { getMechanism } = await import('${root}attention/registry.ts');
    const input = { m: 1, n: 2, d: 1, dv: 1, q: new Float32Array([1]), k: new Float32Array([1, 2]), v: new Float32Array([3, 4]) };
    const fail = async (f) => { try { await f(); return 'no error'; } catch (e) { return e.name + ': ' + e.message; } };
    console.log(await fail(() => runAttention('exact-gpujs', input)));
    console.log(await fail(() => createBackend('gpujs')));
    console.log(getMechanism('exact-gpujs').summary);
    console.log((await runAttention('exact', input, { path: 'streaming' })).output.path);
    const { markedOracle } = await import('${root}oracles/oracle.ts');
    console.log(createBackend('statevector').prepare(markedOracle(4, [1])).markedProbability(1));
  `);
  const lines = out.trim().split('\n');
  const unavailable = /^QattnError: gpu\.js path unavailable: the optional package gpu\.js could not be loaded \(Cannot find module 'gpu\.js'\); install it/;
  assert.match(lines[0]!, unavailable);
  assert.match(lines[1]!, unavailable);
  assert.match(lines[2]!, /unavailable here: the optional package gpu\.js could not be loaded/);
  assert.equal(lines[3], 'streaming');
  assert.equal(Number(lines[4]), 1); // one Grover iteration finds 1 of 4 with certainty
});

test('exact-gpujs matches the float64 reference and the streaming path in every mode, over several padded tiles', needsGpujs, () => {
  const n = 90;
  const mask = new Float32Array(23 * n).map((_, t) => (t < n || t % 4 === 1 ? -Infinity : (t % 5) / 5)); // row 0 fully masked
  const inputs = [
    gaussianInput({ m: 23, n, d: 16, dv: 7, seed: 1 }),
    gaussianInput({ m: 23, n, d: 16, dv: 7, seed: 2, causal: true }),
    gaussianInput({ m: 23, n, d: 16, dv: 7, seed: 3, mask }),
  ];
  const tileScores = 5 * n; // 5 queries per tile: 5 tiles, the last padded
  for (const input of inputs) {
    assert.equal(tileRows(input, tileScores), 5);
    const ref = referenceAttention64(input);
    for (const mode of modes) {
      const { out, ran } = gpujsAttention(input, mode, tileScores);
      assert.deepEqual(ran, [expectRan(mode)]);
      const err = relL2(out, ref);
      assert.ok(err <= GPUJS_REL_L2, `${mode}: relL2 ${err} > ${GPUJS_REL_L2}`);
      assert.ok(relL2(out, streamingAttention(input)) <= GPUJS_REL_L2, `${mode}: differs from the streaming path`);
    }
    // One tile or five: the same float32 numbers (tiling only changes which rows share a call).
    assert.deepEqual(gpujsAttention(input, 'webasm', tileScores).out, gpujsAttention(input, 'webasm').out);
  }
});

test('exact-gpujs reports the gpu.js mode it ran in as its path', needsGpujs, async () => {
  const input = gaussianInput({ m: 4, n: 33, d: 8, dv: 3, seed: 4 });
  for (const mode of modes) {
    const res = await runAttention('exact-gpujs', input, { mode });
    assert.equal(res.output.path, `gpujs-${expectRan(mode)}`);
  }
});

test("mode 'gpu' without a GPU fails with one line naming the fallback mode; with one it runs", needsGpujs, async () => {
  const input = gaussianInput({ m: 2, n: 5, d: 4, dv: 2, seed: 5 });
  if (hasGpu) {
    assert.equal((await runAttention('exact-gpujs', input, { mode: 'gpu' })).output.path, 'gpujs-gpu');
    return;
  }
  await assert.rejects(runAttention('exact-gpujs', input, { mode: 'gpu' }), (e: unknown) => {
    assert.ok(e instanceof QattnError);
    assert.match(e.message, /^gpu\.js path unavailable: mode 'gpu' needs headless-gl, but .*; gpu\.js would run in mode '(webasm|cpu)'/);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
  assert.throws(() => createBackend('gpujs', { gpujsMode: 'gpu' }), /gpu\.js path unavailable/);
});

test('exact-gpujs refuses inputs whose flat indices exceed float32-exact 2^24, with a reason', () => {
  const big = { m: 1, n: 2 ** 19, d: 64, dv: 64, q: new Float32Array(64), k: new Float32Array(0), v: new Float32Array(0) };
  assert.match(String(gpujsCannotRunReason(big)), /2\^24/);
  assert.equal(gpujsCannotRunReason({ ...big, n: 2 ** 14 }), null);
});

test('qattn list shows exact-gpujs with the mode gpu.js runs in here', needsGpujs, async () => {
  const lines: string[] = [];
  await listCommand([], { out: (t) => void lines.push(t), err: () => undefined });
  const text = lines.join('\n');
  assert.match(text, /^exact-gpujs \[exact\] .*gpu\.js [\d.]+ runs here in mode '(gpu|webasm|cpu)'/m);
  assert.ok(text.includes(`mode '${String(auto)}'`));
  assert.match(text, /mode=auto \(auto\|gpu\|webasm\|cpu\)/);
});

/** max |a − b| / max |b|. */
function relMaxDiff(a: Float64Array, b: Float64Array): number {
  let d = 0, s = 0;
  for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!)), s = Math.max(s, Math.abs(b[i]!));
  return d / s;
}

test('the gpujs backend is registered and matches the float64 statevector backend in every mode', needsGpujs, () => {
  assert.ok(backendNames.includes('gpujs'));
  const N = 4096, marked = [5, 999, 4000];
  const oracle = markedOracle(N, marked);
  const sv = createBackend('statevector').prepare(oracle);
  const r = optimalIterations(marked.length, N);
  for (const mode of modes) {
    const backend = createGpujsBackend({ mode });
    const g = backend.prepare(oracle);
    assert.equal(g.backend, 'gpujs');
    for (const t of [0, 1, r, r + 7]) {
      const err = relMaxDiff(g.amplitudes(t), sv.amplitudes(t));
      assert.ok(err <= GPUJS_AMPLITUDE_TOLERANCE, `${mode}, ${t} iterations: amplitude difference ${err}`);
    }
    assert.ok(Math.abs(g.markedProbability(r) - sv.markedProbability(r)) < 1e-5);
    assert.deepEqual(backend.ran(), [expectRan(mode)]);
  }
});

test('the gpujs backend: threshold oracles over padded search spaces', needsGpujs, () => {
  const scores = new Float64Array(300).map((_, i) => Math.sin(i * 1.7)); // N = 300: 512 states, 212 padding
  const oracle = thresholdOracle(scores, 0.98);
  const sv = createBackend('statevector').prepare(oracle);
  const g = createBackend('gpujs', { gpujsMode: 'webasm' }).prepare(oracle);
  assert.equal(g.markedCount, sv.markedCount);
  const r = optimalIterations(sv.markedCount, sv.searchSize);
  assert.ok(relMaxDiff(g.probabilities(r), sv.probabilities(r)) <= 2 * GPUJS_AMPLITUDE_TOLERANCE);
});

test('the gpujs backend: noisy trajectories draw the same samples as statevector', needsGpujs, () => {
  // Strong noise: most runs follow an error trajectory (random basis state, the diffusion that completes the
  // struck iteration, then the remaining iterations), so that path is compared draw by draw.
  const oracle = markedOracle(64, Array.from({ length: 16 }, (_, i) => 4 * i + 1));
  const sv = createBackend('statevector').prepare(oracle);
  const g = createBackend('gpujs', { gpujsMode: 'webasm' }).prepare(oracle);
  const noise = depolarizing(0.3);
  // Same RNG draws in the same order: float32 amplitudes move no sample across a cumulative boundary here.
  const a = createRng(9), b = createRng(9);
  for (let run = 0; run < 200; run++) assert.equal(g.measure(3, a, noise), sv.measure(3, b, noise), `run ${run}`);
});

test('the gpujs backend guards memory and rejects gate-level simulation', needsGpujs, () => {
  assert.throws(() => createGpujsBackend({ maxQubits: 10 }).prepare(markedOracle(4096, [1])), /gpujs backend: 12 qubits .* limit of 10 qubits/);
  assert.throws(() => createBackend('gpujs', { gateLevel: true }), QattnError);
  assert.throws(() => createGpujsBackend({ maxQubits: 31 }), QattnError);
});

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** In-browser stand-ins for the two Node modules the gpu.js runtime imports (gpu.js is the page's global). */
const SHIMS: Record<string, string> = {
  'node:module': `export function createRequire() {
      const req = (name) => { if (name === 'gpu.js') return { GPU: globalThis.GPU.GPU ?? globalThis.GPU }; throw new Error('no ' + name); };
      req.resolve = (name) => { if (name === 'gpu.js') return '/gpu.js/index.js'; throw new Error('cannot resolve ' + name); };
      return req;
    }`,
  'node:path': 'export const dirname = (p) => p.replace(/\\/[^/]*$/, "");',
};

/** The checks run in the page: the real driver modules on GL, compared with the float64 CPU paths. */
const PAGE_ENTRY = `
  import { gpujsAttention } from './attention/kernels/gpujs/attention.ts';
  import { referenceAttention64 } from './attention/kernels/reference.ts';
  import { relL2 } from './attention/fidelity.ts';
  import { createGpujsBackend } from './oracles/backends/gpujs.ts';
  import { createStatevectorBackend } from './oracles/backends/statevector.ts';
  import { markedOracle } from './oracles/oracle.ts';
  import { gaussianInput } from './test/helpers/workloads.ts';
  globalThis.check = () => {
    const mask = new Float32Array(23 * 90).map((_, t) => (t < 90 || t % 4 === 1 ? -Infinity : (t % 5) / 5));
    const inputs = [{ seed: 1 }, { seed: 2, causal: true }, { seed: 3, mask }].map((o) => gaussianInput({ m: 23, n: 90, d: 16, dv: 7, ...o }));
    inputs.push(gaussianInput({ m: 4, n: 9000, d: 8, dv: 3, seed: 4 })); // wider than SwiftShader's 8192 texels
    const attention = inputs.flatMap((x) => [450, 2 ** 22].map((tile) => {
      const { out, ran } = gpujsAttention(x, 'auto', tile);
      return { ran: ran.join('+'), err: relL2(out, referenceAttention64(x)) };
    }));
    const oracle = markedOracle(4096, [5, 999, 4000]);
    const backend = createGpujsBackend();
    const a = backend.prepare(oracle).amplitudes(29), b = createStatevectorBackend().prepare(oracle).amplitudes(29);
    let diff = 0, top = 0;
    for (let i = 0; i < b.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i])), top = Math.max(top, Math.abs(b[i]));
    return { attention, grover: { ran: backend.ran().join('+'), err: diff / top } };
  };`;

interface PageResult {
  readonly attention: readonly { readonly ran: string; readonly err: number }[];
  readonly grover: { readonly ran: string; readonly err: number };
}

async function bundleForPage(): Promise<string> {
  const { build } = await import('esbuild'); // tsx's bundler, always installed with it
  const res = await build({
    stdin: { contents: PAGE_ENTRY, resolveDir: ROOT, loader: 'ts' }, bundle: true, format: 'iife', platform: 'browser', write: false, logLevel: 'silent',
    plugins: [{
      name: 'node-shims',
      setup(b) {
        b.onResolve({ filter: /^node:(module|path)$/ }, (a) => ({ path: a.path, namespace: 'shim' }));
        b.onLoad({ filter: /.*/, namespace: 'shim' }, (a) => ({ contents: SHIMS[a.path] ?? '', loader: 'js' }));
      },
    }],
  });
  return res.outputFiles[0]!.text;
}

test('GL kernels (gpu.js WebGL in headless Chromium, SwiftShader) match the float64 CPU paths', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed`, timeout: 60_000 }, async (t) => {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'] });
  try {
    const page = await browser.newPage();
    await page.addScriptTag({ path: `${ROOT}node_modules/gpu.js/dist/gpu-browser.js` });
    const hasWebgl: unknown = await page.evaluate("document.createElement('canvas').getContext('webgl') !== null");
    if (hasWebgl !== true) return t.skip('this Chromium has no WebGL');
    await page.addScriptTag({ content: await bundleForPage() });
    const res = await page.evaluate(() => (globalThis as unknown as { check: () => PageResult }).check());
    for (const [i, r] of res.attention.entries()) {
      assert.equal(r.ran, 'gpu', `attention case ${i} ran on GL`);
      assert.ok(r.err <= GPUJS_REL_L2, `attention case ${i}: relL2 ${r.err}`);
    }
    assert.equal(res.grover.ran, 'gpu');
    assert.ok(res.grover.err <= GPUJS_AMPLITUDE_TOLERANCE, `grover amplitudes ${res.grover.err}`);
  } finally {
    await browser.close();
  }
});
