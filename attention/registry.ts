/**
 * The mechanism registry: swap attention by name (like transformers' `attn_implementation` or xformers'
 * registry). `MechanismName` is a closed union and `factories` an exhaustive Record over it, so adding a name
 * without an implementation is a compile error. Everything in qattn (CLI, benchmark, ONNX swap, conformance
 * tests) enumerates mechanisms from here.
 */
import { QattnError, listChoices } from '../core/errors.ts';
import type { Mechanism } from './types.ts';
import { exact } from './mechanisms/exact.ts';
import { topkExact } from './mechanisms/topk-exact.ts';
import { lsh } from './mechanisms/lsh.ts';
import { performer } from './mechanisms/performer.ts';
import { annTopk } from './mechanisms/ann-topk.ts';
import { l2Sampling } from './mechanisms/l2-sampling.ts';
import { dequantizedTopk } from './mechanisms/dequantized-topk.ts';
import { groverTopk } from './mechanisms/grover-topk.ts';
import { exactGpujs } from './mechanisms/exact-gpujs.ts';

export type MechanismName = 'exact' | 'topk-exact' | 'lsh' | 'performer' | 'ann-topk' | 'l2-sampling' | 'dequantized-topk' | 'grover-topk' | 'exact-gpujs';

const factories: Record<MechanismName, () => Mechanism> = {
  exact: () => exact,
  'topk-exact': () => topkExact,
  lsh: () => lsh,
  performer: () => performer,
  'ann-topk': () => annTopk,
  'l2-sampling': () => l2Sampling,
  'dequantized-topk': () => dequantizedTopk,
  'grover-topk': () => groverTopk,
  'exact-gpujs': () => exactGpujs,
};

export const mechanismNames = Object.keys(factories) as MechanismName[];

export function isMechanismName(name: string): name is MechanismName {
  return Object.prototype.hasOwnProperty.call(factories, name);
}

/** Looks a mechanism up by name; unknown names fail listing the valid ones. */
export function getMechanism(name: string): Mechanism {
  if (!isMechanismName(name)) {
    throw new QattnError(`unknown attention method '${name}' (valid: ${listChoices(mechanismNames)})`);
  }
  return factories[name]();
}

export function allMechanisms(): Mechanism[] {
  return mechanismNames.map((n) => factories[n]());
}
