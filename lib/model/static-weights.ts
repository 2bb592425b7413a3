/**
 * The one tensor sentence-transformers' SparseStaticEmbedding stores: `weight`, float32 [V], in a
 * model.safetensors file. A full safetensors reader lives in the native addon; this strict little reader
 * and writer cover only that vector so the query side needs no native code.
 * Format: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}}, data.
 */
import * as fs from 'fs';

import { writeFileAtomic } from '../io';

const TENSOR_NAME = 'weight';

export function readStaticWeights(file: string): Float32Array {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read query weights ${file}: ${(e as Error).message}`);
  }
  if (bytes.length < 8) throw new Error(`${file} is not a safetensors file: ${bytes.length} bytes`);
  const headerLength = bytes.readBigUInt64LE(0);
  if (headerLength > BigInt(bytes.length - 8)) throw new Error(`${file}: safetensors header length ${headerLength} exceeds the file size ${bytes.length}`);
  let header: Record<string, { dtype?: unknown; shape?: unknown; data_offsets?: unknown }>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + Number(headerLength)).toString('utf8')) as typeof header;
  } catch (e) {
    throw new Error(`${file}: safetensors header is not valid JSON: ${(e as Error).message}`);
  }
  const entry = header[TENSOR_NAME];
  if (!entry) throw new Error(`${file} has no tensor named '${TENSOR_NAME}' (found: ${Object.keys(header).filter((k) => k !== '__metadata__').join(', ') || 'none'})`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (dtype !== 'F32') throw new Error(`${file}: tensor '${TENSOR_NAME}' has dtype ${String(dtype)}, expected F32`);
  if (!Array.isArray(shape) || shape.length !== 1 || !Number.isInteger(shape[0])) {
    throw new Error(`${file}: tensor '${TENSOR_NAME}' has shape ${JSON.stringify(shape)}, expected one dimension [V]`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(Number.isInteger)) {
    throw new Error(`${file}: tensor '${TENSOR_NAME}' has bad data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const dataStart = 8 + Number(headerLength);
  if (begin < 0 || end < begin || dataStart + end > bytes.length) {
    throw new Error(`${file}: tensor '${TENSOR_NAME}' data [${begin}, ${end}) lies outside the file`);
  }
  if (end - begin !== (shape[0] as number) * 4) {
    throw new Error(`${file}: tensor '${TENSOR_NAME}' holds ${end - begin} bytes but shape [${shape[0]}] × F32 needs ${(shape[0] as number) * 4}`);
  }
  const out = new Float32Array(shape[0] as number);
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

export function writeStaticWeights(file: string, weights: Float32Array): void {
  let header = JSON.stringify({ [TENSOR_NAME]: { dtype: 'F32', shape: [weights.length], data_offsets: [0, weights.length * 4] } });
  // Pad the header with spaces to a multiple of 8 bytes so the data is aligned, as the reference writer does.
  header += ' '.repeat((8 - (Buffer.byteLength(header) % 8)) % 8);
  const headerBytes = Buffer.from(header, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + weights.length * 4);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  for (let i = 0; i < weights.length; i++) out.writeFloatLE(weights[i], 8 + headerBytes.length + i * 4);
  writeFileAtomic(file, out);
}
