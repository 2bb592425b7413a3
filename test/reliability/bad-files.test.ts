import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { crc32 } from 'zlib';

import { rng } from '../helpers';
import { SparseIndex } from '../../lib/index/sparse-index';
import { CsrFileWriter } from '../../lib/sparse/csr-file';
import { jsonlVectorLines } from '../../lib/sparse/jsonl-vectors';

// Damaged and hostile files for every reader: each is loaded in a child process (a crash fails the test
// instead of killing mocha) and must be refused with an Error whose message is worth reading. CLI commands
// that fail on bad input leave no output file (and no temp file) behind.

const FIXTURE = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'models', 'distilbert');
const CLI = path.resolve(__dirname, '..', '..', 'lib', 'cli', 'main.js');

interface Outcome { file: string; outcome: 'ok' | 'error'; isError?: boolean; message?: string }

function load(kind: string, files: string[]): Map<string, Outcome> {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'file-child.js'), kind, ...files],
    { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 240000 });
  const out = new Map<string, Outcome>();
  for (const l of r.stdout.split('\n').filter(Boolean)) {
    const o = JSON.parse(l) as Outcome;
    out.set(o.file, o);
  }
  const missing = files.find((f) => !out.has(f));
  assert.equal(r.status, 0, `reader child for ${kind} exited ${r.status} (signal ${r.signal})` +
    (missing ? ` while reading ${missing}` : '') + `\n${r.stderr.slice(-2000)}`);
  return out;
}

/** Every file must be refused with an Error; `mention(file)` must occur in the message when given. */
function expectRefused(kind: string, files: Record<string, string>, mention?: (name: string, file: string) => RegExp | string): void {
  const outcomes = load(kind, Object.values(files));
  const problems: string[] = [];
  for (const [name, file] of Object.entries(files)) {
    const o = outcomes.get(file)!;
    if (o.outcome !== 'error') { problems.push(`${name}: accepted`); continue; }
    if (!o.isError || !o.message || o.message.length < 8) { problems.push(`${name}: unhelpful error ${JSON.stringify(o.message)}`); continue; }
    const m = mention?.(name, file);
    if (m && !(typeof m === 'string' ? o.message.includes(m) : m.test(o.message))) problems.push(`${name}: "${o.message}" does not mention ${m}`);
  }
  assert.deepEqual(problems, []);
}

// --- safetensors helpers ---------------------------------------------------------------------------
interface St { header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>; data: Buffer }
function readSt(file: string): St {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  return { header: JSON.parse(b.subarray(8, 8 + n).toString('utf8')), data: b.subarray(8 + n) };
}
function writeSt(st: St): Buffer {
  const json = Buffer.from(JSON.stringify(st.header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, st.data]);
}

/** Recomputes the index file's header CRC and every section CRC (so a mutation reaches the structure checks).
 *  Layout v2 (native/index/index_file.h): 80-byte header with its CRC at 72, sections padded to 8 bytes. */
function fixIndexCrcs(b: Buffer): void {
  b.writeUInt32LE(crc32(b.subarray(0, 72)), 72);
  let off = 80;
  while (off + 16 <= b.length) {
    const len = Number(b.readBigUInt64LE(off + 8));
    if (len > b.length - off - 16) break;
    b.writeUInt32LE(crc32(b.subarray(off + 16, off + 16 + len)), off + 4);
    off += 16 + Math.ceil(len / 8) * 8;
  }
}
function indexSection(b: Buffer, tag: number): number {
  let off = 80;
  while (off + 16 <= b.length) {
    if (b.readUInt32LE(off) === tag) return off + 16;
    off += 16 + Math.ceil(Number(b.readBigUInt64LE(off + 8)) / 8) * 8;
  }
  throw new Error(`no section ${tag}`);
}

