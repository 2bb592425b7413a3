/**
 * Bad-argument cases for every function the native addon exports. Each case calls the raw addon (no
 * TypeScript wrapper in between) and expects either
 *   'error':  a synchronous throw or a rejected Promise, with an Error whose message is non-empty (and
 *             matches `match` when given), or
 *   'settle': any outcome (value or Error) as long as the process survives and the call settles
 *             (inputs whose acceptance is a design choice, e.g. NaN weights).
 * The cases run in a child process (napi-child.ts) so that a crash fails a test instead of killing mocha.
 */
import * as fs from 'fs';
import * as path from 'path';

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Native = any;

export interface Ctx {
  native: Native;
  model: any;          // live model handle (distilbert fixture, vocab 30522, max positions 32)
  disposed: any;       // a model handle after mlmDispose
  trainer: any;        // trainer handle on `model`
  index: any;          // SparseIndexNative with 2 built docs, numCols 10
  tmp: string;         // scratch folder
}

export interface Case {
  fn: string;
  name: string;
  expect: 'error' | 'settle';
  match?: RegExp;
  run: (c: Ctx) => unknown;
}

export const FIXTURE_MODEL = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'models', 'distilbert');
export const VOCAB = 30522;
export const MAX_POS = 32;

const t = (data: ArrayLike<number> | BigInt64Array, shape: number[], dtype?: string): any =>
  (dtype ? { data, shape, dtype } : { data, shape });

function encodeArgs(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    inputIds: Int32Array.from([101, 2000, 2001, 102, 101, 2002, 102, 0]),
    attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 0]),
    batchSize: 2, seqLen: 4, activation: 'l0', ...over,
  };
}

export function csr(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    indptr: Int32Array.from([0, 2, 3]), indices: Int32Array.from([1, 5, 9]),
    values: Float32Array.from([0.5, 1, 2]), numCols: 10, ...over,
  };
}

function head(over: Record<string, unknown> = {}): Record<string, unknown> {
  // B=2, L=3, D=4, V=5
  return {
    hidden: t(new Float32Array(24).fill(0.1), [2, 3, 4]),
    weight: t(new Float32Array(20).fill(0.2), [5, 4]),
    bias: t(new Float32Array(5), [5]),
    mask: t(Int32Array.from([1, 1, 0, 1, 0, 0]), [2, 3]),
    activation: 'relu', ...over,
  };
}

/** trainerStep's batch: docs as a token batch (the DocumentBatch shape), queries as a Csr object, the teacher a Float32Array. */
export function stepBatch(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { docs: stepDocs(), groupSize: 2, queries: stepQueries(), teacher: Float32Array.from([1, 0]), ...over };
}

/** trainerMlmStep's batch: docs as a token batch (the inputs as masked), one label per position (-100 = not predicted). */
export function mlmBatch(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { docs: stepDocs({ inputIds: Int32Array.from([101, 103, 102, 0, 101, 2001, 103, 102]) }), labels: Int32Array.from([-100, 2000, -100, -100, -100, -100, 2002, -100]), ...over };
}

function stepDocs(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    inputIds: Int32Array.from([101, 2000, 102, 0, 101, 2001, 2002, 102]),
    attentionMask: Int32Array.from([1, 1, 1, 0, 1, 1, 1, 1]),
    batchSize: 2, seqLen: 4, ...over,
  };
}

function stepQueries(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { indptr: Int32Array.from([0, 2]), indices: Int32Array.from([2000, 2001]), values: Float32Array.from([1, 1]), numCols: VOCAB, ...over };
}

// Values that are not what an argument wants, tried on every argument position that takes a handle,
// a path, an options object or a number.
const JUNK: [string, unknown][] = [
  ['undefined', undefined], ['null', null], ['number', 42], ['string', 'x'], ['object', {}], ['array', [1, 2]],
  ['Int32Array', new Int32Array(2)], ['function', () => 1], ['symbol', Symbol('s')], ['bigint', 5n],
];

