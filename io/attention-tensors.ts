/**
 * Loads Q, K, V (and an optional mask) from .npy files, for `qattn attend` and the bench's `npy` workload, and
 * checks that their shapes fit together, naming the file in every error. Shapes: Q [..., m, d], K [..., n, d],
 * V [..., n, dv] with the same leading ("head") dimensions, 0 to 2 of them (e.g. [heads, m, d] or
 * [batch, heads, m, d]). The mask is [n] or [m, n] (shared by every head) or [..., m, n] (one per head).
 */
import { QattnError } from '../core/errors.ts';
import { readNpy, toFloat32 } from './npy.ts';

export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export interface AttendTensors {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  /** Mask data and whether it holds one [m×n] (or [n]) block per head or one shared by all heads. */
  readonly mask?: { readonly data: Float32Array; readonly perHead: boolean };
  /** Leading dimensions shared by Q, K and V; their product is the number of heads. */
  readonly lead: readonly number[];
  readonly heads: number;
  readonly m: number;
  readonly n: number;
  readonly d: number;
  readonly dv: number;
}

export interface TensorPaths {
  readonly q: string;
  readonly k: string;
  readonly v: string;
  readonly mask?: string | undefined;
}

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Reads one .npy file as float32, rejecting empty tensors (a dimension of 0). */
function load(role: string, path: string): Tensor {
  const arr = readNpy(path);
  const label = `${role} (${path})`;
  if (arr.shape.includes(0)) throw new QattnError(`${label} is empty: shape ${shapeText(arr.shape)} has a dimension of 0`);
  return { data: toFloat32(arr, label), shape: arr.shape };
}

function checkRank(role: string, path: string, t: Tensor, want: string): void {
  if (t.shape.length < 2) {
    throw new QattnError(`${role} (${path}) must be 2-D ${want} or 3-/4-D [..., ${want.slice(1)}, got ${t.shape.length}-D shape ${shapeText(t.shape)}`);
  }
}

function sameLead(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.slice(0, -2).every((x, i) => x === b[i]);
}

/** Checks the mask shape against (lead, m, n); returns whether it is per head. */
function maskPerHead(path: string, t: Tensor, lead: readonly number[], m: number, n: number): boolean {
  const s = t.shape;
  if (s.length === 1 && s[0] === n) return false;
  if (s.length === 2 && s[0] === m && s[1] === n) return false;
  if (s.length === lead.length + 2 && lead.every((x, i) => x === s[i]) && s.at(-2) === m && s.at(-1) === n) return true;
  const full = shapeText([...lead, m, n]);
  const choices = lead.length ? `[${n}], [${m}, ${n}] or ${full}` : `[${n}] or [${m}, ${n}]`;
  throw new QattnError(`mask (${path}) has shape ${shapeText(s)}, expected ${choices}`);
}

/** Reads and cross-checks the attention inputs. */
export function loadAttendTensors(paths: TensorPaths): AttendTensors {
  const q = load('Q', paths.q), k = load('K', paths.k), v = load('V', paths.v);
  checkRank('Q', paths.q, q, '[m, d]');
  checkRank('K', paths.k, k, '[n, d]');
  checkRank('V', paths.v, v, '[n, dv]');
  for (const [role, path, t] of [['K', paths.k, k], ['V', paths.v, v]] as const) {
    if (!sameLead(q.shape, t.shape)) {
      throw new QattnError(`${role} (${path}) has shape ${shapeText(t.shape)} but Q (${paths.q}) has ${shapeText(q.shape)}: their leading (head) dimensions must match`);
    }
  }
  const lead = q.shape.slice(0, -2);
  const [m, d] = q.shape.slice(-2) as [number, number];
  const [n, dk] = k.shape.slice(-2) as [number, number];
  const [nv, dv] = v.shape.slice(-2) as [number, number];
  if (dk !== d) throw new QattnError(`head dimension mismatch: Q (${paths.q}) has d=${d} but K (${paths.k}) has d=${dk}`);
  if (nv !== n) throw new QattnError(`key count mismatch: K (${paths.k}) has n=${n} rows but V (${paths.v}) has ${nv}`);
  const heads = lead.reduce((a, b) => a * b, 1);
  const base = { q: q.data, k: k.data, v: v.data, lead, heads, m, n, d, dv };
  if (paths.mask === undefined) return base;
  const mk = load('mask', paths.mask);
  return { ...base, mask: { data: mk.data, perHead: maskPerHead(paths.mask, mk, lead, m, n) } };
}
