import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { csrFromRows, type Csr } from '../../lib/sparse/csr';
import { csrFileInfo, CsrFileWriter, readCsrFile, readCsrFileAll } from '../../lib/sparse/csr-file';
import { crc32 } from 'zlib';

import { rng } from '../helpers';

function batch(next: () => number, rows: number, start: number): { csr: Csr; ids: string[] } {
  const data: Map<number, number>[] = [];
  for (let r = 0; r < rows; r++) {
    const row = new Map<number, number>();
    for (let i = Math.floor(next() * 8); i > 0; i--) row.set(Math.floor(next() * 100), Math.fround(next() * 3));
    data.push(row);
  }
  return { csr: csrFromRows(data, 100), ids: Array.from({ length: rows }, (_, i) => `doc-${start + i}-ü`) };
}

describe('binary CSR file', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l0sparse-csr-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('round-trips batches, streams them back and reports totals', () => {
    const next = rng(1);
    const file = path.join(dir, 'v.csr');
    const batches = [batch(next, 5, 0), batch(next, 0, 5), batch(next, 7, 5)];
    const w = CsrFileWriter.open(file, { numCols: 100 });
    for (const b of batches) w.append(b.csr, b.ids);
    w.close();
    const back = [...readCsrFile(file)];
    assert.strictEqual(back.length, 3);
    back.forEach((b, i) => {
      assert.deepStrictEqual(b.ids, batches[i].ids);
      assert.deepStrictEqual(b.csr, batches[i].csr);
    });
    const all = readCsrFileAll(file);
    assert.strictEqual(all.ids.length, 12);
    assert.deepStrictEqual(all.csr.indices, Int32Array.from([...batches[0].csr.indices, ...batches[2].csr.indices]));
    assert.deepStrictEqual(csrFileInfo(file), { numCols: 100, rows: 12, nnz: all.csr.indices.length, records: 3, uncommittedBytes: 0 });
  });

  it('resumes after a crash: the torn last record is cut off, no doc lost or duplicated', () => {
    const next = rng(2);
    const file = path.join(dir, 'v.csr');
    const b1 = batch(next, 4, 0), b2 = batch(next, 6, 4), b3 = batch(next, 3, 10);
    const w = CsrFileWriter.open(file, { numCols: 100 });
    w.append(b1.csr, b1.ids);
    w.append(b2.csr, b2.ids);
    w.close();
    const full = fs.statSync(file).size;
    fs.truncateSync(file, full - 5);  // the second record was half written when the process died
    assert.throws(() => [...readCsrFile(file)], /truncated record .* at byte/);
    const r = CsrFileWriter.open(file, { numCols: 100, mode: 'resume' });
    assert.strictEqual(r.resumedRows, 4);
    assert.ok(r.truncatedBytes > 0);
    assert.ok(r.has('doc-3-ü') && !r.has('doc-4-ü'));
    assert.throws(() => r.append(b1.csr, b1.ids), /duplicate document id 'doc-0-ü'/);
    r.append(b2.csr, b2.ids);
    r.append(b3.csr, b3.ids);
    r.close();
    assert.deepStrictEqual(readCsrFileAll(file).ids, [...b1.ids, ...b2.ids, ...b3.ids]);
    // Resuming a clean file changes nothing.
    const again = CsrFileWriter.open(file, { numCols: 100, mode: 'resume' });
    assert.strictEqual(again.resumedRows, 13);
    assert.strictEqual(again.truncatedBytes, 0);
    again.close();
    assert.throws(() => CsrFileWriter.open(file, { numCols: 99, mode: 'resume' }), /numCols 100/);
    assert.throws(() => CsrFileWriter.open(file, { numCols: 100 }), /exists/);
  });

  it('ignores a complete record the header has not counted yet (crash between the two writes), and resume keeps it', () => {
    const next = rng(4);
    const file = path.join(dir, 'v.csr');
    const b1 = batch(next, 3, 0), b2 = batch(next, 4, 3);
    const w = CsrFileWriter.open(file, { numCols: 100 });
    w.append(b1.csr, b1.ids);
    const headerAfterFirst = fs.readFileSync(file).subarray(0, 48);
    w.append(b2.csr, b2.ids);
    w.close();
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, headerAfterFirst, 0, 48, 0);  // the second header write never happened
    fs.closeSync(fd);
    const info = csrFileInfo(file);
    assert.strictEqual(info.rows, 3);
    assert.ok(info.uncommittedBytes > 0);
    assert.deepStrictEqual(readCsrFileAll(file).ids, b1.ids);
    const r = CsrFileWriter.open(file, { numCols: 100, mode: 'resume' });
    assert.strictEqual(r.resumedRows, 7);
    assert.strictEqual(r.truncatedBytes, 0);
    r.close();
    assert.deepStrictEqual(csrFileInfo(file), { numCols: 100, rows: 7, nnz: b1.csr.indices.length + b2.csr.indices.length, records: 2, uncommittedBytes: 0 });
  });

  it('rejects damaged files with clear errors and never trusts a lying header', () => {
    const next = rng(3);
    const file = path.join(dir, 'v.csr');
    const w = CsrFileWriter.open(file, { numCols: 100 });
    const b = batch(next, 6, 0);
    w.append(b.csr, b.ids);
    w.close();
    const bytes = fs.readFileSync(file);
    const flip = (pos: number) => { const c = Buffer.from(bytes); c[pos] ^= 0x40; fs.writeFileSync(file, c); };
    flip(3);
    assert.throws(() => [...readCsrFile(file)], /bad magic/);
    flip(17);
    assert.throws(() => [...readCsrFile(file)], /header \(checksum mismatch\)/);
    flip(bytes.length - 2);
    assert.throws(() => [...readCsrFile(file)], /payload checksum mismatch at byte 48 \(the header promises 1 records, 0 are complete\)/);
    // A record header claiming 2^40 entries (checksum fixed up) must fail on the size check, not allocate.
    const lying = Buffer.from(bytes);
    lying.writeBigUInt64LE(1n << 40n, 48 + 8);
    lying.writeUInt32LE(crc32(lying.subarray(48, 76)), 76);
    fs.writeFileSync(file, lying);
    assert.throws(() => [...readCsrFile(file)], /truncated record \(needs \d+ payload bytes/);
    // A file header whose totals disagree with its records (checksum fixed up).
    const wrongTotals = Buffer.from(bytes);
    wrongTotals.writeBigUInt64LE(1n << 40n, 24);
    wrongTotals.writeUInt32LE(crc32(wrongTotals.subarray(0, 44)), 44);
    fs.writeFileSync(file, wrongTotals);
    assert.throws(() => csrFileInfo(file), /records hold 6 rows .* the header says 1099511627776/);
    fs.writeFileSync(file, 'short');
    assert.throws(() => [...readCsrFile(file)], /not an l0sparse CSR file/);
  });

  it('validates appended batches', () => {
    const file = path.join(dir, 'v.csr');
    const w = CsrFileWriter.open(file, { numCols: 10 });
    const good = csrFromRows([[[1, 1]]], 10);
    assert.throws(() => w.append(good, ['a', 'b']), /2 ids for 1 rows/);
    assert.throws(() => w.append({ ...good, values: new Float32Array([NaN]) }, ['a']), /finite/);
    assert.throws(() => w.append(csrFromRows([[[1, 1]]], 11), ['a']), /numCols/);
    assert.throws(() => w.append(good, ['']), /non-empty/);
    w.append(good, ['a']);
    w.close();
    assert.throws(() => w.append(good, ['b']), /closed/);
    assert.strictEqual(csrFileInfo(file).rows, 1);
  });
});
