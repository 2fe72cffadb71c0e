/**
 * The gpu.js runtime behind qattn's GPU path (`exact-gpujs`, the `gpujs` state-vector backend). It lives in
 * core/, below both attention/ (kernels/gpujs/) and oracles/ (backends/gpujs-kernels.ts), so that all gpu.js
 * code shares one runtime without oracles/ depending on attention/.
 *
 * gpu.js is an optional dependency and its GL backend needs the native `gl` (headless-gl) package, which npm
 * often leaves unbuilt. So gpu.js is loaded lazily, on the first GPU-path call, with a synchronous
 * `createRequire` (it is CommonJS, and the state-vector backend's interface is synchronous); a missing package
 * or GL context becomes one QattnError line that says which mode gpu.js would run in instead.
 *
 * qattn modes → gpu.js modes: auto → gpu.js's own choice (headless-gl, else WebAssembly, else JS);
 * gpu → 'headlessgl' only (gpu.js's own 'gpu' mode silently falls through to WebAssembly, which would make
 * "gpu" a lie); webasm → 'webasm' (f32 SIMD on the CPU); cpu → 'cpu' (kernels transpiled to JavaScript).
 * What actually ran is read back from the kernel after each call, because gpu.js may still degrade a kernel
 * to its CPU backend at build time.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { QattnError } from '../errors.ts';

export const GPUJS_MODES = ['auto', 'gpu', 'webasm', 'cpu'] as const;
export type GpujsMode = (typeof GPUJS_MODES)[number];
/** The backend a kernel ran on: 'gpu' = GL through headless-gl, 'webasm' = WebAssembly SIMD, 'cpu' = JavaScript. */
export type GpujsRan = 'gpu' | 'webasm' | 'cpu';

/** What a kernel function sees as `this` (gpu.js's thread indices and compile-time constants). */
export interface KernelThis<C> {
  readonly thread: { readonly x: number; readonly y: number; readonly z: number };
  readonly constants: C;
}

// The slice of gpu.js's API used here, typed structurally: its own typings are loose and may be absent.
interface RawShortcut {
  (...args: unknown[]): unknown;
  readonly kernel: { readonly constructor: { readonly mode?: unknown }; readonly fallbackReason?: unknown };
  destroy(removeCanvasReferences?: boolean): void;
}
interface RawGpu {
  readonly Kernel: { readonly mode?: unknown; readonly features?: { readonly maxTextureSize?: unknown } } | null;
  createKernel(source: string, settings: object): RawShortcut;
}
interface RawGpuClass {
  new (settings?: { mode?: string }): RawGpu;
  readonly isHeadlessGLSupported: boolean;
}

type Loaded = { readonly GPU: RawGpuClass; readonly version: string; readonly dir: string } | { readonly error: string };
let loaded: Loaded | null = null;

function load(): Loaded {
  if (loaded) return loaded;
  const req = createRequire(import.meta.url);
  try {
    const mod = req('gpu.js') as { GPU?: RawGpuClass };
    if (typeof mod.GPU !== 'function') throw new Error('the module has no GPU class');
    const dir = dirname(req.resolve('gpu.js'));
    let version = '?';
    try {
      version = String((req('gpu.js/package.json') as { version?: unknown }).version ?? '?');
    } catch { /* version is cosmetic */ }
    loaded = { GPU: mod.GPU, version, dir };
  } catch (e) {
    loaded = { error: `the optional package gpu.js could not be loaded (${e instanceof Error ? e.message.split('\n')[0] : String(e)})` };
  }
  return loaded;
}

function asRan(mode: unknown): GpujsRan {
  if (mode === 'gpu' || mode === 'webasm' || mode === 'cpu') return mode;
  throw new Error(`internal: unexpected gpu.js kernel mode ${String(mode)}`);
}

/** Why headless-gl is not usable: not installed/built, or installed without a usable GL context. */
function glReason(dir: string): string {
  try {
    createRequire(`${dir}/`).resolve('gl');
    return "headless-gl ('gl') is installed but could not create a WebGL context (no GPU/driver, or no display)";
  } catch {
    return "the optional native package 'gl' (headless-gl) is not installed or not built";
  }
}

