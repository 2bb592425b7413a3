import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { loadBeir, readBeirCorpus, readBeirQrels, readQrelsAuto } from '../../lib/data/beir';
import { readJsonl } from '../../lib/data/jsonl';
import { formatTrecRunLine, readTrecQrels, readTrecRun, writeTrecRun } from '../../lib/data/trec';

/** Writes files into a fresh temporary folder; returns its path. */
function tempDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-data-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const CORPUS = [
  '{"_id": "d1", "title": "T1", "text": "alpha"}',
  '{"_id": "d2", "title": "T2", "text": "beta"',
  '',
  '{"_id": "d3", "text": "gamma"}',
  '["not an object"]',
].join('\n');

describe('data readers', () => {
  it('fails on a malformed JSONL line, naming file and line', async () => {
    const dir = tempDir({ 'corpus.jsonl': CORPUS });
    const file = path.join(dir, 'corpus.jsonl');
    await assert.rejects(collect(readBeirCorpus(file)), (e: Error) => e.message.startsWith(`${file}:2: invalid JSON`));
  });

  it('skips malformed lines only when asked, and reports every one', async () => {
    const dir = tempDir({ 'corpus.jsonl': CORPUS });
    const file = path.join(dir, 'corpus.jsonl');
    const warnings: string[] = [];
    const report = { file, records: 0, skipped: [] as { line: number | null; reason: string }[] };
    const docs = await collect(readBeirCorpus(file, { onBadLine: 'skip', warn: (m) => warnings.push(m) }, report as never));
    assert.deepStrictEqual(docs.map((d) => [d.id, d.title, d.text]), [['d1', 'T1', 'alpha'], ['d3', '', 'gamma']]);
    assert.deepStrictEqual(report.skipped.map((p) => p.line), [2, 5]);
    assert.strictEqual(report.records, 2);
    assert.strictEqual(warnings.length, 2);
    assert.match(warnings[1], /corpus\.jsonl:5: skipped line: expected a JSON object/);
  });

  it('rejects an unknown bad-line policy and missing files clearly', async () => {
    const dir = tempDir({ 'a.jsonl': '{}\n' });
    await assert.rejects(collect(readJsonl(path.join(dir, 'a.jsonl'), () => 'x', { onBadLine: 'ignore' as never })), /onBadLine must be 'fail' or 'skip'/);
    await assert.rejects(collect(readJsonl(path.join(dir, 'missing.jsonl'), () => 'x')), /JSONL file not found: .*missing\.jsonl/);
  });

  it('accepts CRLF line endings and a UTF-8 byte-order mark', async () => {
    const dir = tempDir({ 'c.jsonl': '\ufeff{"_id":"d1","text":"a"}\r\n{"_id":2,"title":"t","text":"b"}\r\n' });
    const docs = await collect(readBeirCorpus(path.join(dir, 'c.jsonl')));
    assert.deepStrictEqual(docs, [{ id: 'd1', title: '', text: 'a' }, { id: '2', title: 't', text: 'b' }]);
  });

  it('rejects duplicate document ids', async () => {
    const dir = tempDir({ 'c.jsonl': '{"_id":"d1","text":"a"}\n{"_id":"d1","text":"b"}\n' });
    await assert.rejects(collect(readBeirCorpus(path.join(dir, 'c.jsonl'))), /c\.jsonl:2: duplicate document id 'd1'/);
  });

  it('reports (or on request fails on) judgments of documents not in the corpus', async () => {
    const dir = tempDir({
      'corpus.jsonl': '{"_id":"d1","title":"","text":"a"}\n',
      'queries.jsonl': '{"_id":"q1","text":"x"}\n',
      'qrels/test.tsv': 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td7\t1\nq2\td1\t1\n',
    });
    const warnings: string[] = [];
    const ds = await loadBeir(dir, 'test', { warn: (m) => warnings.push(m) });
    assert.strictEqual(ds.problems.length, 2);
    assert.match(ds.problems[0].reason, /1 judgment\(s\) name documents not in .*q1\/d7/);
    assert.match(ds.problems[1].reason, /1 judged quer\(ies\) missing .*q2/);
    assert.strictEqual(warnings.length, 2);
    assert.deepStrictEqual(ds.queries, [{ id: 'q1', text: 'x' }]);
    await assert.rejects(loadBeir(dir, 'test', { onUnknownQrelsDoc: 'fail', warn: () => undefined }), /test\.tsv: 1 judgment\(s\) name documents/);
  });

  it('reads BEIR and TREC qrels, rejecting bad relevance and repeats with file:line', async () => {
    const dir = tempDir({
      'beir.tsv': 'query-id\tcorpus-id\tscore\nq1\td1\t2\n',
      'trec.txt': 'q1 0 d1 2\nq1 0 d2 -1\n',
      'bad.tsv': 'query-id\tcorpus-id\tscore\nq1\td1\thigh\n',
      'twice.txt': 'q1 0 d1 1\nq1 0 d1 0\n',
    });
    assert.deepStrictEqual(await readBeirQrels(path.join(dir, 'beir.tsv')), new Map([['q1', new Map([['d1', 2]])]]));
    assert.deepStrictEqual(await readQrelsAuto(path.join(dir, 'trec.txt')), new Map([['q1', new Map([['d1', 2], ['d2', -1]])]]));
    await assert.rejects(readBeirQrels(path.join(dir, 'bad.tsv')), /bad\.tsv:2: relevance 'high' is not an integer/);
    await assert.rejects(readTrecQrels(path.join(dir, 'twice.txt')), /twice\.txt:2: document 'd1' is judged twice for query 'q1'/);
  });

  it('writes TREC runs that read back with the same scores and ties', async () => {
    const dir = tempDir({ 'bad.run': 'q1 Q0 d1 1 abc tag\n', 'short.run': 'q1 Q0 d1 1 2.0\n' });
    const file = path.join(dir, 'out.run');
    const score = Math.fround(7.123456789);
    await writeTrecRun(file, new Map([['q1', [{ docId: 'd2', score }, { docId: 'd1', score }, { docId: 'd3', score: 2 }]]]), 'bm25');
    assert.strictEqual(fs.readFileSync(file, 'utf8'), `q1 Q0 d2 1 7.12345695 bm25\nq1 Q0 d1 2 7.12345695 bm25\nq1 Q0 d3 3 2.0 bm25\n`);
    const { run, tag } = await readTrecRun(file);
    assert.strictEqual(tag, 'bm25');
    assert.deepStrictEqual([...run.get('q1')!.values()].map(Math.fround), [score, score, 2]);
    await assert.rejects(readTrecRun(path.join(dir, 'bad.run')), /bad\.run:1: score 'abc' is not a finite number/);
    await assert.rejects(readTrecRun(path.join(dir, 'short.run')), /short\.run:1: expected 6 columns/);
  });

  it('formats every TREC run line in one place, refusing ids and tags that would shift or drop a column', () => {
    assert.strictEqual(formatTrecRunLine('q1', 'd1', 1, 192, 't'), 'q1 Q0 d1 1 192.0 t');
    assert.strictEqual(formatTrecRunLine('q1', 'd1', 2, 0.5, 't'), 'q1 Q0 d1 2 0.5 t');
    assert.throws(() => formatTrecRunLine('q 1', 'd1', 1, 1, 't'), /cannot contain whitespace/);
    assert.throws(() => formatTrecRunLine('q1', '', 1, 1, 't'), /must be non-empty/);
    assert.throws(() => formatTrecRunLine('q1', 'd1', 1, 1, ''), /run tag must be a non-empty word/);
  });
});
