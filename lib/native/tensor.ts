/** Tensors cross the native boundary as plain objects; the addon copies them in and out. */
export type DType = 'float32' | 'float64' | 'int32' | 'int64' | 'int8' | 'int16' | 'uint8' | 'bool' | 'bfloat16' | 'float16';

export type TypedData = Float32Array | Float64Array | Int32Array | BigInt64Array | Int8Array | Int16Array | Uint8Array | Uint16Array;

export interface Tensor<D extends TypedData = TypedData> {
  data: D;
  shape: number[];
  /** Needed only where the TypedArray is ambiguous (Uint16Array: bfloat16 / float16; Uint8Array: bool). */
  dtype?: DType;
}

export function tensor<D extends TypedData>(data: D, shape: number[], dtype?: DType): Tensor<D> {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new RangeError(`tensor: shape [${shape.join(',')}] holds ${n} elements, data has ${data.length}`);
  return dtype ? { data, shape, dtype } : { data, shape };
}