const gpus = new Map<GpujsMode, RawGpu>();

function unavailable(reason: string): QattnError {
  return new QattnError(`gpu.js path unavailable: ${reason}`);
}

const INSTALL_HINT = 'install it (npm install gpu.js) or use a CPU path (exact, statevector)';

/** One line saying why gpu.js cannot be used at all here, or null when it loads. */
export function gpujsUnavailableReason(): string | null {
  const lib = load();
  return 'error' in lib ? unavailable(`${lib.error}; ${INSTALL_HINT}`).message : null;
}

/** The gpu.js instance for a qattn mode (one per mode, reused: kernels compile once per instance). */
function gpuFor(mode: GpujsMode): RawGpu {
  const cached = gpus.get(mode);
  if (cached) return cached;
  const lib = load();
  if ('error' in lib) throw unavailable(`${lib.error}; ${INSTALL_HINT}`);
  if (mode === 'gpu' && !lib.GPU.isHeadlessGLSupported) {
    throw unavailable(`mode 'gpu' needs headless-gl, but ${glReason(lib.dir)}; gpu.js would run in mode '${autoMode(lib.GPU)}' (use mode=auto)`);
  }
  const gpuMode = { auto: undefined, gpu: 'headlessgl', webasm: 'webasm', cpu: 'cpu' }[mode];
  let gpu: RawGpu;
  try {
    gpu = new lib.GPU(gpuMode ? { mode: gpuMode } : {});
  } catch (e) {
    throw unavailable(`gpu.js cannot run in mode '${mode}' here (${e instanceof Error ? e.message : String(e)}); ` +
      `it would run in mode '${autoMode(lib.GPU)}' (use mode=auto)`);
  }
  gpus.set(mode, gpu);
  return gpu;
}

function autoMode(GPU: RawGpuClass): GpujsRan {
  return asRan(new GPU().Kernel?.mode);
}

/** The mode gpu.js picks by itself here ('gpu' only with a working headless-gl), or null without gpu.js. */
export function gpujsAutoMode(): GpujsRan | null {
  const lib = load();
  return 'error' in lib ? null : autoMode(lib.GPU);
}

/** One line for `qattn list`: the gpu.js version, the mode `auto` runs in here and, without a GPU, why. */
export function gpujsStatus(): string {
  const lib = load();
  if ('error' in lib) return `unavailable here: ${lib.error}`;
  try {
    const mode = autoMode(lib.GPU);
    return mode === 'gpu'
      ? `gpu.js ${lib.version} runs here in mode 'gpu' (headless-gl)`
      : `gpu.js ${lib.version} runs here in mode '${mode}' (no GPU: ${glReason(lib.dir)})`;
  } catch (e) {
    return `gpu.js ${lib.version} cannot start here (${e instanceof Error ? e.message : String(e)})`;
  }
}

/**
 * A kernel result left where the kernel ran — a texture on the GPU (gpu.js `pipeline: true`), a host array
 * on gpu.js's CPU backends — so the next kernel reads it without a GPU→host→GPU round trip. It is the kernel's
 * own output buffer: valid until that kernel runs again (so iterations ping-pong between two kernels).
 */
export class Resident {
  constructor(readonly raw: unknown) {}
}

/** Parameter types of kernel functions: flat float32 arrays, 2-D arrays (rows), scalars. */
export type KernelArg = Float32Array | readonly Float32Array[] | number;
/** What a call may pass for each parameter: the host value or, for arrays, a resident result. */
export type CallArgs<A extends readonly KernelArg[]> = { [K in keyof A]: A[K] extends number ? number : A[K] | Resident };

/** A compiled gpu.js kernel with a typed call and a report of the backend it ran on. */
export interface GpujsKernel<A extends readonly KernelArg[], R> {
  run(...args: CallArgs<A>): R;
  /** The backend the last call ran on (gpu.js can degrade a kernel to 'cpu' when it builds). */
  ran(): GpujsRan;
  destroy(): void;
}

