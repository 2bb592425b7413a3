#!/usr/bin/env node
'use strict';
// Regenerates the small seed corpora under fuzz/corpus/<target>/ (committed; a few KiB in all).
//   node fuzz/make-seeds.js            (the index seeds need the built addon; the others do not)
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const CORPUS = path.join(__dirname, 'corpus');

function put(target, name, bytes) {
  const dir = path.join(CORPUS, target);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), bytes);
}

// --- safetensors: [u64 header length][JSON header][data] -------------------------------------------
function safetensors(tensors, metadata) {
  const header = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const parts = [];
  for (const [name, dtype, shape, bytes] of tensors) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    parts.push(bytes);
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...parts]);
}
const f32 = (a) => Buffer.from(Float32Array.from(a).buffer);
const i64 = (a) => Buffer.from(BigInt64Array.from(a.map(BigInt)).buffer);
put('safetensors', 'f32-2x3', safetensors([['w', 'F32', [2, 3], f32([1, 2, 3, 4, 5, 6])]], { format: 'pt' }));
put('safetensors', 'mixed', safetensors([
  ['a.weight', 'F32', [3], f32([0.5, -1, 2])], ['b', 'I64', [2], i64([7, -8])],
  ['c', 'F16', [2], Buffer.from([0, 0x3c, 0, 0xc0])], ['d', 'BF16', [1, 1], Buffer.from([0x80, 0x3f])],
  ['e', 'U8', [4], Buffer.from([1, 2, 3, 4])], ['f', 'BOOL', [2], Buffer.from([0, 1])],
]));
put('safetensors', 'scalar-and-empty', safetensors([['s', 'F64', [], Buffer.from(Float64Array.from([3.5]).buffer)], ['z', 'I32', [0, 4], Buffer.alloc(0)]]));
put('safetensors', 'no-tensors', safetensors([], { format: 'pt', note: 'x' }));

// --- JSON (config.json, safetensors headers, index.json) --------------------------------------------
for (const m of ['bert', 'distilbert']) {
  put('json', `config-${m}`, fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'models', m, 'config.json')));
}
put('json', 'index', JSON.stringify({ metadata: { total_size: 16 }, weight_map: { 'a.weight': 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }));
put('json', 'values', '[null, true, false, 0, -0, 1e308, -1.5e-300, 9007199254740993, "\\u00e9\\ud83d\\ude00\\n\\"", {"a": [[]], "b": {}}]');

// --- index files: the mode byte (0 = as is, 1 = recompute checksums) + a file saved by the addon --------
async function indexSeeds() {
  let native;
  try {
    native = require(path.join(ROOT, 'dist', 'lib', 'native', 'loader.js')).loadNative();
  } catch (e) {
    process.stderr.write(`index seeds skipped: ${e.message}\n`);
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-seeds-'));
  const make = async (name, numCols, rows, ids, saveOptions) => {
    const idx = new native.SparseIndexNative(numCols);
    if (rows.length) {
      const indptr = [0], indices = [], values = [];
      for (const row of rows) {
        for (const [c, v] of row) { indices.push(c); values.push(v); }
        indptr.push(indices.length);
      }
      idx.add({ indptr: Int32Array.from(indptr), indices: Int32Array.from(indices), values: Float32Array.from(values), numCols }, ids);
    }
    await idx.build();
    const file = path.join(tmp, name);
    await idx.save(file, saveOptions);
    const bytes = fs.readFileSync(file);
    put('index_file', `${name}-raw`, Buffer.concat([Buffer.from([0]), bytes]));
    put('index_file', `${name}-fixcrc`, Buffer.concat([Buffer.from([1]), bytes]));
  };
  await make('empty', 4, [], []);
  await make('one-doc', 6, [[[1, 0.5], [4, 2]]], ['d0']);
  await make('three-docs', 10, [[[0, 1], [3, 0.25]], [[3, 4], [9, 1]], [[1, 7]]], ['a', 'é-ü', 'c']);
  // 200 docs on one term: more than one block of postings.
  await make('long-term', 3, Array.from({ length: 200 }, (_, i) => [[1, 1 + (i % 17)]]), Array.from({ length: 200 }, (_, i) => `d${i}`));
  // The same postings with quantized weights (per-term and global scales).
  await make('long-term-uint8', 3, Array.from({ length: 200 }, (_, i) => [[1, 1 + (i % 17)], [2, 0.01 * (i + 1)]]),
    Array.from({ length: 200 }, (_, i) => `d${i}`), { weights: 'uint8' });
  await make('three-docs-uint16-global', 10, [[[0, 1], [3, 0.25]], [[3, 4], [9, 1]], [[1, 7]]], ['a', 'é-ü', 'c'],
    { weights: 'uint16', scale: 'global' });
  fs.rmSync(tmp, { recursive: true, force: true });
}

indexSeeds().catch((e) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
