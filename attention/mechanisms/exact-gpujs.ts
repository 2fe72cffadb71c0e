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
import type { Mechanism } from '../types.ts';
import { defineMechanism, fullInput, type PreparedState } from '../define.ts';
import { GPUJS_REL_L2, gpujsAttention, gpujsCannotRunReason } from '../kernels/gpujs/attention.ts';
import { GPUJS_MODES, gpujsStatus, gpujsUnavailableReason } from '../../core/gpujs/runtime.ts';
import { exactCost } from './exact.ts';

const OPTIONS = {
  mode: {
    type: 'enum',
    default: 'auto',
    values: GPUJS_MODES,
    description: "auto: whatever gpu.js picks here (headless-gl, else WebAssembly, else JS) and reported in the path; " +
      'gpu: GL through headless-gl or a clear error; webasm: WebAssembly SIMD on the CPU; cpu: gpu.js kernels as JavaScript',
  },
} as const;

/**
 * Nothing is prepared: K and V are uploaded per attend. gpu.js keeps a kernel's output texture for that
 * kernel and overwrites it on the kernel's next run (its `pipeline` textures are recycled, and released with
 * the kernel when the shape cache evicts it), so a K texture held by one prepared cache would be silently
 * replaced by the next prepare of the same shape; gpu.js's `immutable` textures avoid that but are freed only
 * by an explicit texture.delete(), which a prepared cache (no destructor) could never call — GPU memory would
 * leak per prepare. The kernel set also depends on the query tile (m) and the mask kind, so it cannot be
 * compiled before the query either. The upload is O(n·(d + dv)) against the O(m·n·(d + dv)) kernels.
 */
type State = null;

export const exactGpujs: Mechanism = defineMechanism<State, typeof OPTIONS>({
  name: 'exact-gpujs',
  family: 'exact',
  // A getter: `qattn list` shows where gpu.js runs here, and nothing loads gpu.js until something reads it.
  get summary(): string {
    return `exact softmax attention as gpu.js kernels, float32 (${gpujsStatus()})`;
  },
  reference: 'Vaswani et al. 2017 (arXiv:1706.03762); gpu.js (https://gpu.rocks)',
  options: OPTIONS,
  budget: null,
  tolerance: {
    kind: 'exhaustive',
    relL2: GPUJS_REL_L2,
    note: 'float32 gpu.js kernels (GL highp, WebAssembly f32 or JS) against the float64 reference',
    options: () => ({}),
  },
  costFields: { scoreEvaluations: 'sum', selectedPerQuery: 'mean' },
  unavailableReason(): string | null {
    return gpujsUnavailableReason();
  },
  // The float32 overflow refusal (D6) looks at Q as well as K, so it stays per query here.
  notSupportedReasons(input): string[] {
    const reason = gpujsUnavailableReason() ?? gpujsCannotRunReason(input);
    return reason ? [reason] : [];
  },
  prepare: (): PreparedState<State> => ({ state: null }),
  async attend(p, query) {
    const input = fullInput(p.kv, query);
    const { out, ran } = gpujsAttention(input, p.options.mode);
    return { out, cost: exactCost(input), path: `gpujs-${ran.join('+')}` };
  },
});