export interface KernelSpec<C extends object, A extends readonly KernelArg[]> {
  readonly fn: (this: KernelThis<C>, ...args: A) => number;
  /** Output size: [x] or [x, y] (thread.x is the fastest index). */
  readonly output: readonly [number] | readonly [number, number];
  readonly constants: C;
}

function makeKernel<C extends object, A extends readonly KernelArg[], R>(
  gpu: RawGpu, spec: KernelSpec<C, A>, pipeline: boolean, check: (r: unknown) => R,
): GpujsKernel<A, R> {
  // 'precision' asks GL for highp floats; 'single' rules out gpu.js's 8-bit packed 'unsigned' textures.
  const k = gpu.createKernel(spec.fn.toString(), {
    output: [...spec.output], constants: spec.constants, precision: 'single', tactic: 'precision', pipeline,
  });
  return {
    run: (...args) => check(k(...args.map((a: unknown) => (a instanceof Resident ? a.raw : a)))),
    ran: () => asRan(k.kernel.constructor.mode),
    destroy: () => k.destroy(),
  };
}

function vector(r: unknown): Float32Array {
  if (r instanceof Float32Array) return r;
  throw new Error('internal: a 1-D gpu.js kernel did not return a Float32Array');
}

function rows(r: unknown): readonly Float32Array[] {
  if (Array.isArray(r) && r.every((x) => x instanceof Float32Array)) return r as Float32Array[];
  throw new Error('internal: a 2-D gpu.js kernel did not return Float32Array rows');
}

/** A kernel with 1-D output (a Float32Array of output[0] values). */
export function kernel1d<C extends object, A extends readonly KernelArg[]>(mode: GpujsMode, spec: KernelSpec<C, A>): GpujsKernel<A, Float32Array> {
  return makeKernel(gpuFor(mode), spec, false, vector);
}

/** A kernel with 2-D output (output[1] rows of output[0] values). */
export function kernel2d<C extends object, A extends readonly KernelArg[]>(mode: GpujsMode, spec: KernelSpec<C, A>): GpujsKernel<A, readonly Float32Array[]> {
  return makeKernel(gpuFor(mode), spec, false, rows);
}

/** A kernel whose output stays resident for other kernels (see Resident). */
export function residentKernel<C extends object, A extends readonly KernelArg[]>(mode: GpujsMode, spec: KernelSpec<C, A>): GpujsKernel<A, Resident> {
  return makeKernel(gpuFor(mode), spec, true, (r) => new Resident(r));
}

/** a_i: uploads a host vector as a resident result, so later kernels read it from device memory. */
export function copyKernel(this: KernelThis<Record<string, never>>, a: Float32Array): number {
  return a[this.thread.x]!;
}

/** Reads a resident 1-D result back to the host (a GL texture's toArray(); CPU backends hold it already). */
export function readVector(r: Resident): Float32Array {
  const raw = r.raw as { toArray?: () => unknown } | null;
  return vector(raw !== null && typeof raw === 'object' && typeof raw.toArray === 'function' ? raw.toArray() : raw);
}

/**
 * The one place that turns "what ran" into a verdict: mode 'gpu' must have run on the GPU (else a QattnError
 * naming the fallback), any other mode reports what ran.
 */
export function checkRan(mode: GpujsMode, ran: GpujsRan): GpujsRan {
  if (mode === 'gpu' && ran !== 'gpu') throw unavailable(`mode 'gpu' was requested but gpu.js ran the kernel in mode '${ran}'`);
  return ran;
}

/** The widest texture (in texels per side) kernels of `mode` may write: the GL limit, Infinity off GL. */
export function maxTextureSize(mode: GpujsMode): number {
  const size = gpuFor(mode).Kernel?.features?.maxTextureSize;
  return typeof size === 'number' && size > 0 ? size : Infinity;
}

/** Ensures the gpu.js instance for `mode` can be created (throws the QattnError line otherwise). */
export function requireGpujs(mode: GpujsMode): void {
  gpuFor(mode);
}
