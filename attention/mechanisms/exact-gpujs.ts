/**
 * `exact-gpujs`: exact softmax attention as gpu.js kernels (float32) — the dense score, softmax and value
 * products on a GPU where gpu.js finds one (GL through headless-gl), else on gpu.js's WebAssembly or
 * JavaScript backends.
 *
 * A mechanism of its own rather than a `path` of `exact`: the registry's conformance suite then checks it
 * like every other mechanism, and `qattn list` can show the mode gpu.js runs in on this machine. The path it
 * reports names that mode (`gpujs-gpu`, `gpujs-webasm`, `gpujs-cpu`), so results never pass a CPU run off
 * as a GPU run. Kernels and tiling: kernels/gpujs/.
 */
import type { AttentionInput, AttentionOutput, Mechanism, Options } from '../types.ts';
import { singlePhase } from '../define.ts';
import { optString } from '../options.ts';
import { GPUJS_REL_L2, gpujsAttention, gpujsCannotRunReason } from '../kernels/gpujs/attention.ts';
import { GPUJS_MODES, gpujsStatus, gpujsUnavailableReason, type GpujsMode } from '../../core/gpujs/runtime.ts';
import { exactCost } from './exact.ts';

/** The same counts as `exact`: the kernels compute every visible score once. */
function asMode(s: string): GpujsMode {
  const mode = GPUJS_MODES.find((m) => m === s);
  if (!mode) throw new Error(`internal: gpu.js mode ${s} passed option validation`);
  return mode;
}

export const exactGpujs: Mechanism = singlePhase({
  name: 'exact-gpujs',
  family: 'exact',
  // A getter: `qattn list` shows where gpu.js runs here, and nothing loads gpu.js until something reads it.
  get summary(): string {
    return `exact softmax attention as gpu.js kernels, float32 (${gpujsStatus()})`;
  },
  reference: 'Vaswani et al. 2017 (arXiv:1706.03762); gpu.js (https://gpu.rocks)',
  options: {
    mode: {
      type: 'enum',
      default: 'auto',
      values: GPUJS_MODES,
      description: "auto: whatever gpu.js picks here (headless-gl, else WebAssembly, else JS) and reported in the path; " +
        'gpu: GL through headless-gl or a clear error; webasm: WebAssembly SIMD on the CPU; cpu: gpu.js kernels as JavaScript',
    },
  },
  tolerance: {
    exhaustiveRelL2: GPUJS_REL_L2,
    note: 'float32 gpu.js kernels (GL highp, WebAssembly f32 or JS) against the float64 reference',
  },
  costFields: { scoreEvaluations: 'sum', selectedPerQuery: 'mean' },
  exhaustiveOptions(): Options {
    return {};
  },
  unavailableReason(): string | null {
    return gpujsUnavailableReason();
  },
  notSupportedReasons(input: AttentionInput): string[] {
    const reason = this.unavailableReason?.() ?? gpujsCannotRunReason(input);
    return reason ? [reason] : [];
  },
  async attend(input: AttentionInput, options: Options): Promise<AttentionOutput> {
    const { out, ran } = gpujsAttention(input, asMode(optString(options, 'mode')));
    return { out, cost: exactCost(input), path: `gpujs-${ran.join('+')}` };
  },
});
