/**
 * TensorProto ⇄ typed arrays: building initializers and reading tensor values (inline fields, raw_data or
 * external data files), following the storage rules in onnx.proto's TensorProto comments (raw_data is
 * little-endian fixed-width; external data is `location`/`offset`/`length` relative to the model file).
 */
import { open } from 'node:fs/promises';
import { endianness } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { toSafeNumber } from './codec.ts';
import type { Int64, TensorProto } from './types.ts';

/** TensorProto.DataType codes (onnx.proto). */
export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
  FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22,
  FLOAT4E2M1: 23, FLOAT8E8M0: 24, UINT2: 25, INT2: 26,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** Typed arrays that map 1:1 onto an ONNX element type. */
export type NumericArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array;

interface ArrayCtor { new (buf: ArrayBuffer, off: number, len: number): NumericArray; readonly BYTES_PER_ELEMENT: number }

/** Element types readable into a typed array (FLOAT16/BFLOAT16 come back as their raw Uint16 bits). */
const KINDS: Record<number, ArrayCtor> = {
  [DataType.FLOAT]: Float32Array, [DataType.DOUBLE]: Float64Array, [DataType.INT8]: Int8Array,
  [DataType.UINT8]: Uint8Array, [DataType.BOOL]: Uint8Array, [DataType.INT16]: Int16Array,
  [DataType.UINT16]: Uint16Array, [DataType.FLOAT16]: Uint16Array, [DataType.BFLOAT16]: Uint16Array,
  [DataType.INT32]: Int32Array, [DataType.UINT32]: Uint32Array, [DataType.INT64]: BigInt64Array,
  [DataType.UINT64]: BigUint64Array,
};

function assertLittleEndian(): void {
  // raw_data is little-endian by spec; typed arrays use host order. Every platform Node ships on is LE.
  if (endianness() !== 'LE') throw new Error('onnx: big-endian hosts are not supported');
}

/** The ONNX element type of a typed array (Uint8Array → UINT8; pass dataType explicitly for BOOL/FLOAT16). */
export function dataTypeOf(a: NumericArray): number {
  if (a instanceof Float32Array) return DataType.FLOAT;
  if (a instanceof Float64Array) return DataType.DOUBLE;
  if (a instanceof Int8Array) return DataType.INT8;
  if (a instanceof Uint8Array) return DataType.UINT8;
  if (a instanceof Int16Array) return DataType.INT16;
  if (a instanceof Uint16Array) return DataType.UINT16;
  if (a instanceof Int32Array) return DataType.INT32;
  if (a instanceof Uint32Array) return DataType.UINT32;
  if (a instanceof BigInt64Array) return DataType.INT64;
  return DataType.UINT64;
}

/** A TensorProto holding `data` (row-major, shape `dims`) in raw_data. Copies the bytes. */
export function tensor(name: string, dims: readonly number[], data: NumericArray, dataType = dataTypeOf(data)): TensorProto {
  assertLittleEndian();
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`onnx tensor ${name}: dims [${dims.join(',')}] hold ${count} values, got ${data.length}`);
  const rawData = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  return { name, dims: [...dims], dataType, rawData };
}

/** Number of elements of a tensor (product of dims; 1 for a scalar). */
export function tensorSize(t: TensorProto): number {
  return (t.dims ?? []).reduce<number>((a, b) => a * toSafeNumber(b), 1);
}

/** External-data location of a tensor, or null if its data is inline. */
export function externalDataInfo(t: TensorProto): { location: string; offset: number; length: number | null } | null {
  if (t.dataLocation !== 1) return null;
  const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = kv.get('location');
  if (!location) throw new Error(`onnx tensor ${t.name ?? ''}: external data without a location`);
  const length = kv.get('length');
  return { location, offset: Number(kv.get('offset') ?? 0), length: length === undefined ? null : Number(length) };
}

function fromBytes(bytes: Uint8Array, ctor: ArrayCtor, count: number): NumericArray {
  assertLittleEndian();
  if (bytes.byteLength !== count * ctor.BYTES_PER_ELEMENT) throw new Error(`onnx: tensor data has ${bytes.byteLength} bytes, expected ${count * ctor.BYTES_PER_ELEMENT}`);
  const copy = bytes.slice(); // aligned, and detached from the (possibly huge) model buffer
  return new ctor(copy.buffer, 0, count);
}

function fromFields(t: TensorProto, ctor: ArrayCtor, count: number): NumericArray {
  const out = new ctor(new ArrayBuffer(count * ctor.BYTES_PER_ELEMENT), 0, count);
  const src: readonly (number | Int64)[] =
    t.dataType === DataType.FLOAT ? t.floatData ?? [] : t.dataType === DataType.DOUBLE ? t.doubleData ?? []
      : t.dataType === DataType.INT64 ? t.int64Data ?? [] : t.dataType === DataType.UINT64 || t.dataType === DataType.UINT32 ? t.uint64Data ?? []
        : t.int32Data ?? [];
  if (src.length !== count) throw new Error(`onnx tensor ${t.name ?? ''}: ${src.length} inline values, expected ${count}`);
  const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
  for (let i = 0; i < count; i++) (out as unknown as Record<number, number | bigint>)[i] = big ? BigInt(src[i]!) : Number(src[i]!);
  return out;
}

/**
 * The values of a numeric tensor as a fresh typed array (INT64 → BigInt64Array). External data is read from
 * `baseDir` (the directory of the model file); string and sub-byte types are not supported.
 */
export async function readTensorData(t: TensorProto, baseDir?: string): Promise<NumericArray> {
  const ctor = KINDS[t.dataType ?? 0];
  if (!ctor) throw new Error(`onnx tensor ${t.name ?? ''}: data type ${t.dataType} is not readable as a typed array`);
  const count = tensorSize(t);
  const ext = externalDataInfo(t);
  if (ext) {
    if (baseDir === undefined) throw new Error(`onnx tensor ${t.name ?? ''}: external data needs the model's directory`);
    // The spec makes `location` relative to the model's directory; refuse anything else rather than guess.
    if (isAbsolute(ext.location)) throw new Error(`onnx tensor ${t.name ?? ''}: external location must be relative, got ${ext.location}`);
    const len = ext.length ?? count * ctor.BYTES_PER_ELEMENT;
    const fh = await open(join(baseDir, ext.location), 'r');
    try {
      const buf = new Uint8Array(len);
      const { bytesRead } = await fh.read(buf, 0, len, ext.offset);
      if (bytesRead !== len) throw new Error(`onnx tensor ${t.name ?? ''}: external file too short`);
      return fromBytes(buf, ctor, count);
    } finally {
      await fh.close();
    }
  }
  if (t.rawData && t.rawData.byteLength > 0) return fromBytes(t.rawData, ctor, count);
  return fromFields(t, ctor, count);
}
