import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { readStaticWeights, writeStaticWeights } from '../../lib/model/static-weights';
import { tempDir } from './fixture-dirs';

function safetensors(header: object | string, data: Buffer): Buffer {
  const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

describe('encoder: SparseStaticEmbedding weight file (safetensors, one F32 vector)', () => {
  const dir = tempDir('static-weights');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'model.safetensors');

  it('writes the layout safetensors defines and reads it back', () => {
    writeStaticWeights(file, Float32Array.from([0.5, -2, 3.25]));
    const bytes = fs.readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal(n % 8, 0, 'header padded to 8 bytes');
    assert.deepEqual(JSON.parse(bytes.subarray(8, 8 + n).toString()), { weight: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } });
    assert.equal(bytes.readFloatLE(8 + n + 4), -2);
    assert.deepEqual([...readStaticWeights(file)], [0.5, -2, 3.25]);
  });

  it('rejects malformed files with the reason and the file name', () => {
    const cases: [Buffer, RegExp][] = [
      [Buffer.from([1, 2]), /not a safetensors file: 2 bytes/],
      [safetensors('{}', Buffer.alloc(0)).fill(0xff, 0, 8), /header length .* exceeds the file size/],
      [safetensors('{"weight": ', Buffer.alloc(0)), /header is not valid JSON/],
      [safetensors({ other: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4)), /no tensor named 'weight' \(found: other\)/],
      [safetensors({ weight: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, Buffer.alloc(4)), /dtype F16, expected F32/],
      [safetensors({ weight: { dtype: 'F32', shape: [2, 1], data_offsets: [0, 8] } }, Buffer.alloc(8)), /expected one dimension/],
      [safetensors({ weight: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, Buffer.alloc(4)), /lies outside the file/],
      [safetensors({ weight: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)), /holds 8 bytes but shape \[3\] × F32 needs 12/],
    ];
    for (const [bytes, pattern] of cases) {
      fs.writeFileSync(file, bytes);
      assert.throws(() => readStaticWeights(file), (e: Error) => pattern.test(e.message) && e.message.includes(file), String(pattern));
    }
    assert.throws(() => readStaticWeights(path.join(dir, 'absent.safetensors')), /cannot read query weights/);
  });
});
