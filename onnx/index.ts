/**
 * qattn's ONNX protobuf module: schema (schema.ts), typed plain-object messages (types.ts), decode/encode
 * (codec.ts), tensor data (tensor.ts) and graph builders (build.ts).
 */
export * from './types.ts';
export { ONNX_PROTO, onnxRoot, onnxType, type OnnxMessageName } from './schema.ts';
export { decodeMessage, encodeMessage, decodeModel, encodeModel, readModelFile, toSafeNumber } from './codec.ts';
export { DataType, dataTypeOf, tensor, tensorSize, externalDataInfo, readTensorData, type DataTypeCode, type NumericArray } from './tensor.ts';
export {
  AttrType, DEFAULT_IR_VERSION, attr, getAttr, attrValue, node, tensorValueInfo, valueInfoShape, graph, opset, model,
  type AttrValue, type Dim, type NodeOptions, type GraphSpec, type ModelSpec,
} from './build.ts';