describe('reliability: bad files are refused with clear errors, never a crash', function () {
  this.timeout(300000);
  let tmp: string;
  before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-badfiles-')); });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const put = (name: string, data: string | Buffer): string => {
    const file = path.isAbsolute(name) ? name : path.join(tmp, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data);
    return file;
  };

  it('model directories: damaged model.safetensors and config.json', () => {
    const good = fs.readFileSync(path.join(FIXTURE, 'model.safetensors'));
    const config = fs.readFileSync(path.join(FIXTURE, 'config.json'), 'utf8');
    const st = readSt(path.join(FIXTURE, 'model.safetensors'));
    const names = Object.keys(st.header).filter((k) => k !== '__metadata__');
    const edit = (fn: (h: St['header']) => void): Buffer => {
      const h = JSON.parse(JSON.stringify(st.header));
      fn(h);
      return writeSt({ header: h, data: st.data });
    };
    const t = (h: St['header'], i: number) => h[names[i]] as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const lying = Buffer.from(good); lying.writeBigUInt64LE(1n << 62n, 0);
    const pastEof = Buffer.from(good); pastEof.writeBigUInt64LE(BigInt(good.length), 0);
    const notJson = Buffer.from(good); notJson.fill('!'.charCodeAt(0), 8, 40);
    const variants: Record<string, Buffer | string> = {
      'empty file': Buffer.alloc(0),
      '7 bytes': good.subarray(0, 7),
      'truncated in the header': good.subarray(0, 100),
      'truncated in the data': good.subarray(0, Math.floor(good.length / 2)),
      'header length 2^62': lying,
      'header length past the end': pastEof,
      'header not JSON': notJson,
      'overlapping offsets': edit((h) => { t(h, 1).data_offsets = [...t(h, 0).data_offsets] as [number, number]; }),
      'offsets past the data': edit((h) => { const x = t(h, names.length - 1); x.data_offsets = [x.data_offsets[0], st.data.length + 4]; }),
      'huge shape': edit((h) => { t(h, 0).shape = [2 ** 40, 2 ** 40]; }),
      'negative shape': edit((h) => { t(h, 0).shape = [-1, ...t(h, 0).shape.slice(1)]; }),
      'unknown dtype': edit((h) => { t(h, 0).dtype = 'F33'; }),
      'a tensor left out (hole in the data)': edit((h) => { delete h[names[0]]; }),
      'a 2-D weight stored flat (shape not the config\'s)': edit((h) => {
        const x = t(h, names.findIndex((n) => (st.header[n] as { shape: number[] }).shape.length === 2));
        x.shape = [x.shape[0] * x.shape[1]];
      }),
    };
    const dirs: Record<string, string> = {};
    for (const [name, bytes] of Object.entries(variants)) {
      const dir = path.join(tmp, 'st', name.replace(/[^a-z0-9]+/gi, '-'));
      put(path.join(dir, 'config.json'), config);
      put(path.join(dir, 'model.safetensors'), bytes);
      dirs[name] = dir;
    }
    const cfg = JSON.parse(config);
    const configs: Record<string, string> = {
      'config.json empty': '', 'config.json not JSON': '{"model_type": "distilbert",', 'config.json an array': '[]',
      'config.json without model_type': JSON.stringify({ ...cfg, model_type: undefined }),
      'config.json vocab_size not matching the weights': JSON.stringify({ ...cfg, vocab_size: 100 }),
      'config.json negative dim': JSON.stringify({ ...cfg, dim: -16 }),
    };
    for (const [name, text] of Object.entries(configs)) {
      const dir = path.join(tmp, 'cfg', name.replace(/[^a-z0-9]+/gi, '-'));
      put(path.join(dir, 'config.json'), text);
      fs.copyFileSync(path.join(FIXTURE, 'model.safetensors'), path.join(dir, 'model.safetensors'));
      dirs[name] = dir;
    }
    dirs['no such directory'] = path.join(tmp, 'missing-model');
    expectRefused('model', dirs, (name) => (/config/.test(name) ? /config/ : /safetensors|model|directory/));
  });

  it('index files: truncated, bit-flipped, wrong magic, lying counts and offsets (checksums recomputed)', async () => {
    const index = new SparseIndex(6);
    index.add({ indptr: Int32Array.from([0, 2, 3, 5]), indices: Int32Array.from([1, 4, 2, 1, 5]),
      values: Float32Array.from([1, 2, 3, 4, 5]), numCols: 6 }, ['doc-a', 'doc-b', 'doc-c']);
    await index.build();
    const goodFile = path.join(tmp, 'good.idx');
    await index.save(goodFile);
    const good = fs.readFileSync(goodFile);
    const files: Record<string, string> = {};
    const add = (name: string, b: Buffer) => { files[name] = put(`idx/${name.replace(/[^a-z0-9]+/gi, '-')}.idx`, b); };
    add('empty', Buffer.alloc(0));
    add('wrong magic', Buffer.concat([Buffer.from('L0SPCSR\0'), good.subarray(8)]));
    for (let i = 1; i < 8; i++) add(`truncated to ${i}/8`, good.subarray(0, Math.floor((good.length * i) / 8)));
    add('one byte short', good.subarray(0, good.length - 1));
    add('one byte extra', Buffer.concat([good, Buffer.from([0])]));
    const next = rng(7);
    for (let i = 0; i < 48; i++) {
      const b = Buffer.from(good);
      const pos = Math.floor(next() * b.length);
      b[pos] ^= 1 << Math.floor(next() * 8);
      add(`bit flip ${i} at byte ${pos}`, b);
    }
    const docs = Buffer.from(good); docs.writeBigUInt64LE(4n, 24); fixIndexCrcs(docs); add('header doc count +1 (crc fixed)', docs);
    const ids = Buffer.from(good); ids.writeBigUInt64LE(1n << 40n, indexSection(ids, 7) + 8); fixIndexCrcs(ids);
    add('id offset past the id bytes (crc fixed)', ids);
    const terms = Buffer.from(good); terms.writeBigInt64LE(1n << 40n, indexSection(terms, 1) + 8); fixIndexCrcs(terms);
    add('term offset past the postings (crc fixed)', terms);
    const last = Buffer.from(good); const l = indexSection(last, 2); last.writeUInt32LE(last.readUInt32LE(l) + 1, l); fixIndexCrcs(last);
    add('a block last doc that its postings do not end on (crc fixed)', last);
    const zero = Buffer.from(good); zero.writeFloatLE(0, indexSection(zero, 3)); fixIndexCrcs(zero); add('a zero block max (crc fixed)', zero);
    const nan = Buffer.from(good); nan.writeFloatLE(NaN, indexSection(nan, 3)); fixIndexCrcs(nan); add('a NaN block max (crc fixed)', nan);
    const width = Buffer.from(good); width[indexSection(width, 5)] = 40; fixIndexCrcs(width); add('a 40-bit doc width (crc fixed)', width);
    const base = Buffer.from(good); base.writeUInt32LE(0, indexSection(base, 5) + 3); fixIndexCrcs(base); add('a weight code 0 (crc fixed)', base);
    const past = Buffer.from(good); past.writeBigUInt64LE(1n << 40n, indexSection(past, 4) + 8); fixIndexCrcs(past);
    add('a block offset past the posting data (crc fixed)', past);
    const dup = Buffer.from(good); const idb = indexSection(dup, 8); dup.write('doc-a', idb + 5); fixIndexCrcs(dup); add('duplicate ids (crc fixed)', dup);
    files['missing file'] = path.join(tmp, 'idx', 'missing.idx');
    files['a directory'] = path.join(tmp, 'idx');
    expectRefused('index', files, (_name, file) => file);
    // The good file still loads (the mutations were real mutations of a loadable file).
    assert.equal(load('index', [goodFile]).get(goodFile)!.outcome, 'ok');

    // Opened lazily (the default), the same files are refused on open or by the first search of the damaged
    // term. Two exceptions, by design (README "Index and search"): a bit flip inside the block tables or
    // posting data (sections 2-5, not checksummed on open) that leaves every block valid changes a weight
    // silently, and ids forged unique-looking with a fixed checksum are only checked by add()/save().
    const lazy = load('indexLazy', Object.values(files));
    const unchecked = [indexSection(good, 2) - 16, indexSection(good, 6) - 16];
    const problems: string[] = [];
    for (const [name, file] of Object.entries(files)) {
      const o = lazy.get(file)!;
      if (o.outcome === 'error') {
        if (!o.isError || !o.message?.includes(file)) problems.push(`${name}: unhelpful error ${JSON.stringify(o.message)}`);
        continue;
      }
      const flip = /^bit flip \d+ at byte (\d+)$/.exec(name);
      const allowed = (flip && Number(flip[1]) >= unchecked[0] && Number(flip[1]) < unchecked[1]) || name === 'duplicate ids (crc fixed)';
      if (!allowed) problems.push(`${name}: accepted by a lazy load and a search of every term`);
    }
    assert.deepEqual(problems, []);
    assert.equal(load('indexLazy', [goodFile]).get(goodFile)!.outcome, 'ok');
  });

  it('binary CSR files: every single-byte corruption and every truncation is refused', () => {
    const goodFile = path.join(tmp, 'good.csr');
    const w = CsrFileWriter.open(goodFile, { numCols: 4, sync: false });
    w.append({ indptr: Int32Array.from([0, 2, 3]), indices: Int32Array.from([0, 3, 1]), values: Float32Array.from([0.5, 1, 2]), numCols: 4 }, ['x', 'y']);
    w.append({ indptr: Int32Array.from([0, 1]), indices: Int32Array.from([2]), values: Float32Array.from([3]), numCols: 4 }, ['z']);
    w.close();
    const good = fs.readFileSync(goodFile);
    const files: Record<string, string> = {};
    for (let pos = 0; pos < good.length; pos++) {
      const b = Buffer.from(good);
      b[pos] ^= 0x5a;
      files[`byte ${pos} changed`] = put(`csr/flip-${pos}.csr`, b);
    }
    // Truncations that cut into the header or a counted record (a clean cut between records still leaves
    // the header's totals, which count both records, unmet).
    for (let len = 0; len < good.length; len += 7) files[`truncated to ${len} bytes`] = put(`csr/cut-${len}.csr`, good.subarray(0, len));
    files['missing file'] = path.join(tmp, 'csr', 'missing.csr');
    expectRefused('csr', files, (_name, file) => file);
    assert.equal(load('csr', [goodFile]).get(goodFile)!.outcome, 'ok');
  });

  it('idf.json, tokenizer.json and train configs', () => {
    expectRefused('idf', {
      empty: put('idf/empty.json', ''), 'not JSON': put('idf/bad.json', '{"a": 1,'), array: put('idf/array.json', '[1, 2]'),
      null: put('idf/null.json', 'null'), 'string weight': put('idf/str.json', '{"a": "1.5"}'),
      'null weight': put('idf/nullw.json', '{"a": null}'), missing: path.join(tmp, 'idf', 'missing.json'),
    }, (_name, file) => file);
    expectRefused('tokenizer', {
      empty: put('tok/empty/tokenizer.json', ''), 'not JSON': put('tok/bad/tokenizer.json', '{"model":'),
      'empty object': put('tok/obj/tokenizer.json', '{}'), array: put('tok/arr/tokenizer.json', '[]'),
      'unknown model type': put('tok/type/tokenizer.json', JSON.stringify({ version: '1.0', model: { type: 'Bogus' } })),
      missing: path.join(tmp, 'tok', 'missing', 'tokenizer.json'),
    }, (_name, file) => file);
    const base = { output: path.join(tmp, 'run'), init: FIXTURE, data: { corpus: 'c.jsonl', queries: 'q.jsonl' } };
    expectRefused('trainConfig', {
      'unknown top-level key': put('cfg/unknown.json', JSON.stringify({ ...base, stepz: 10 })),
      'unknown nested key': put('cfg/nested.json', JSON.stringify({ ...base, init: { architecture: 'bert', hidenSize: 8 } })),
      'not JSON': put('cfg/bad.json', '{"output": '), 'bad YAML': put('cfg/bad.yaml', 'output: [unclosed\n  init: x'),
      'an array': put('cfg/array.json', '[]'), 'no output': put('cfg/noout.json', JSON.stringify({ init: FIXTURE })),
      missing: path.join(tmp, 'cfg', 'missing.json'),
    }, (name, file) => (name.startsWith('unknown top') ? 'stepz' : name.startsWith('unknown nested') ? 'hidenSize' :
      name === 'not JSON' || name === 'bad YAML' || name === 'missing' ? file : /train config/));
  });

  it('JSONL vectors and BEIR corpus files with bad lines name the file and line', () => {
    const good = jsonlVectorLines({ indptr: Int32Array.from([0, 1]), indices: Int32Array.from([2]), values: Float32Array.from([1.5]), numCols: 4 }, ['d1'], ['a', 'b', 'c', 'd'])[0];
    const vec = (second: string) => `${good}\n${second}\n`;
    expectRefused('jsonlVectors', {
      'not JSON': put('vec/bad.jsonl', vec('{"id": "d2", "vector": {')),
      'unknown token': put('vec/tok.jsonl', vec('{"id": "d2", "vector": {"zzz": 1}}')),
      'negative weight': put('vec/neg.jsonl', vec('{"id": "d2", "vector": {"a": -1}}')),
      'string weight': put('vec/str.jsonl', vec('{"id": "d2", "vector": {"a": "1"}}')),
      'no id': put('vec/noid.jsonl', vec('{"vector": {"a": 1}}')),
      'duplicate id': put('vec/dup.jsonl', vec(good)),
      'an array line': put('vec/arr.jsonl', vec('[1, 2]')),
    }, () => /2/);
    const doc = JSON.stringify({ _id: 'd1', title: '', text: 'hello' });
    expectRefused('beirCorpus', {
      'not JSON': put('beir/bad.jsonl', `${doc}\n{"_id": "d2", "text": \n`),
      'id an object': put('beir/num.jsonl', `${doc}\n{"_id": {"x": 1}, "text": "x"}\n`),
      'no text': put('beir/notext.jsonl', `${doc}\n{"_id": "d2"}\n`),
      'duplicate id': put('beir/dup.jsonl', `${doc}\n${doc}\n`),
      'a number line': put('beir/numline.jsonl', `${doc}\n42\n`),
      missing: path.join(tmp, 'beir', 'missing.jsonl'),
    }, (_name, file) => path.basename(file));
  });

  it('CLI: a failing index or idf command leaves no output and no temp file behind', function () {
    const dir = fs.mkdtempSync(path.join(tmp, 'cli-'));
    const badCsr = put(path.join(dir, 'bad.csr'), Buffer.from('L0SPCSR\0 not really a csr file at all.....'));
    const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120000 });
    const before = new Set(fs.readdirSync(dir));
    const r1 = run(['index', '--vectors', badCsr, '--out', path.join(dir, 'out.idx')]);
    assert.notEqual(r1.status, 0);
    assert.match(r1.stderr, /bad\.csr/);
    const vocab = put(path.join(dir, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', 'world'].join('\n') + '\n');
    const corpus = put(path.join(dir, 'corpus.jsonl'), `${JSON.stringify({ _id: 'a', text: 'hello world' })}\n{"_id": "b", "text": \n`);
    before.add('vocab.txt'); before.add('corpus.jsonl');
    const r2 = run(['idf', '--data', corpus, '--tokenizer', vocab, '--out', path.join(dir, 'idf.json'), '--no-progress']);
    assert.notEqual(r2.status, 0);
    assert.match(r2.stderr, /corpus\.jsonl.*2|line 2/);
    const r3 = run(['index', '--vectors', path.join(dir, 'missing.csr'), '--out', path.join(dir, 'out2.idx')]);
    assert.notEqual(r3.status, 0);
    assert.match(r3.stderr, /missing\.csr/);
    const left = fs.readdirSync(dir).filter((f) => !before.has(f));
    assert.deepEqual(left, [], `left behind: ${left.join(', ')}`);
  });
});
