/**
 * Host-side tensors passed between onnxruntime stages and the JS attention blocks, and the numpy broadcasting
 * the blocks need to read Q/K/V/mask slices for one head without materialising broadcast copies.
 */
import { QattnError } from '../core/errors.ts';

/** Element data of the tensors that flow through a split model (ORT's own typed arrays). */
export type HostData =
  | Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array | Int16Array
  | Uint32Array | BigUint64Array;

export interface HostTensor {
  /** ORT type name: 'float32', 'int64', 'bool', … */
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: HostData;
}

/** numpy broadcast of several shapes (right-aligned); throws naming `what` when they do not broadcast. */
export function broadcastShapes(shapes: readonly (readonly number[])[], what: string): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i, x = s[i]!;
      if (x === 1) continue;
      if (out[o] !== 1 && out[o] !== x) throw new QattnError(`${what}: shapes ${shapes.map((z) => `[${z.join(',')}]`).join(', ')} do not broadcast`);
      out[o] = x;
    }
  }
  return out;
}

/**
 * Element strides of a tensor of shape `dims` read as the (right-aligned) broadcast shape `target`: 0 along
 * the axes it is broadcast over.
 */
export function broadcastStrides(dims: readonly number[], target: readonly number[]): number[] {
  const strides = new Array<number>(target.length).fill(0);
  let stride = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    const t = target.length - dims.length + i;
    if (dims[i] !== 1 && t >= 0) strides[t] = stride;
    stride *= dims[i]!;
  }
  return strides;
}

/** Offset of the flat lead index `h` (over target[0..lead)) in a tensor with the given strides. */
export function leadOffset(h: number, target: readonly number[], strides: readonly number[], lead: number): number {
  let off = 0;
  for (let ax = lead - 1; ax >= 0; ax--) {
    const size = target[ax]!;
    off += (h % size) * strides[ax]!;
    h = Math.floor(h / size);
  }
  return off;
}

/** The values of a numeric tensor as float32 (float64 and integers converted; bool as 0/1). */
export function asFloat32(t: HostTensor, what: string): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.type === 'float16' || t.type === 'bfloat16') throw new QattnError(`${what} is ${t.type}; qattn infer needs float32 attention inputs`);
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]!);
  return out;
}

export const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
