import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { readModelDir } from '../../lib/model/model-dir';
import { SparseEncoder } from '../../lib/encode/sparse-encoder';
import { sharedData } from '../helpers';
import { hfModelDir, stModelDir, tempDir } from './fixture-dirs';

function editJson(file: string, edit: (v: Record<string, unknown>) => unknown): void {
  fs.writeFileSync(file, JSON.stringify(edit(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>)));
}

describe('encoder: reading model dirs (layouts, and the ones refused)', function () {
  const data = sharedData();
  let work: string;
  let n = 0;
  const fresh = (name: string) => path.join(work, `${name}-${n++}`);

  before(function () {
    if (!data) { console.log('    skipped: shared data (../shared/data) is absent'); this.skip(); }
    work = tempDir('model-dirs');
  });
  after(() => { if (work) fs.rmSync(work, { recursive: true, force: true }); });

  it('a dir that is no model, or lacks weights or tokenizer', async () => {
    await assert.rejects(SparseEncoder.load(path.join(work, 'absent')), /model dir .*absent does not exist/);
    const empty = fresh('empty'); fs.mkdirSync(empty);
    await assert.rejects(SparseEncoder.load(empty), /neither a sentence-transformers model \(modules\.json\) nor a transformers model \(config\.json\)/);
    const noWeights = hfModelDir(data!, 'bert', fresh('noweights'));
    fs.renameSync(path.join(noWeights, 'model.safetensors'), path.join(noWeights, 'pytorch_model.bin'));
    await assert.rejects(SparseEncoder.load(noWeights), /has neither model\.safetensors nor model\.safetensors\.index\.json \(pytorch_model\.bin is not supported/);
    const noTokenizer = hfModelDir(data!, 'bert', fresh('notok'));
    fs.rmSync(path.join(noTokenizer, 'tokenizer.json'));
    await assert.rejects(SparseEncoder.load(noTokenizer), /notok-\d+ has neither tokenizer\.json nor vocab\.txt/);
  });

  it('an unknown architecture, and decoder rows that disagree with config.json', async () => {
    const gpt = hfModelDir(data!, 'bert', fresh('gpt2'));
    editJson(path.join(gpt, 'config.json'), (c) => ({ ...c, model_type: 'gpt2' }));
    await assert.rejects(SparseEncoder.load(gpt), /config\.json: model_type "gpt2" is not supported/);
    const rows = hfModelDir(data!, 'bert', fresh('rows'));
    editJson(path.join(rows, 'config.json'), (c) => ({ ...c, vocab_size: 30000 }));
    await assert.rejects(SparseEncoder.load(rows), /vocab_size = 30000 but .* has 30522 rows/);
  });

  it('a tokenizer whose vocabulary is not the model\'s', async () => {
    const dir = hfModelDir(data!, 'bert', fresh('smallvocab'));
    fs.rmSync(path.join(dir, 'tokenizer.json'));
    fs.writeFileSync(path.join(dir, 'vocab.txt'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n');
    await assert.rejects(SparseEncoder.load(dir), /config\.json has vocab_size 30522 but the tokenizer .*vocab\.txt has 6 tokens/);
  });

  it('idf.json with tokens outside the vocabulary, or not a token → weight object', async () => {
    const dir = hfModelDir(data!, 'bert', fresh('idf'));
    fs.writeFileSync(path.join(dir, 'idf.json'), JSON.stringify({ the: 1, qqqzzz: 2, 'ÆØÅ': 3 }));
    await assert.rejects(SparseEncoder.load(dir), /idf\.json: 2 token\(s\) are not in the vocabulary of .*tokenizer\.json: "qqqzzz", "ÆØÅ"/);
    fs.writeFileSync(path.join(dir, 'idf.json'), JSON.stringify({ the: null }));
    await assert.rejects(SparseEncoder.load(dir), /idf\.json: the weight of token "the" is null/);
  });

  it('bad l0sparse_config.json settings name the file', async () => {
    const dir = hfModelDir(data!, 'bert', fresh('settings'), { settings: { activation: 'gelu' } });
    assert.throws(() => readModelDir(dir), /l0sparse_config\.json: activation must be 'relu' or 'l0', got "gelu"/);
    fs.writeFileSync(path.join(dir, 'l0sparse_config.json'), JSON.stringify({ activation: 'l0', k: 7 }));
    assert.throws(() => readModelDir(dir), /l0sparse_config\.json: k must be an integer in 0\.\.3, got 7/);
  });

  describe('sentence-transformers dirs', () => {
    const weights = new Float32Array(30522).fill(1);
    const stDir = () => stModelDir(data!, 'bert', 'relu', weights, fresh('st'));

    it('loads the genuine layout (and the legacy MLMTransformer name)', async () => {
      const dir = stDir();
      assert.equal(readModelDir(dir).document.activation, 'relu');
      editJson(path.join(dir, 'router_config.json'), (c) => {
        const types = c.types as Record<string, string>;
        types.document_0_Transformer = 'sentence_transformers.sparse_encoder.models.MLMTransformer';
        return c;
      });
      assert.equal(readModelDir(dir).document.modelDir, path.join(dir, 'document_0_Transformer'));
    });

    it('finds a transformer kept at the root and idf.json named by the query module (released OpenSearch layout)', async () => {
      const dir = stDir();
      const transformer = path.join(dir, 'document_0_Transformer');
      for (const f of fs.readdirSync(transformer)) fs.renameSync(path.join(transformer, f), path.join(dir, f));
      fs.rmdirSync(transformer);
      const query = path.join(dir, 'query_0_SparseStaticEmbedding');
      fs.rmSync(path.join(query, 'model.safetensors'));
      fs.writeFileSync(path.join(query, 'config.json'), JSON.stringify({ frozen: true, path: 'idf.json' }));
      fs.writeFileSync(path.join(dir, 'idf.json'), JSON.stringify({ protein: 3 }));
      const spec = readModelDir(dir);
      assert.equal(spec.document.modelDir, dir);
      assert.deepEqual(spec.query, { kind: 'idf-json', file: path.join(dir, 'idf.json'), tokenizerDir: query });
      const encoder = await SparseEncoder.load(dir);
      try {
        assert.deepEqual(encoder.decode(await encoder.encodeQueries(['protein folding'])), [['protein', 3], ['folding', 1]]);
      } finally {
        encoder.dispose();
      }
      fs.rmSync(path.join(dir, 'idf.json'));
      assert.throws(() => readModelDir(dir), /config\.json: idf file 'idf\.json' not found/);
    });

    it('refuses sum pooling, unknown activations, non-fill-mask transformers and model-based query routes', () => {
      const cases: [(dir: string) => void, RegExp][] = [
        [(d) => editJson(path.join(d, 'document_1_SpladePooling', 'config.json'), (c) => ({ ...c, pooling_strategy: 'sum' })), /SpladePooling.config\.json: pooling_strategy 'sum' is not supported/],
        [(d) => editJson(path.join(d, 'document_1_SpladePooling', 'config.json'), (c) => ({ ...c, activation_function: 'gelu' })), /activation_function 'gelu' is not supported/],
        [(d) => editJson(path.join(d, 'document_0_Transformer', 'sentence_bert_config.json'), (c) => ({ ...c, transformer_task: 'feature-extraction' })), /transformer_task 'feature-extraction' is not 'fill-mask'/],
        [(d) => editJson(path.join(d, 'router_config.json'), (c) => ({ ...c, structure: { query: ['document_0_Transformer', 'document_1_SpladePooling'], document: ['document_0_Transformer', 'document_1_SpladePooling'] } })), /router_config\.json: the query route \(Transformer, SpladePooling\) is not one SparseStaticEmbedding/],
        [(d) => editJson(path.join(d, 'router_config.json'), (c) => ({ ...c, structure: { document: ['document_1_SpladePooling'] } })), /document modules \(SpladePooling\) are not a masked-LM Transformer followed by SpladePooling/],
        [(d) => editJson(path.join(d, 'router_config.json'), (c) => ({ ...c, structure: { document: ['nope'] } })), /structure\.document names unknown module "nope"/],
        [(d) => fs.writeFileSync(path.join(d, 'modules.json'), '{"idx": 0}'), /modules\.json must be a non-empty JSON array/],
        [(d) => fs.rmSync(path.join(d, 'router_config.json')), /has no router_config\.json for the Router/],
        [(d) => fs.rmSync(path.join(d, 'query_0_SparseStaticEmbedding', 'model.safetensors')), /query_0_SparseStaticEmbedding has no model\.safetensors/],
      ];
      for (const [breakIt, pattern] of cases) {
        const dir = stDir();
        breakIt(dir);
        assert.throws(() => readModelDir(dir), pattern);
      }
    });

    it('query weights whose length is not the vocabulary size', async () => {
      const dir = stModelDir(data!, 'bert', 'relu', new Float32Array(100), fresh('short'));
      await assert.rejects(SparseEncoder.load(dir), /model\.safetensors holds 100 query weights but the vocabulary of .*tokenizer\.json has 30522 tokens/);
    });
  });
});