function overcommitMode(): string {
  try {
    return fs.readFileSync('/proc/sys/vm/overcommit_memory', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export function buildCases(): Case[] {
  const cases: Case[] = [];
  const err = (fn: string, name: string, run: (c: Ctx) => unknown, match?: RegExp) =>
    cases.push({ fn, name, expect: 'error', run, match });
  const settle = (fn: string, name: string, run: (c: Ctx) => unknown) => cases.push({ fn, name, expect: 'settle', run });

  // --- process settings ------------------------------------------------------------------------
  err('setNumThreads', 'no argument', (c) => c.native.setNumThreads(), /n must be a number/);
  for (const v of ['2', 0, -1, 1.5, NaN, Infinity, -Infinity, 1e9, 2 ** 53]) {
    err('setNumThreads', `n = ${String(v)}`, (c) => c.native.setNumThreads(v), /setNumThreads/);
  }
  settle('getNumThreads', 'junk arguments are ignored', (c) => c.native.getNumThreads(1, 'x', {}));
  settle('trainConfigKeys', 'junk arguments are ignored', (c) => c.native.trainConfigKeys(null, 5));
  settle('gemmBackend', 'junk arguments are ignored', (c) => c.native.gemmBackend(7, {}));
  settle('cpuHasNativeBf16', 'junk arguments are ignored', (c) => c.native.cpuHasNativeBf16('x'));
  err('setGemmBackend', 'no argument', (c) => c.native.setGemmBackend(), /name must be 'auto', 'mkl' or 'onednn'/);
  for (const [name, v] of JUNK) err('setGemmBackend', `name is ${name}`, (c) => c.native.setGemmBackend(v), /'auto', 'mkl' or 'onednn'/);
  err('setGemmBackend', 'an unknown backend', (c) => c.native.setGemmBackend('cublas'), /cublas/);
  settle('setGemmBackend', 'auto (restores the default choice)', (c) => c.native.setGemmBackend('auto'));
  settle('buildInfo', 'junk arguments are ignored', (c) => c.native.buildInfo(null, 5));
  settle('cpuMemoryStats', 'junk arguments are ignored', (c) => c.native.cpuMemoryStats({}, -1));
  settle('releaseCachedCpuMemory', 'junk arguments are ignored', (c) => c.native.releaseCachedCpuMemory('all', 7));

  // --- model handles: every function that takes one ----------------------------------------------
  const modelFns: [string, (c: Ctx, h: unknown) => unknown][] = [
    ['mlmEncode', (c, h) => c.native.mlmEncode(h, encodeArgs())],
    ['mlmEncodeDense', (c, h) => c.native.mlmEncodeDense(h, encodeArgs())],
    ['mlmSave', (c, h) => c.native.mlmSave(h, path.join(c.tmp, 'never'))],
    ['mlmInitBagOfWords', (c, h) => c.native.mlmInitBagOfWords(h, {})],
    ['trainerCreate', (c, h) => c.native.trainerCreate(h, {})],
  ];
  for (const [fn, call] of modelFns) {
    for (const [name, v] of JUNK) err(fn, `model handle is ${name}`, (c) => call(c, v), /model handle/);
    err(fn, 'a trainer handle (foreign External) as the model', (c) => call(c, c.trainer), /not a model handle/);
    err(fn, 'a disposed model handle', (c) => call(c, c.disposed), /disposed/);
  }
  err('mlmDispose', 'no argument', (c) => c.native.mlmDispose(), /model handle/);
  for (const [name, v] of JUNK) err('mlmDispose', `handle is ${name}`, (c) => c.native.mlmDispose(v), /model handle/);
  err('mlmDispose', 'a trainer handle (foreign External)', (c) => c.native.mlmDispose(c.trainer), /not a model handle/);
  settle('mlmDispose', 'disposing twice is a no-op', (c) => c.native.mlmDispose(c.disposed));

  // --- trainer handles ------------------------------------------------------------------------
  const trainerFns: [string, (c: Ctx, h: unknown) => unknown][] = [
    ['trainerStep', (c, h) => c.native.trainerStep(h, stepBatch())],
    ['trainerMlmStep', (c, h) => c.native.trainerMlmStep(h, mlmBatch())],
    ['trainerSaveModel', (c, h) => c.native.trainerSaveModel(h, path.join(c.tmp, 'never'))],
    ['trainerSaveState', (c, h) => c.native.trainerSaveState(h, path.join(c.tmp, 'never'))],
    ['trainerLoad', (c, h) => c.native.trainerLoad(h, path.join(c.tmp, 'never'))],
  ];
  for (const [fn, call] of trainerFns) {
    for (const [name, v] of JUNK) err(fn, `trainer handle is ${name}`, (c) => call(c, v), /trainer handle/);
    err(fn, 'a model handle (foreign External) as the trainer', (c) => call(c, c.model), /not a trainer handle/);
  }

  // --- paths ----------------------------------------------------------------------------------
  for (const [name, v] of [['missing', undefined], ['empty', ''], ['number', 5], ['object', {}]] as [string, unknown][]) {
    err('mlmLoad', `path ${name}`, (c) => c.native.mlmLoad(v), /directory path/);
    err('mlmSave', `path ${name}`, (c) => c.native.mlmSave(c.model, v), /directory path/);
    err('trainerSaveModel', `path ${name}`, (c) => c.native.trainerSaveModel(c.trainer, v), /non-empty string/);
    err('trainerSaveState', `path ${name}`, (c) => c.native.trainerSaveState(c.trainer, v), /non-empty string/);
    err('trainerLoad', `path ${name}`, (c) => c.native.trainerLoad(c.trainer, v), /non-empty string/);
    err('SparseIndexNative.load', `path ${name}`, (c) => c.native.SparseIndexNative.load(v), /non-empty string/);
    err('SparseIndexNative#save', `path ${name}`, (c) => c.index.save(v), /non-empty string/);
  }
  err('mlmLoad', 'a directory that does not exist', (c) => c.native.mlmLoad(path.join(c.tmp, 'nope')), /not a directory/);
  err('mlmLoad', 'a file instead of a directory', (c) => c.native.mlmLoad(path.join(FIXTURE_MODEL, 'config.json')), /not a directory/);
  err('mlmLoad', 'a directory without config.json', (c) => c.native.mlmLoad(c.tmp), /no config\.json/);
  settle('mlmSave', 'into a folder under a missing parent (created)', (c) => c.native.mlmSave(c.model, path.join(c.tmp, 'a', 'b', 'c')));
  err('mlmSave', 'onto an existing file', (c) => c.native.mlmSave(c.model, path.join(FIXTURE_MODEL, 'config.json')));
  err('trainerLoad', 'a directory without a checkpoint', (c) => c.native.trainerLoad(c.trainer, c.tmp));
  settle('trainerSaveModel', 'into a folder under a missing parent (created)', (c) => c.native.trainerSaveModel(c.trainer, path.join(c.tmp, 'a', 'b', 'c')));
  settle('trainerSaveState', 'into a folder under a missing parent (created)', (c) => c.native.trainerSaveState(c.trainer, path.join(c.tmp, 'a', 'b', 'c')));
  err('SparseIndexNative.load', 'a missing file', (c) => c.native.SparseIndexNative.load(path.join(c.tmp, 'nope.idx')));
  err('SparseIndexNative.load', 'a directory', (c) => c.native.SparseIndexNative.load(c.tmp));
  err('SparseIndexNative.load', 'a safetensors file (wrong magic)', (c) => c.native.SparseIndexNative.load(path.join(FIXTURE_MODEL, 'model.safetensors')));
  settle('SparseIndexNative#save', 'under a missing parent (created)', (c) => c.index.save(path.join(c.tmp, 'a', 'b', 'x.idx')));

  // --- mlmCreate --------------------------------------------------------------------------------
  err('mlmCreate', 'no argument', (c) => c.native.mlmCreate(), /config object/);
  err('mlmCreate', 'config as JSON text, not an object', (c) => c.native.mlmCreate('{"model_type":"bert"}'), /config object/);
  err('mlmCreate', 'an array', (c) => c.native.mlmCreate([]), /config object/);
  err('mlmCreate', 'no model_type', (c) => c.native.mlmCreate({}), /model_type/);
  err('mlmCreate', 'unsupported model_type', (c) => c.native.mlmCreate({ model_type: 'gpt2' }), /model_type/);
  const bert = (o: Record<string, unknown>) => ({ model_type: 'bert', vocab_size: 50, hidden_size: 8,
    num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16, ...o });
  err('mlmCreate', 'negative vocab_size', (c) => c.native.mlmCreate(bert({ vocab_size: -1 })), /vocab_size/);
  err('mlmCreate', 'fractional hidden_size', (c) => c.native.mlmCreate(bert({ hidden_size: 8.5 })), /hidden_size/);
  err('mlmCreate', 'hidden_size not divisible by heads', (c) => c.native.mlmCreate(bert({ num_attention_heads: 3 })), /heads|divis/);
  err('mlmCreate', 'vocab_size as a string', (c) => c.native.mlmCreate(bert({ vocab_size: '50' })), /vocab_size/);
  err('mlmCreate', 'pad_token_id outside the vocabulary', (c) => c.native.mlmCreate(bert({ pad_token_id: 50 })), /pad_token_id/);
  err('mlmCreate', 'layer_norm_eps 0', (c) => c.native.mlmCreate(bert({ layer_norm_eps: 0 })), /layer_norm_eps/);
  err('mlmCreate', 'dropout 1', (c) => c.native.mlmCreate(bert({ hidden_dropout_prob: 1 })), /\[0, 1\)/);
  // A 64 TiB word embedding (2^31 x 8192 floats; every other tensor <= 256 MiB): malloc refuses it unless
  // the kernel overcommits unconditionally (vm.overcommit_memory = 1), where touching it would summon the
  // OOM killer instead — the case is left out there.
  if (overcommitMode() !== '1') {
    err('mlmCreate', 'a 64 TiB embedding (vocab 2^31): allocation fails cleanly',
      (c) => c.native.mlmCreate(bert({ vocab_size: 2 ** 31, hidden_size: 8192, num_attention_heads: 1 })));
  }
  const deep: Record<string, unknown> = { model_type: 'bert' };
  for (let i = 0, at = deep; i < 100000; i++) at.x = {}, at = at.x as Record<string, unknown>;
  err('mlmCreate', 'nesting 100000 deep', (c) => c.native.mlmCreate(deep), /deep/);
  const cyclic: Record<string, unknown> = bert({});
  cyclic.self = cyclic;
  err('mlmCreate', 'a config that refers to itself', (c) => c.native.mlmCreate(cyclic), /refers to itself/);
  err('mlmCreate', 'NaN hidden_size', (c) => c.native.mlmCreate(bert({ hidden_size: NaN })), /config\.hidden_size is not a finite number/);
  err('mlmCreate', 'a function value', (c) => c.native.mlmCreate(bert({ extra: () => 1 })), /config\.extra is not a JSON value/);
  for (const v of [-1, 1.5, 'x', NaN, Infinity, 2 ** 60]) {
    err('mlmCreate', `seed ${String(v)}`, (c) => c.native.mlmCreate(bert({}), { seed: v }), /seed/);
  }

  // --- device option of mlmLoad / mlmCreate (model/device.h) -------------------------------------------
  // cuda:99 fails on every machine (the CPU variant, no GPU, or fewer GPUs); plain 'cuda' is test/encode/device.test.ts's.
  const load = (o: unknown) => (c: Ctx) => c.native.mlmLoad(FIXTURE_MODEL, o);
  const create = (o: unknown) => (c: Ctx) => c.native.mlmCreate(bert({}), o);
  for (const [name, v] of JUNK.filter(([n]) => !['undefined', 'object', 'function'].includes(n)))
    err('mlmLoad', `options is ${name}`, load(v), /mlmLoad: options must be an object/);
  err('mlmLoad', 'options is a function', load(() => 1), /options must be an object/);
  const badDevices: [unknown, RegExp][] = [
    ['gpu', /unknown device 'gpu'.*'cpu', 'cuda' or 'cuda:N'/], ['', /unknown device ''/], ['CUDA', /unknown device 'CUDA'/],
    ['cpu:0', /unknown device 'cpu:0'/], ['cuda:-1', /non-negative integer/], ['cuda:x', /non-negative integer/],
    ['cuda:', /non-negative integer/], ['cuda:1e3', /non-negative integer/], ['cuda:999', /out of range/],
    ['cuda:99', /device 'cuda:99'/], [42, /option 'device' must be a string/], [null, /option 'device' must be a string/],
    [{}, /option 'device' must be a string/], [['cpu'], /option 'device' must be a string/],
    [Symbol('cuda'), /option 'device' must be a string/], [5n, /option 'device' must be a string/],
  ];
  for (const [v, match] of badDevices) {
    err('mlmLoad', `device ${String(v)}`, load({ device: v }), match);
    err('mlmCreate', `device ${String(v)}`, create({ device: v }), match);
  }
  settle('mlmLoad', "device 'cpu'", load({ device: 'cpu' }));
  settle('mlmCreate', "device 'cpu'", create({ device: 'cpu', seed: 1 }));

  // --- mlmEncode / mlmEncodeDense ------------------------------------------------------------------
  for (const fn of ['mlmEncode', 'mlmEncodeDense']) {
    const call = (o: unknown) => (c: Ctx) => c.native[fn](c.model, o);
    for (const [name, v] of JUNK.filter(([n]) => !['object', 'array', 'function', 'Int32Array'].includes(n)))
      err(fn, `options is ${name}`, call(v), /options object/);
    err(fn, 'options is an Int32Array', call(new Int32Array(8)), /options: expected a token batch/);
    err(fn, 'options without batchSize/seqLen', call({ inputIds: new Int32Array(8), attentionMask: new Int32Array(8) }), /options\.batchSize is required/);
    err(fn, 'options without seqLen', call(encodeArgs({ seqLen: undefined })), /options\.seqLen is required/);
    for (const v of [0, -1, 1.5, NaN, Infinity, '2', 2 ** 40])
      err(fn, `batchSize ${String(v)}`, call(encodeArgs({ batchSize: v })), /batchSize/);
    err(fn, 'seqLen beyond max_position_embeddings', call(encodeArgs({ batchSize: 1, seqLen: MAX_POS + 1,
      inputIds: new Int32Array(MAX_POS + 1), attentionMask: new Int32Array(MAX_POS + 1) })), /max_position_embeddings/);
    err(fn, 'inputIds as Float32Array', call(encodeArgs({ inputIds: new Float32Array(8) })), /inputIds must be an Int32Array/);
    err(fn, 'inputIds as Uint32Array', call(encodeArgs({ inputIds: new Uint32Array(8) })), /inputIds must be an Int32Array/);
    err(fn, 'inputIds as a plain array', call(encodeArgs({ inputIds: [1, 2, 3, 4, 5, 6, 7, 8] })), /inputIds must be an Int32Array/);
    err(fn, 'attentionMask as BigInt64Array', call(encodeArgs({ attentionMask: new BigInt64Array(8) })), /attentionMask must be an Int32Array/);
    err(fn, 'inputIds shorter than batchSize*seqLen', call(encodeArgs({ inputIds: new Int32Array(7) })), /expected batchSize \* seqLen = 8/);
    err(fn, 'attentionMask longer than batchSize*seqLen', call(encodeArgs({ attentionMask: new Int32Array(9).fill(1) })), /attentionMask has 9/);
    err(fn, 'token id -1', call(encodeArgs({ inputIds: Int32Array.from([101, -1, 1, 1, 1, 1, 1, 1]) })), /-1/);
    err(fn, 'token id = vocab size', call(encodeArgs({ inputIds: Int32Array.from([101, VOCAB, 1, 1, 1, 1, 1, 1]) })), new RegExp(String(VOCAB)));
    err(fn, 'token id 2^31-1', call(encodeArgs({ inputIds: Int32Array.from([101, 2 ** 31 - 1, 1, 1, 1, 1, 1, 1]) })), /2147483647/);
    err(fn, "activation 'gelu'", call(encodeArgs({ activation: 'gelu' })), /activation/);
    err(fn, 'activation 5', call(encodeArgs({ activation: 5 })), /activation/);
    err(fn, 'k = 4', call(encodeArgs({ k: 4 })), /'k'/);
    err(fn, 'k = NaN', call(encodeArgs({ k: NaN })), /'k'/);
    err(fn, "dtype 'float16'", call(encodeArgs({ dtype: 'float16' })), /dtype/);
    err(fn, 'zeroTokenIds as Float32Array', call(encodeArgs({ zeroTokenIds: new Float32Array(2) })), /zeroTokenIds/);
    err(fn, 'zeroTokenIds outside the vocabulary', call(encodeArgs({ zeroTokenIds: Int32Array.from([0, VOCAB]) })), /zeroTokenIds\[1\]/);
    err(fn, 'zeroTokenIds negative', call(encodeArgs({ zeroTokenIds: Int32Array.from([-5]) })), /zeroTokenIds\[0\]/);
    settle(fn, 'a document with an all-zero attention mask', call(encodeArgs({ attentionMask: new Int32Array(8) })));
    settle(fn, 'attention mask values other than 0/1', call(encodeArgs({ attentionMask: Int32Array.from([5, -3, 1, 1, 1, 1, 1, 1]) })));
    settle(fn, 'inputIds on a detached-looking view (byteOffset != 0)', call(encodeArgs({
      inputIds: new Int32Array(Int32Array.from([9, 101, 2000, 2001, 102, 101, 2002, 102, 0]).buffer, 4, 8) })));
  }

  // --- pruneCsr ---------------------------------------------------------------------------------
  err('pruneCsr', 'no arguments', (c) => c.native.pruneCsr(), /type must be a string/);
  err('pruneCsr', 'type not a string', (c) => c.native.pruneCsr(csr(), 5, 1), /type must be a string/);
  err('pruneCsr', 'value not a number', (c) => c.native.pruneCsr(csr(), 'top_k', '3'), /value a number/);
  err('pruneCsr', 'unknown type', (c) => c.native.pruneCsr(csr(), 'bogus', 1));
  for (const [type, v] of [['top_k', 0], ['top_k', 1.5], ['top_k', NaN], ['alpha_mass', 1.5], ['alpha_mass', -0.1],
    ['ratio', NaN], ['abs_value', Infinity], ['abs_value', -1]] as [string, number][]) {
    err('pruneCsr', `${type} = ${v}`, (c) => c.native.pruneCsr(csr(), type, v));
  }
  const badCsr: [string, Record<string, unknown> | unknown][] = [
    ['not an object', 5], ['an array', [1, 2]],
    ['indptr as a plain array', csr({ indptr: [0, 2, 3] })],
    ['indices as Float32Array', csr({ indices: new Float32Array(3) })],
    ['values as Float64Array', csr({ values: new Float64Array(3) })],
    ['empty indptr', csr({ indptr: new Int32Array(0) })],
    ['indptr not starting at 0', csr({ indptr: Int32Array.from([1, 2, 3]) })],
    ['decreasing indptr', csr({ indptr: Int32Array.from([0, 3, 2]) })],
    ['indptr end != nnz', csr({ indptr: Int32Array.from([0, 2, 5]) })],
    ['indices/values length mismatch', csr({ values: Float32Array.from([1, 2]) })],
    ['column index = numCols', csr({ indices: Int32Array.from([1, 5, 10]) })],
    ['negative column index', csr({ indices: Int32Array.from([-1, 5, 9]) })],
    ['unsorted columns in a row', csr({ indices: Int32Array.from([5, 1, 9]) })],
    ['duplicate column in a row', csr({ indices: Int32Array.from([5, 5, 9]) })],
    ['NaN value', csr({ values: Float32Array.from([NaN, 1, 1]) })],
    ['Infinity value', csr({ values: Float32Array.from([Infinity, 1, 1]) })],
    ['numCols 0', csr({ numCols: 0 })], ['numCols NaN', csr({ numCols: NaN })], ['numCols 2^31', csr({ numCols: 2 ** 31 })],
    ['numCols missing', csr({ numCols: undefined })],
  ];
  for (const [name, bad] of badCsr) {
    err('pruneCsr', `csr: ${name}`, (c) => c.native.pruneCsr(bad, 'top_k', 2));
    err('SparseIndexNative#add', `csr: ${name}`, (c) => c.index.add(bad, ['a', 'b']));
    err('SparseIndexNative#search', `queries: ${name}`, (c) => c.index.search(bad, 2));
  }
  err('pruneCsr', 'csr: zero value (pruning wants positive weights)', (c) => c.native.pruneCsr(csr({ values: Float32Array.from([0, 1, 1]) }), 'top_k', 2));

  // --- sparseHead / sparseHeadReference ------------------------------------------------------------
  for (const fn of ['sparseHead', 'sparseHeadReference']) {
    const call = (o: unknown) => (c: Ctx) => c.native[fn](o);
    err(fn, 'no argument', (c) => c.native[fn](), /options object/);
    err(fn, 'options is a number', call(3), /options object/);
    err(fn, 'hidden missing', call(head({ hidden: undefined })), /hidden: expected/);
    err(fn, 'hidden is a bare TypedArray', call(head({ hidden: new Float32Array(24) })), /hidden: expected/);
    err(fn, 'hidden.data a plain array', call(head({ hidden: { data: [1, 2], shape: [2] } })), /hidden\.data must be a TypedArray/);
    err(fn, 'hidden.shape not an array', call(head({ hidden: { data: new Float32Array(24), shape: 24 } })), /hidden\.shape must be an array/);
    err(fn, 'shape entry negative', call(head({ hidden: t(new Float32Array(24), [2, -3, -4]) })), /shape\[1\]/);
    err(fn, 'shape entry NaN', call(head({ hidden: t(new Float32Array(24), [2, NaN, 4]) })), /shape\[1\]/);
    err(fn, 'shape entry a string', call(head({ hidden: t(new Float32Array(24), [2, '3', 4] as any) })), /shape\[1\]/);
    err(fn, 'shape entry 2^64', call(head({ hidden: t(new Float32Array(24), [2 ** 64, 1, 1]) })), /shape\[0\]/);
    err(fn, 'shape overflowing uint64', call(head({ hidden: t(new Float32Array(24), [2 ** 40, 2 ** 40, 2 ** 40]) })), /overflows/);
    err(fn, '9-dimensional shape', call(head({ hidden: t(new Float32Array(1), [1, 1, 1, 1, 1, 1, 1, 1, 1]) })), /more than 8/);
    err(fn, 'shape/data length mismatch', call(head({ hidden: t(new Float32Array(23), [2, 3, 4]) })), /does not match data length 23/);
    err(fn, "dtype tag 'int32' on a Float32Array", call(head({ hidden: t(new Float32Array(24), [2, 3, 4], 'int32') })), /does not match/);
    err(fn, 'dtype tag not a string', call(head({ hidden: { data: new Float32Array(24), shape: [2, 3, 4], dtype: 5 } })), /dtype must be a string/);
    err(fn, 'Uint16Array without a dtype tag', call(head({ hidden: t(new Uint16Array(24), [2, 3, 4]) })), /Uint16Array needs dtype/);
    err(fn, 'Uint32Array (unsupported)', call(head({ hidden: t(new Uint32Array(24), [2, 3, 4]) })), /unsupported TypedArray/);
    err(fn, 'Float64 hidden with Float32 weight', call(head({ hidden: t(new Float64Array(24), [2, 3, 4]) })));
    err(fn, 'hidden 2-D', call(head({ hidden: t(new Float32Array(24), [6, 4]) })));
    err(fn, 'weight D mismatch', call(head({ weight: t(new Float32Array(15), [5, 3]) })));
    err(fn, 'bias length mismatch', call(head({ bias: t(new Float32Array(4), [4]) })));
    err(fn, 'mask shape mismatch', call(head({ mask: t(new Int32Array(4), [2, 2]) })));
    settle(fn, 'mask as Float32 (nonzero = token)', call(head({ mask: t(new Float32Array(6), [2, 3]) })));
    err(fn, 'gradOutput wrong shape', call(head({ gradOutput: t(new Float32Array(4), [2, 2]) })), /gradOutput/);
    err(fn, 'gradOutput wrong dtype', call(head({ gradOutput: t(new Float64Array(10), [2, 5]) })), /gradOutput/);
    err(fn, "activation 'tanh'", call(head({ activation: 'tanh' })), /activation/);
    err(fn, 'k = 0', call(head({ activation: 'l0', k: 0 })), /'k'/);
    settle(fn, 'NaN and Infinity in hidden', call(head({ hidden: t(new Float32Array(24).fill(NaN).fill(Infinity, 0, 5), [2, 3, 4]) })));
    settle(fn, 'empty batch (B = 0)', call(head({ hidden: t(new Float32Array(0), [0, 3, 4]), mask: t(new Int32Array(0), [0, 3]) })));
  }

  // --- flopsLoss --------------------------------------------------------------------------------
  const w = t(Float32Array.from([0.5, 0, 1, 2, 0, 0]), [2, 3]);
  err('flopsLoss', 'no argument', (c) => c.native.flopsLoss(), /options object/);
  err('flopsLoss', 'weights missing', (c) => c.native.flopsLoss({}), /weights: expected/);
  err('flopsLoss', 'weights 1-D', (c) => c.native.flopsLoss({ weights: t(new Float32Array(6), [6]) }));
  err('flopsLoss', 'weights int32', (c) => c.native.flopsLoss({ weights: t(new Int32Array(6), [2, 3]) }));
  for (const v of [0, -1, 1.5, NaN, '2']) err('flopsLoss', `groupSize ${String(v)}`, (c) => c.native.flopsLoss({ weights: w, groupSize: v }), /groupSize/);
  err('flopsLoss', 'rows not divisible by groupSize', (c) => c.native.flopsLoss({ weights: w, groupSize: 3 }));
  for (const v of [NaN, Infinity, 'x']) err('flopsLoss', `threshold ${String(v)}`, (c) => c.native.flopsLoss({ weights: w, threshold: v }), /threshold/);
  err('flopsLoss', "grad 'yes'", (c) => c.native.flopsLoss({ weights: w, grad: 'yes' }), /grad/);
  settle('flopsLoss', 'NaN weights', (c) => c.native.flopsLoss({ weights: t(Float32Array.from([NaN, 0, 1, 2, 0, 0]), [2, 3]), grad: true }));

  // --- mlmInitBagOfWords ---------------------------------------------------------------------------
  for (const key of ['embeddingStd', 'headScale', 'biasPerDim'])
    err('mlmInitBagOfWords', `${key} a string`, (c) => c.native.mlmInitBagOfWords(c.model, { [key]: 'x' }), new RegExp(key));
  for (const [key, v] of [['embeddingStd', NaN], ['embeddingStd', 0], ['headScale', -1], ['headScale', Infinity], ['biasPerDim', Infinity], ['biasPerDim', -0.5]] as [string, number][])
    err('mlmInitBagOfWords', `${key} = ${v}`, (c) => c.native.mlmInitBagOfWords(c.model, { [key]: v }), /bag-of-words init/);
  for (const v of [-1, 1.5, NaN, 2 ** 60]) err('mlmInitBagOfWords', `seed ${String(v)}`, (c) => c.native.mlmInitBagOfWords(c.model, { seed: v }), /seed/);

  // --- trainerCreate / trainerStep ----------------------------------------------------------------
  err('trainerCreate', 'config missing', (c) => c.native.trainerCreate(c.model), /config: expected an options object/);
  err('trainerCreate', 'config a JSON string', (c) => c.native.trainerCreate(c.model, '{"lr":1}'), /config: expected an options object/);
  err('trainerCreate', 'unknown key', (c) => c.native.trainerCreate(c.model, { learningRate: 1 }), /unknown key 'learningRate'/);
  err('trainerCreate', 'lr out of range', (c) => c.native.trainerCreate(c.model, { lr: 100 }), /'lr'/);
  err('trainerCreate', 'lr as a string', (c) => c.native.trainerCreate(c.model, { lr: '1e-3' }), /'lr' must be a number/);
  err('trainerCreate', 'lr NaN', (c) => c.native.trainerCreate(c.model, { lr: NaN }), /'lr' must be in/);
  err('trainerCreate', 'unknown loss', (c) => c.native.trainerCreate(c.model, { loss: 'hinge' }), /'loss'/);
  err('trainerCreate', 'k = 9', (c) => c.native.trainerCreate(c.model, { k: 9 }), /'k'/);
  err('trainerCreate', 'gradAccumulation 0', (c) => c.native.trainerCreate(c.model, { gradAccumulation: 0 }), /gradAccumulation/);
  // The batch is { docs: token batch, queries: Csr, groupSize, teacher?: Float32Array } (binding/batch_args.h, csr_args.h).
  const step = (o: Record<string, unknown>) => (c: Ctx) => c.native.trainerStep(c.trainer, stepBatch(o));
  const docs = (o: Record<string, unknown>) => step({ docs: stepDocs(o) });
  const queries = (o: Record<string, unknown>) => step({ queries: stepQueries(o) });
  err('trainerStep', 'batch missing', (c) => c.native.trainerStep(c.trainer), /options object/);
  settle('trainerStep', 'a good batch (the shape lib/train/native-trainer.ts passes)', step({}));
  for (const v of [undefined, 0, -2, 1.5, NaN, 'x']) err('trainerStep', `groupSize ${String(v)}`, step({ groupSize: v }), /groupSize/);
  for (const [name, v] of JUNK.filter(([n]) => n !== 'object'))
    err('trainerStep', `docs is ${name}`, step({ docs: v }), /trainStep: docs: expected a token batch/);
  err('trainerStep', 'docs flat in the batch (the old shape)', (c) => c.native.trainerStep(c.trainer,
    { ...stepDocs(), numDocs: 2, groupSize: 2, queries: stepQueries(), teacher: Float32Array.from([1, 0]) }), /docs: expected a token batch/);
  for (const key of ['batchSize', 'seqLen']) {
    err('trainerStep', `docs.${key} missing`, docs({ [key]: undefined }), new RegExp(`docs\\.${key} is required`));
    for (const v of [0, -2, 1.5, NaN, 'x', 2 ** 31]) err('trainerStep', `docs.${key} ${String(v)}`, docs({ [key]: v }), new RegExp(`docs\\.${key} must be an integer`));
  }
  err('trainerStep', 'inputIds missing', docs({ inputIds: undefined }), /docs\.inputIds must be an Int32Array/);
  err('trainerStep', 'inputIds as Float32Array', docs({ inputIds: new Float32Array(8) }), /docs\.inputIds must be an Int32Array/);
  err('trainerStep', 'inputIds as a plain array', docs({ inputIds: [101, 2000, 102, 0, 101, 2001, 2002, 102] }), /docs\.inputIds must be an Int32Array/);
  err('trainerStep', 'inputIds as a { data, shape } tensor (the old shape)', docs({ inputIds: t(new Int32Array(8), [2, 4]) }), /docs\.inputIds must be an Int32Array/);
  err('trainerStep', 'attentionMask as BigInt64Array', docs({ attentionMask: new BigInt64Array(8) }), /docs\.attentionMask must be an Int32Array/);
  err('trainerStep', 'batchSize*seqLen != inputIds length', docs({ batchSize: 3 }), /docs\.inputIds has 8 entries, expected batchSize \* seqLen = 12/);
  err('trainerStep', 'attentionMask shorter than batchSize*seqLen', docs({ attentionMask: new Int32Array(7).fill(1) }), /docs\.attentionMask has 7 entries/);
  err('trainerStep', 'token id outside the vocabulary', docs({ inputIds: Int32Array.from([101, VOCAB, 102, 0, 101, 2001, 2002, 102]) }), /outside the vocabulary/);
  err('trainerStep', 'token id negative', docs({ inputIds: Int32Array.from([101, -7, 102, 0, 101, 2001, 2002, 102]) }), /outside the vocabulary/);
  err('trainerStep', 'seqLen beyond max positions', docs({ seqLen: 40, inputIds: new Int32Array(80).fill(101), attentionMask: new Int32Array(80).fill(1) }), /max_position_embeddings/);
  err('trainerStep', 'documents that do not split into groups', step({ groupSize: 3 }), /do not split into groups of 3/);
  for (const [name, v] of JUNK.filter(([n]) => n !== 'object'))
    err('trainerStep', `queries is ${name}`, step({ queries: v }), /trainStep: queries: expected \{ indptr/);
  err('trainerStep', 'queries as { data, shape } tensors (the old shape)', queries({ indptr: t(Int32Array.from([0, 2]), [2]) }), /queries\.indptr must be a Int32Array/);
  err('trainerStep', 'query values as Float64Array', queries({ values: Float64Array.from([1, 1]) }), /queries\.values must be a Float32Array/);
  err('trainerStep', 'query numCols missing', queries({ numCols: undefined }), /queries\.numCols/);
  err('trainerStep', 'query numCols other than the vocabulary', queries({ numCols: 3000 }), /queries\.numCols is 3000 but the model's vocabulary has 30522/);
  err('trainerStep', 'query index outside numCols', queries({ indices: Int32Array.from([2000, VOCAB + 5]) }), /column 30527 outside \[0, 30522\)/);
  err('trainerStep', 'query index negative', queries({ indices: Int32Array.from([-1, 5]) }), /column -1 outside/);
  err('trainerStep', 'query indices not increasing', queries({ indices: Int32Array.from([2001, 2000]) }), /not strictly increasing/);
  err('trainerStep', 'query indptr empty', queries({ indptr: new Int32Array(0) }), /queries\.indptr must have at least one entry/);
  err('trainerStep', 'query indptr past nnz', queries({ indptr: Int32Array.from([0, 9]) }), /indptr\[1\] = 9 exceeds/);
  err('trainerStep', 'query indptr not starting at 0', queries({ indptr: Int32Array.from([1, 2]) }), /indptr must start with 0/);
  err('trainerStep', 'query indptr decreasing', queries({ indptr: Int32Array.from([0, 2, 1]) }), /indptr decreases at row 1/);
  err('trainerStep', 'query indices and values of different lengths', queries({ values: Float32Array.from([1]) }), /2 indices but 1 values/);
  err('trainerStep', 'query values NaN', queries({ values: Float32Array.from([NaN, 1]) }), /must be finite and >= 0/);
  err('trainerStep', 'query values negative', queries({ values: Float32Array.from([1, -0.5]) }), /must be finite and >= 0/);
  err('trainerStep', 'query rows other than documents / groupSize', queries({ indptr: Int32Array.from([0, 1, 2]) }), /1 queries expected .* 2 rows/);
  err('trainerStep', 'teacher float64', step({ teacher: new Float64Array(2) }), /teacher must be a Float32Array/);
  err('trainerStep', 'teacher a plain array', step({ teacher: [1, 0] }), /teacher must be a Float32Array/);
  err('trainerStep', 'teacher as a { data, shape } tensor (the old shape)', step({ teacher: t(new Float32Array(2), [2]) }), /teacher must be a Float32Array/);
  err('trainerStep', 'teacher wrong length', step({ teacher: new Float32Array(3) }), /teacher scores must be \[1, 2\], got \[3\]/);
  err('trainerStep', 'teacher NaN', step({ teacher: Float32Array.from([NaN, 0]) }), /NaN or infinity/);
  err('trainerStep', 'KL without teacher', step({ teacher: undefined }), /KL loss needs teacher scores/);

  // --- trainerMlmStep: { docs: token batch, labels: Int32Array } ------------------------------------------
  const mlm = (o: Record<string, unknown>) => (c: Ctx) => c.native.trainerMlmStep(c.trainer, mlmBatch(o));
  const labels = (edit: (l: Int32Array) => void) => {
    const l = Int32Array.from(mlmBatch().labels as Int32Array);
    edit(l);
    return mlm({ labels: l });
  };
  err('trainerMlmStep', 'batch missing', (c) => c.native.trainerMlmStep(c.trainer), /options object/);
  settle('trainerMlmStep', 'a good batch (the shape lib/train/native-trainer.ts passes)', mlm({}));
  for (const [name, v] of JUNK.filter(([n]) => n !== 'object')) err('trainerMlmStep', `docs is ${name}`, mlm({ docs: v }), /mlmStep: docs: expected a token batch/);
  err('trainerMlmStep', 'docs.inputIds as Float32Array', mlm({ docs: stepDocs({ inputIds: new Float32Array(8) }) }), /docs\.inputIds must be an Int32Array/);
  err('trainerMlmStep', 'labels missing', mlm({ labels: undefined }), /labels must be an Int32Array/);
  err('trainerMlmStep', 'labels as a plain array', mlm({ labels: [-100, 2000] }), /labels must be an Int32Array/);
  err('trainerMlmStep', 'labels shorter than batchSize*seqLen', mlm({ labels: new Int32Array(7).fill(-100) }), /labels has 7 entries, expected batchSize \* seqLen = 8/);
  err('trainerMlmStep', 'no predicted position', labels((l) => l.fill(-100)), /no position is masked/);
  err('trainerMlmStep', 'label outside the vocabulary', labels((l) => { l[1] = VOCAB; }), /token ids in \[0, 30522\)/);
  err('trainerMlmStep', 'label -5', labels((l) => { l[1] = -5; }), /token ids in \[0, 30522\)/);
  err('trainerMlmStep', 'a predicted padding position', labels((l) => { l[3] = 7; }), /padding/);
  err('trainerMlmStep', 'token id outside the vocabulary', mlm({ docs: stepDocs({ inputIds: Int32Array.from([101, VOCAB, 102, 0, 101, 2001, 103, 102]) }) }), /outside the vocabulary/);

  // --- process groups (data-parallel training) -------------------------------------------------------
  const pg = (o: Record<string, unknown>) => (c: Ctx) => c.native.processGroupInit({ masterAddr: '127.0.0.1', masterPort: 29999, worldSize: 2, rank: 1, timeoutMs: 1000, ...o });
  err('processGroupInit', 'no argument', (c) => c.native.processGroupInit(), /options/);
  err('processGroupInit', 'options a string', (c) => c.native.processGroupInit('127.0.0.1:29500'), /options/);
  err('processGroupInit', 'masterAddr missing', pg({ masterAddr: undefined }), /masterAddr/);
  err('processGroupInit', 'masterAddr a number', pg({ masterAddr: 127 }), /masterAddr/);
  for (const v of [0, 70000, -1, 1.5, NaN, '29500']) err('processGroupInit', `masterPort ${String(v)}`, pg({ masterPort: v }), /masterPort/);
  for (const v of [0, -2, 1.5, Infinity]) err('processGroupInit', `worldSize ${String(v)}`, pg({ worldSize: v }), /worldSize/);
  for (const v of [-1, 1.5, NaN]) err('processGroupInit', `rank ${String(v)}`, pg({ rank: v }), /rank/);
  err('processGroupInit', 'rank = worldSize', pg({ rank: 2 }), /not below worldSize/);
  err('processGroupInit', 'timeoutMs 0', pg({ timeoutMs: 0 }), /timeoutMs/);
  err('processGroupInit', 'bucketBytes -1', pg({ bucketBytes: -1 }), /bucketBytes/);
  err('processGroupInit', 'rank 1 of 2 with no master listening: fails after the timeout', pg({ masterPort: 1, timeoutMs: 1500 }));
  err('processGroupBarrier', 'without a process group', (c) => c.native.processGroupBarrier(), /no process group/);
  err('processGroupAllReduce', 'without a process group', (c) => c.native.processGroupAllReduce(new Float64Array(2)), /no process group/);
  err('processGroupAllReduce', 'a Float32Array (and no group)', (c) => c.native.processGroupAllReduce(new Float32Array(2)), /no process group|Float64Array/);
  settle('processGroupDestroy', 'without a group, with junk arguments: a no-op', (c) => c.native.processGroupDestroy(5, {}));

  // --- SparseIndexNative ----------------------------------------------------------------------------
  const I = 'SparseIndexNative';
  err(I, 'called without new', (c) => c.native.SparseIndexNative(10), /new|constructor|class/i);
  err(I, 'no argument', (c) => new c.native.SparseIndexNative(), /numCols is required/);
  for (const v of [0, -1, 1.5, NaN, Infinity, 2 ** 31, '10', null])
    err(I, `numCols ${String(v)}`, (c) => new c.native.SparseIndexNative(v), /numCols/);
  err(I, 'a model handle (foreign External) as numCols', (c) => new c.native.SparseIndexNative(c.model), /numCols/);
  err(I, 'a trainer handle (foreign External) as numCols', (c) => new c.native.SparseIndexNative(c.trainer), /numCols/);
  const idx = (name: string, run: (c: Ctx) => unknown, match?: RegExp) => err(`${I}#${name.split(' ')[0]}`, name, run, match);
  idx('add without arguments', (c) => c.index.add(), /both arguments/);
  idx('add ids not an array', (c) => c.index.add(csr(), 'ab'), /ids must be an array/);
  idx('add ids with a number', (c) => c.index.add(csr(), ['a', 2]), /ids\[1\] must be a string/);
  idx('add ids count != rows', (c) => c.index.add(csr(), ['a']));
  idx('add numCols different from the index', (c) => c.index.add(csr({ numCols: 11 }), ['a', 'b']));
  idx('add duplicate id', (c) => c.index.add(csr(), ['same', 'same']));
  idx('search without arguments', (c) => c.index.search(), /both arguments/);
  for (const v of [0, -1, 1.5, NaN, 2 ** 21, '2']) idx(`search k = ${String(v)}`, (c) => c.index.search(csr(), v), /k must be an integer/);
  idx('search queries with another numCols', (c) => c.index.search(csr({ numCols: 11 }), 2), /numCols 11/);
  idx('search options a number', (c) => c.index.search(csr(), 2, 5), /options must be an object/);
  idx('search threads 0', (c) => c.index.search(csr(), 2, { threads: 0 }), /threads/);
  idx("search algorithm 'wand'", (c) => c.index.search(csr(), 2, { algorithm: 'wand' }), /algorithm/);
  idx('search docIndices Float32Array', (c) => c.index.search(csr(), 2, { docIndices: new Float32Array(4) }), /docIndices/);
  idx('search docIndices wrong length', (c) => c.index.search(csr(), 2, { docIndices: new Int32Array(3) }), /docIndices/);
  idx('search scores wrong length', (c) => c.index.search(csr(), 2, { scores: new Float32Array(5) }), /scores/);
  idx('search queries x k above 2^30', (c) => c.index.search(csr({ indptr: new Int32Array(2049), indices: new Int32Array(0), values: new Float32Array(0) }), 2 ** 20), /2\^30/);
  idx('idsAt without argument', (c) => c.index.idsAt(), /Int32Array/);
  idx('idsAt Float64Array', (c) => c.index.idsAt(new Float64Array(1)), /Int32Array/);
  idx('idsAt out of range', (c) => c.index.idsAt(Int32Array.from([0, 99])), /99 outside/);
  idx('idsAt -2', (c) => c.index.idsAt(Int32Array.from([-2])), /-2 outside/);
  settle(`${I}#idsAt`, 'idsAt -1 gives null', (c) => c.index.idsAt(Int32Array.from([-1])));
  // Methods called on something that is not a SparseIndexNative.
  for (const m of ['add', 'build', 'search', 'save', 'stats', 'idsAt']) {
    err(`${I}#${m}`, `${m} on a plain object`, (c) => c.native.SparseIndexNative.prototype[m].call({}, csr(), 2));
    err(`${I}#${m}`, `${m} on Object.create(prototype)`, (c) => c.native.SparseIndexNative.prototype[m].call(Object.create(c.native.SparseIndexNative.prototype), csr(), 2));
  }
  return cases;
}
