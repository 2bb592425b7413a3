import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

import { TextTokenizer } from '../../lib/tokenizer/text-tokenizer';
import { sharedData } from '../helpers';

// Independent truth: Anserini's bert-base-uncased WordPiece tokenization of the 300 SciFact test queries.
function readTsvGz(file: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').split('\n')) {
    if (line === '') continue;
    const tab = line.indexOf('\t');
    rows.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return rows;
}

describe('tokenizer: Anserini WordPiece SciFact queries', function () {
  const data = sharedData();
  before(function () {
    if (!data) { console.log('    skipped: shared data (../shared/data) is absent'); this.skip(); }
  });

  for (const file of ['tokenizer.json', 'vocab.txt']) {
    it(`reproduces all 300 test queries from ${file}`, async () => {
      const ref = path.join(data!, 'scifact', 'reference');
      const queries = readTsvGz(path.join(ref, 'topics.beir-v1.0.0-scifact.test.tsv.gz'));
      const expected = readTsvGz(path.join(ref, 'topics.beir-v1.0.0-scifact.test.wp.tsv.gz'));
      assert.equal(queries.size, 300);
      const tokenizer = TextTokenizer.fromFile(path.join(data!, 'bert-base-uncased', file));
      assert.equal(tokenizer.source, file);
      let same = 0;
      const mismatches: string[] = [];
      for (const [id, text] of queries) {
        const got = (await tokenizer.tokenize(text)).join(' ');
        if (got === expected.get(id)) same++;
        else if (mismatches.length < 3) mismatches.push(`${id}: ${got} ≠ ${expected.get(id)}`);
      }
      assert.equal(same, 300, mismatches.join('\n'));
    });
  }
});
