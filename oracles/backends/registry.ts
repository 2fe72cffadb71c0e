/**
 * The backend registry, like attention's mechanism registry: `BackendName` is a closed union and `factories`
 * an exhaustive Record over it, so a name without an implementation is a compile error, and an unknown name
 * from a user is a QattnError listing the valid ones.
 */
import { QattnError, listChoices } from '../../core/errors.ts';
import { createAnalyticBackend } from './analytic.ts';
import type { Backend, BackendName } from './backend.ts';
import { createStatevectorBackend } from './statevector.ts';
import { createGpujsBackend } from './gpujs.ts';
import type { GpujsMode } from '../../core/gpujs/runtime.ts';

export interface BackendOptions {
  /** Memory guard: widest index register accepted (statevector default 26, analytic 30). */
  readonly maxQubits?: number;
  /** statevector only: apply H / X / multi-controlled-Z gates (slow; validates the fast path). */
  readonly gateLevel?: boolean;
  /** gpujs only: gpu.js mode (auto, gpu, webasm or cpu; default auto). */
  readonly gpujsMode?: GpujsMode;
}

const factories: Record<BackendName, (opts: BackendOptions) => Backend> = {
  statevector: (opts) => createStatevectorBackend(opts),
  analytic: (opts) => {
    if (opts.gateLevel) throw new QattnError('gateLevel is a statevector option; the analytic backend has no gates');
    return createAnalyticBackend(opts);
  },
  gpujs: (opts) => {
    if (opts.gateLevel) throw new QattnError('gateLevel is a statevector option; the gpujs backend runs the fast path only');
    return createGpujsBackend({ maxQubits: opts.maxQubits, mode: opts.gpujsMode });
  },
};

export const backendNames = Object.keys(factories) as BackendName[];

export function isBackendName(name: string): name is BackendName {
  return Object.prototype.hasOwnProperty.call(factories, name);
}

/** A fresh backend (each has its own oracle-evaluation cache). */
export function createBackend(name: string, opts: BackendOptions = {}): Backend {
  if (!isBackendName(name)) throw new QattnError(`unknown quantum backend '${name}' (valid: ${listChoices(backendNames)})`);
  return factories[name](opts);
}
