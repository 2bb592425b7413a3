import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { TextTokenizer } from '../../lib/tokenizer/text-tokenizer';
import { sharedData } from '../helpers';

// Ids below are the published bert-base-uncased vocabulary lines (README of shared/data checks them).
const PAD = 0; const UNK = 100; const CLS = 101; const SEP = 102; const MASK = 103;

describe('tokenizer: documents, queries, special tokens', function () {
  const data = sharedData();
  let json: TextTokenizer; let txt: TextTokenizer;
  before(function () {
    if (!data) { console.log('    skipped: shared data (../shared/data) is absent'); this.skip(); }
    json = TextTokenizer.fromFile(path.join(data!, 'bert-base-uncased', 'tokenizer.json'));
    txt = TextTokenizer.fromFile(path.join(data!, 'bert-base-uncased', 'vocab.txt'));
  });

  it('has the vocabulary, id↔token maps and special ids of bert-base-uncased', () => {
    for (const t of [json, txt]) {
      assert.equal(t.vocabSize, 30522);
      assert.equal(t.idToToken(1996), 'the');
      assert.equal(t.idToToken(30521), '##～');
      assert.equal(t.tokenToId('the'), 1996);
      assert.equal(t.tokenToId('no-such-token'), undefined);
      assert.deepEqual([...t.specialTokenIds], [PAD, UNK, CLS, SEP, MASK]);
      assert.equal(t.specialId('[CLS]'), CLS);
      assert.equal(t.specialId('the'), undefined);
      assert.throws(() => t.idToToken(30522), /outside the vocabulary/);
    }
  });

  it('encodes documents with [CLS]/[SEP], truncation and padding to the longest row', async () => {
    for (const t of [json, txt]) {
      const b = await t.encodeDocuments(['The cat', 'a b c d e f g h'], 6);
      assert.equal(b.batchSize, 2);
      assert.equal(b.seqLen, 6);
      // "the"=1996 "cat"=4937; "a"=1037 "b"=1038 "c"=1039 "d"=1040 (truncated to 4 words + 2 specials)
      assert.deepEqual([...b.inputIds], [CLS, 1996, 4937, SEP, PAD, PAD, CLS, 1037, 1038, 1039, 1040, SEP]);
      assert.deepEqual([...b.attentionMask], [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1]);
      assert.deepEqual([...b.lengths], [4, 6]);
      const short = await t.encodeDocuments(['The cat'], 512);
      assert.equal(short.seqLen, 4);
    }
  });

  it('encodes queries without special tokens, keeps literal special tokens whole, lowercases and strips accents', async () => {
    for (const t of [json, txt]) {
      const [q] = await t.encodeQueries(['Héllo [MASK] WORLD']);
      assert.deepEqual(q.map((id) => t.idToToken(id)), ['hello', '[MASK]', 'world']);
    }
  });

  it('keeps truncation per call when calls overlap', async () => {
    const [a, b] = await Promise.all([json.encodeDocuments(['a b c d e f'], 3), json.encodeDocuments(['a b c d e f'], 512)]);
    assert.equal(a.seqLen, 3);
    assert.equal(b.seqLen, 8);
  });

  it('rejects bad texts naming the index', async () => {
    await assert.rejects(json.encodeDocuments([], 8), /texts is empty/);
    await assert.rejects(json.encodeDocuments(['ok', 3 as unknown as string], 8), /texts\[1\] is not a string/);
    await assert.rejects(json.encodeQueries(['ok', '  ']), /texts\[1\] is empty/);
    await assert.rejects(json.encodeDocuments(['ok'], 1), /maxLength/);
    const b = await json.encodeDocuments([''], 8, { allowEmpty: true });
    assert.deepEqual([...b.inputIds], [CLS, SEP]);
  });

  it('rejects missing and malformed files naming them', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-tok-'));
    try {
      assert.throws(() => TextTokenizer.fromFile(path.join(dir, 'tokenizer.json')), /tokenizer\.json does not exist/);
      assert.throws(() => TextTokenizer.fromDir(dir), /neither tokenizer\.json nor vocab\.txt/);
      fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": ');
      assert.throws(() => TextTokenizer.fromFile(path.join(dir, 'tokenizer.json')), /tokenizer\.json is not a valid tokenizer\.json/);
      fs.writeFileSync(path.join(dir, 'vocab.txt'), '[PAD]\n[UNK]\nthe\nthe\n');
      assert.throws(() => TextTokenizer.fromFile(path.join(dir, 'vocab.txt')), /vocab\.txt: token 'the' appears twice \(lines 3 and 4\)/);
      fs.writeFileSync(path.join(dir, 'vocab.txt'), '[PAD]\n[UNK]\nthe\n');
      assert.throws(() => TextTokenizer.fromFile(path.join(dir, 'vocab.txt')), /has no \[CLS\] token/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
