/**
 * Decode/encode ONNX protobuf messages to and from the plain objects of onnx/types.ts.
 *
 * protobufjs' decoded messages carry Long objects for int64 fields and Buffers for bytes; callers (graph
 * surgery, tests, session building) want plain data with exact integers. A small schema-driven walker converts
 * in both directions, so every message of the schema, nested or not, follows the same rules (types.ts header).
 */
import { readFile } from 'node:fs/promises';
import protobuf from 'protobufjs';
import { onnxType, type OnnxMessageName } from './schema.ts';
import type { Int64, ModelProto } from './types.ts';

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const TWO_POW_21 = 2 ** 21;

interface LongLike { low: number; high: number; unsigned: boolean; toString(): string; toNumber(): number }

/** Long → number when the value is a safe integer (|high word| < 2^21), else bigint (exact). */
function longToInt64(v: unknown): Int64 {
  if (typeof v === 'number') return v;
  const l = v as LongLike;
  const safe = l.unsigned ? l.high >>> 0 < TWO_POW_21 : l.high >= -TWO_POW_21 && l.high < TWO_POW_21;
  return safe ? l.toNumber() : BigInt(l.toString());
}

function int64ToWire(v: unknown, unsigned: boolean, where: string): unknown {
  if (typeof v === 'bigint') {
    // protobufjs' writer and verifier take any {low, high} pair of 32-bit words for 64-bit fields.
    const u = BigInt.asUintN(64, v);
    return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned };
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`onnx encode: ${where} must be an integer, got ${v}`);
    return v;
  }
  throw new Error(`onnx encode: ${where} must be a number or bigint, got ${typeof v}`);
}

function fieldValueToPlain(field: protobuf.Field, v: unknown): unknown {
  if (field.resolvedType instanceof protobuf.Type) return messageToPlain(field.resolvedType, v as protobuf.Message);
  if (LONG_TYPES.has(field.type)) return longToInt64(v);
  if (field.type === 'bytes') {
    const b = v as Uint8Array;
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  return v;
}

/** A decoded protobufjs message → plain object (types.ts conventions). */
function messageToPlain(type: protobuf.Type, msg: protobuf.Message): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const rec = msg as unknown as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    const v = rec[field.name];
    if (field.repeated) {
      out[field.name] = Array.isArray(v) ? v.map((x) => fieldValueToPlain(field, x)) : [];
    } else if (Object.prototype.hasOwnProperty.call(rec, field.name) && v !== undefined && v !== null) {
      out[field.name] = fieldValueToPlain(field, v);
    }
  }
  return out;
}

function fieldValueToWire(field: protobuf.Field, v: unknown, where: string): unknown {
  if (field.resolvedType instanceof protobuf.Type) return plainToWire(field.resolvedType, v, where);
  if (LONG_TYPES.has(field.type)) return int64ToWire(v, field.type === 'uint64' || field.type === 'fixed64', where);
  return v;
}

/** Plain object → object protobufjs can encode; unknown keys are an error (catches typos in hand-built graphs). */
function plainToWire(type: protobuf.Type, obj: unknown, where: string): Record<string, unknown> {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error(`onnx encode: ${where} must be an object`);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(obj)) {
    const field = type.fields[key];
    if (!field) throw new Error(`onnx encode: ${where} (${type.name}) has no field '${key}'`);
    if (v === undefined || v === null) continue;
    const at = `${where}.${key}`;
    if (field.repeated) {
      if (!Array.isArray(v)) throw new Error(`onnx encode: ${at} must be an array`);
      out[key] = v.map((x, i) => fieldValueToWire(field, x, `${at}[${i}]`));
    } else {
      out[key] = fieldValueToWire(field, v, at);
    }
  }
  return out;
}

/** Decodes one ONNX message of the given type from protobuf bytes. Throws Error on malformed input. */
export function decodeMessage<T>(name: OnnxMessageName, bytes: Uint8Array): T {
  const type = onnxType(name);
  return messageToPlain(type, type.decode(bytes)) as T;
}

/** Encodes one ONNX message (plain object, types.ts conventions) to protobuf bytes. */
export function encodeMessage<T extends object>(name: OnnxMessageName, message: T): Uint8Array {
  const type = onnxType(name);
  const wire = plainToWire(type, message, name);
  const problem = type.verify(wire);
  if (problem) throw new Error(`onnx encode: ${name}: ${problem}`);
  return type.encode(wire).finish();
}

/** Decodes a serialized ModelProto (the bytes of a .onnx file). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return decodeMessage<ModelProto>('ModelProto', bytes);
}

/** Serializes a ModelProto (what InferenceSession.create and .onnx files take). */
export function encodeModel(model: ModelProto): Uint8Array {
  return encodeMessage('ModelProto', model);
}

/** Reads and decodes a .onnx file (external data stays external: see tensor.ts `readTensorData`). */
export async function readModelFile(path: string): Promise<ModelProto> {
  return decodeModel(await readFile(path));
}

/** An Int64 as a number; throws if it is not a safe integer (dims, axes, opset versions always are). */
export function toSafeNumber(x: Int64): number {
  const n = Number(x);
  if (!Number.isSafeInteger(n)) throw new Error(`onnx: int64 value ${x} is not a safe integer`);
  return n;
}
