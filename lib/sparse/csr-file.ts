/**
 * Binary CSR file of document vectors, append-friendly so that corpus encoding can resume.
 *
 * Layout (little-endian):
 *   file header, 48 bytes:  magic "L0SPCSR\0" | u32 version (1) | u32 header size (48) | u64 numCols
 *                           | u64 rows | u64 nnz | u32 records | u32 CRC-32 of the 44 bytes before it
 *   then records, one per appended batch:
 *     record header, 32 bytes: magic "BTCH" | u32 rows | u64 nnz | u64 id bytes | u32 CRC-32 of the payload
 *                              | u32 CRC-32 of the 28 bytes before it
 *     payload: row offsets (rows + 1) x u64 | id offsets (rows + 1) x u64 | column ids nnz x u32
 *              | weights nnz x f32 | ids (UTF-8, id bytes)
 * A record is complete when both checksums match. The header's totals count the committed records: an
 * append writes and fsyncs the record, then rewrites and fsyncs the header. Readers check that the first
 * `records` records are complete and add up to the totals, and ignore anything after them (the tail a
 * crash mid-append leaves, reported by csrFileInfo as uncommittedBytes). Reopening with `resume` keeps
 * every complete record, cuts the file after the last one, rewrites the totals and continues (no lost,
 * no duplicated documents).
 */
import * as fs from 'fs';
import { crc32 } from 'zlib';

import { type Csr, validateCsr } from './csr';

const FILE_MAGIC = Buffer.from('L0SPCSR\0', 'latin1');
const RECORD_MAGIC = Buffer.from('BTCH', 'latin1');
const VERSION = 1;
const FILE_HEADER = 48;
const RECORD_HEADER = 32;

export class CsrFileError extends Error {
  override name = 'CsrFileError';
}

export interface CsrBatch {
  csr: Csr;
  ids: string[];
}

interface FileHeader {
  numCols: number;
  rows: number;
  nnz: number;
  records: number;
}

function fileHeader(h: FileHeader): Buffer {
  const b = Buffer.alloc(FILE_HEADER);
  FILE_MAGIC.copy(b, 0);
  b.writeUInt32LE(VERSION, 8);
  b.writeUInt32LE(FILE_HEADER, 12);
  b.writeBigUInt64LE(BigInt(h.numCols), 16);
  b.writeBigUInt64LE(BigInt(h.rows), 24);
  b.writeBigUInt64LE(BigInt(h.nnz), 32);
  b.writeUInt32LE(h.records, 40);
  b.writeUInt32LE(crc32(b.subarray(0, 44)), 44);
  return b;
}

function readFileHeader(fd: number, path: string): FileHeader {
  const size = fs.fstatSync(fd).size;
  if (size < FILE_HEADER) throw new CsrFileError(`${path}: not an l0sparse CSR file (only ${size} bytes)`);
  const b = Buffer.alloc(FILE_HEADER);
  fs.readSync(fd, b, 0, FILE_HEADER, 0);
  if (!b.subarray(0, 8).equals(FILE_MAGIC)) throw new CsrFileError(`${path}: not an l0sparse CSR file (bad magic)`);
  const version = b.readUInt32LE(8);
  if (version !== VERSION) throw new CsrFileError(`${path}: CSR file version ${version} is not supported (this build reads ${VERSION})`);
  if (b.readUInt32LE(12) !== FILE_HEADER || crc32(b.subarray(0, 44)) !== b.readUInt32LE(44))
    throw new CsrFileError(`${path}: corrupt CSR file header (checksum mismatch)`);
  const numCols = Number(b.readBigUInt64LE(16));
  if (numCols < 1 || numCols > 0x7fffffff) throw new CsrFileError(`${path}: corrupt CSR file header (numCols ${numCols})`);
  const rows = b.readBigUInt64LE(24), nnz = b.readBigUInt64LE(32);
  if (rows > BigInt(Number.MAX_SAFE_INTEGER) || nnz > BigInt(Number.MAX_SAFE_INTEGER))
    throw new CsrFileError(`${path}: corrupt CSR file header (rows ${rows}, nnz ${nnz})`);
  return { numCols, rows: Number(rows), nnz: Number(nnz), records: b.readUInt32LE(40) };
}

function encodeRecord(csr: Csr, ids: string[]): Buffer {
  const rows = csr.indptr.length - 1;
  const nnz = csr.indices.length;
  const idBufs = ids.map((id) => Buffer.from(id, 'utf8'));
  const idBytes = idBufs.reduce((s, b) => s + b.length, 0);
  const payload = Buffer.alloc((rows + 1) * 16 + nnz * 8 + idBytes);
  let o = 0;
  for (let r = 0; r <= rows; r++, o += 8) payload.writeBigUInt64LE(BigInt(csr.indptr[r]), o);
  let idOff = 0;
  payload.writeBigUInt64LE(0n, o);
  o += 8;
  for (const b of idBufs) {
    idOff += b.length;
    payload.writeBigUInt64LE(BigInt(idOff), o);
    o += 8;
  }
  Buffer.from(csr.indices.buffer, csr.indices.byteOffset, nnz * 4).copy(payload, o);
  o += nnz * 4;
  Buffer.from(csr.values.buffer, csr.values.byteOffset, nnz * 4).copy(payload, o);
  o += nnz * 4;
  for (const b of idBufs) { b.copy(payload, o); o += b.length; }
  const head = Buffer.alloc(RECORD_HEADER);
  RECORD_MAGIC.copy(head, 0);
  head.writeUInt32LE(rows, 4);
  head.writeBigUInt64LE(BigInt(nnz), 8);
  head.writeBigUInt64LE(BigInt(idBytes), 16);
  head.writeUInt32LE(crc32(payload), 24);
  head.writeUInt32LE(crc32(head.subarray(0, 28)), 28);
  return Buffer.concat([head, payload]);
}

interface RecordHead { rows: number; nnz: number; idBytes: number; payloadCrc: number; payloadBytes: number }

/** Parses a record header; null with a reason when it is incomplete or damaged. */
function parseRecordHead(head: Buffer, remaining: number): RecordHead | string {
  if (head.length < RECORD_HEADER) return 'truncated record header';
  if (!head.subarray(0, 4).equals(RECORD_MAGIC)) return 'bad record magic';
  if (crc32(head.subarray(0, 28)) !== head.readUInt32LE(28)) return 'record header checksum mismatch';
  const rows = head.readUInt32LE(4);
  const nnz = head.readBigUInt64LE(8);
  const idBytes = head.readBigUInt64LE(16);
  // Checked against the bytes that are really there before anything is allocated.
  const payloadBytes = BigInt(rows + 1) * 16n + nnz * 8n + idBytes;
  if (payloadBytes > BigInt(remaining)) return `truncated record (needs ${payloadBytes} payload bytes, ${remaining} remain)`;
  return { rows, nnz: Number(nnz), idBytes: Number(idBytes), payloadCrc: head.readUInt32LE(24), payloadBytes: Number(payloadBytes) };
}

function decodeRecord(h: RecordHead, payload: Buffer, numCols: number, where: string): CsrBatch {
  if (crc32(payload) !== h.payloadCrc) throw new CsrFileError(`${where}: record payload checksum mismatch`);
  const indptr = new Int32Array(h.rows + 1);
  let o = 0;
  for (let r = 0; r <= h.rows; r++, o += 8) {
    const v = payload.readBigUInt64LE(o);
    if (v > BigInt(h.nnz)) throw new CsrFileError(`${where}: row offset ${v} beyond ${h.nnz} entries`);
    indptr[r] = Number(v);
  }
  const idOffsets: number[] = [];
  for (let r = 0; r <= h.rows; r++, o += 8) idOffsets.push(Number(payload.readBigUInt64LE(o)));
  const indices = new Int32Array(h.nnz);
  Buffer.from(indices.buffer).set(payload.subarray(o, o + h.nnz * 4));
  o += h.nnz * 4;
  const values = new Float32Array(h.nnz);
  Buffer.from(values.buffer).set(payload.subarray(o, o + h.nnz * 4));
  o += h.nnz * 4;
  if (idOffsets[0] !== 0 || idOffsets[h.rows] !== h.idBytes) throw new CsrFileError(`${where}: id offsets do not span the id bytes`);
  const ids: string[] = [];
  for (let r = 0; r < h.rows; r++) {
    const a = idOffsets[r], b = idOffsets[r + 1];
    if (!(a <= b && b <= h.idBytes)) throw new CsrFileError(`${where}: id offsets out of order at row ${r}`);
    ids.push(payload.toString('utf8', o + a, o + b));
  }
  const csr: Csr = { indptr, indices, values, numCols };
  try {
    validateCsr(csr, where);
  } catch (e) {
    throw new CsrFileError((e as Error).message);
  }
  return { csr, ids };
}

/** Scans complete records from `offset`; stops at the first incomplete/damaged one. */
function* scanRecords(fd: number, path: string, numCols: number, decode: boolean):
  Generator<{ offset: number; end: number; head: RecordHead; batch?: CsrBatch } | { offset: number; damaged: string }> {
  const size = fs.fstatSync(fd).size;
  let offset = FILE_HEADER;
  const head = Buffer.alloc(RECORD_HEADER);
  while (offset < size) {
    const got = fs.readSync(fd, head, 0, RECORD_HEADER, offset);
    const h = parseRecordHead(head.subarray(0, got), size - offset - got);
    if (typeof h === 'string') { yield { offset, damaged: h }; return; }
    const payload = Buffer.alloc(h.payloadBytes);
    fs.readSync(fd, payload, 0, h.payloadBytes, offset + RECORD_HEADER);
    const where = `${path} (record at byte ${offset})`;
    if (crc32(payload) !== h.payloadCrc) { yield { offset, damaged: 'record payload checksum mismatch' }; return; }
    const end = offset + RECORD_HEADER + h.payloadBytes;
    yield { offset, end, head: h, batch: decode ? decodeRecord(h, payload, numCols, where) : undefined };
    offset = end;
  }
}

/** Whether `path` starts with this format's magic (the cheap test that tells a CSR file from JSONL vectors). */
export function isCsrFile(path: string): boolean {
  const fd = fs.openSync(path, 'r');
  try {
    const head = Buffer.alloc(FILE_MAGIC.length);
    return fs.readSync(fd, head, 0, head.length, 0) === head.length && head.equals(FILE_MAGIC);
  } finally {
    fs.closeSync(fd);
  }
}

export interface CsrFileInfo {
  numCols: number;
  rows: number;
  nnz: number;
  records: number;
  /** Bytes after the committed records (an append interrupted by a crash); readers ignore them. */
  uncommittedBytes: number;
}

/**
 * The committed records (the header's count), each checked; afterwards the totals are checked too.
 * Throws a CsrFileError naming the byte offset of a missing or damaged committed record.
 */
function* committedRecords(path: string, decode: boolean):
  Generator<{ header: FileHeader; head: RecordHead; end: number; size: number; batch?: CsrBatch }, { header: FileHeader; end: number; size: number }> {
  const fd = fs.openSync(path, 'r');
  try {
    const header = readFileHeader(fd, path);
    const size = fs.fstatSync(fd).size;
    let rows = 0, nnz = 0, records = 0, end = FILE_HEADER;
    for (const rec of scanRecords(fd, path, header.numCols, decode)) {
      if (records === header.records) break;
      if ('damaged' in rec) {
        throw new CsrFileError(`${path}: ${rec.damaged} at byte ${rec.offset} (the header promises ${header.records} records, ` +
          `${records} are complete)`);
      }
      rows += rec.head.rows;
      nnz += rec.head.nnz;
      records++;
      end = rec.end;
      yield { header, head: rec.head, end, size, batch: rec.batch };
    }
    if (records !== header.records)
      throw new CsrFileError(`${path}: truncated: the header promises ${header.records} records, the file ends after ${records}`);
    if (rows !== header.rows || nnz !== header.nnz)
      throw new CsrFileError(`${path}: corrupt CSR file: records hold ${rows} rows and ${nnz} entries, the header says ${header.rows} and ${header.nnz}`);
    return { header, end, size };
  } finally {
    fs.closeSync(fd);
  }
}

/** Streams the batches of a CSR file, one per committed record (decoded one at a time). */
export function* readCsrFile(path: string): Generator<CsrBatch> {
  for (const rec of committedRecords(path, true)) yield rec.batch!;
}

/** Totals of a CSR file (reads every committed record and checks its checksums; throws on damage). */
export function csrFileInfo(path: string): CsrFileInfo {
  const it = committedRecords(path, false);
  for (let r = it.next(); ; r = it.next()) {
    if (r.done) {
      const { header, end, size } = r.value;
      return { numCols: header.numCols, rows: header.rows, nnz: header.nnz, records: header.records, uncommittedBytes: size - end };
    }
  }
}

/** The whole file as one CSR batch. */
export function readCsrFileAll(path: string): CsrBatch & { numCols: number } {
  const batches: CsrBatch[] = [];
  const it = committedRecords(path, true);
  for (let r = it.next(); ; r = it.next()) {
    if (r.done) return { ...concatCsr(batches, r.value.header.numCols), numCols: r.value.header.numCols };
    batches.push(r.value.batch!);
  }
}

export function concatCsr(batches: CsrBatch[], numCols: number): CsrBatch {
  const rows = batches.reduce((s, b) => s + b.csr.indptr.length - 1, 0);
  const nnz = batches.reduce((s, b) => s + b.csr.indices.length, 0);
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  const ids: string[] = [];
  let r0 = 0, j0 = 0;
  for (const { csr, ids: bIds } of batches) {
    const n = csr.indptr.length - 1;
    for (let r = 1; r <= n; r++) indptr[r0 + r] = j0 + csr.indptr[r];
    indices.set(csr.indices, j0);
    values.set(csr.values, j0);
    for (const id of bIds) ids.push(id);
    r0 += n;
    j0 += csr.indices.length;
  }
  return { csr: { indptr, indices, values, numCols }, ids };
}

export interface CsrWriterOptions {
  numCols: number;
  /** 'create' (default) fails if the file exists; 'overwrite' starts afresh; 'resume' continues it. */
  mode?: 'create' | 'overwrite' | 'resume';
  /** fsync after every appended batch (default true), so a crash loses at most the batch being written. */
  sync?: boolean;
}

/** Appends batches to a CSR file; see the module comment for the format and resume rules. */
export class CsrFileWriter {
  /** Rows already in the file when it was opened with 'resume'. */
  readonly resumedRows: number;
  /** Bytes of an incomplete last record cut off on resume (0 if the file was clean). */
  readonly truncatedBytes: number;
  private readonly seen: Set<string>;
  private rowsWritten = 0;
  private closed = false;

  private constructor(private readonly fd: number, private readonly path: string, readonly numCols: number,
    private offset: number, ids: string[], truncatedBytes: number, private readonly sync: boolean,
    private readonly totals: FileHeader) {
    this.resumedRows = ids.length;
    this.truncatedBytes = truncatedBytes;
    this.seen = new Set(ids);
  }

  static open(path: string, options: CsrWriterOptions): CsrFileWriter {
    const { numCols, mode = 'create', sync = true } = options;
    if (!Number.isInteger(numCols) || numCols < 1 || numCols > 0x7fffffff) throw new RangeError(`numCols must be an integer in [1, 2^31), got ${numCols}`);
    if (mode === 'resume' && fs.existsSync(path)) {
      const fd = fs.openSync(path, 'r+');
      try {
        const header = readFileHeader(fd, path);
        if (header.numCols !== numCols) throw new CsrFileError(`${path}: the file has numCols ${header.numCols}, resume asked for ${numCols}`);
        // Every complete record is kept, whether or not the header had counted it yet.
        const totals: FileHeader = { numCols, rows: 0, nnz: 0, records: 0 };
        let end = FILE_HEADER;
        const ids: string[] = [];
        for (const rec of scanRecords(fd, path, numCols, true)) {
          if ('damaged' in rec) break;
          for (const id of rec.batch!.ids) ids.push(id);
          totals.rows += rec.head.rows;
          totals.nnz += rec.head.nnz;
          totals.records++;
          end = rec.end;
        }
        const size = fs.fstatSync(fd).size;
        if (size > end) fs.ftruncateSync(fd, end);
        fs.writeSync(fd, fileHeader(totals), 0, FILE_HEADER, 0);
        fs.fsyncSync(fd);
        return new CsrFileWriter(fd, path, numCols, end, ids, size - end, sync, totals);
      } catch (e) {
        fs.closeSync(fd);
        throw e;
      }
    }
    if (mode === 'create' && fs.existsSync(path)) throw new CsrFileError(`${path} exists (use mode 'overwrite' or 'resume')`);
    const fd = fs.openSync(path, 'w');
    const totals: FileHeader = { numCols, rows: 0, nnz: 0, records: 0 };
    fs.writeSync(fd, fileHeader(totals), 0, FILE_HEADER, 0);
    if (sync) fs.fsyncSync(fd);
    return new CsrFileWriter(fd, path, numCols, FILE_HEADER, [], 0, sync, totals);
  }

  /** Rows in the file (resumed + appended). */
  get rows(): number {
    return this.resumedRows + this.rowsWritten;
  }

  has(id: string): boolean {
    return this.seen.has(id);
  }

  /** Appends one batch as one record. Ids must be new; the CSR must be valid with weights >= 0. */
  append(csr: Csr, ids: string[]): void {
    if (this.closed) throw new CsrFileError(`${this.path}: writer is closed`);
    if (csr.numCols !== this.numCols) throw new RangeError(`append: batch numCols ${csr.numCols} != file numCols ${this.numCols}`);
    validateCsr(csr, 'append');
    const rows = csr.indptr.length - 1;
    if (ids.length !== rows) throw new RangeError(`append: ${ids.length} ids for ${rows} rows`);
    const batch = new Set<string>();
    for (const id of ids) {
      if (typeof id !== 'string' || id.length === 0) throw new RangeError('append: ids must be non-empty strings');
      if (this.seen.has(id) || batch.has(id)) throw new RangeError(`append: duplicate document id '${id}'`);
      batch.add(id);
    }
    for (let j = 0; j < csr.values.length; j++) {
      if (!(csr.values[j] >= 0) || !Number.isFinite(csr.values[j])) throw new RangeError(`append: weight ${csr.values[j]} must be finite and >= 0`);
    }
    const record = encodeRecord(csr, ids);
    const totals = { ...this.totals, rows: this.totals.rows + rows, nnz: this.totals.nnz + csr.indices.length, records: this.totals.records + 1 };
    if (totals.records > 0xffffffff) throw new CsrFileError(`${this.path}: a CSR file holds at most 2^32 - 1 batches`);
    try {
      let written = 0;
      while (written < record.length) written += fs.writeSync(this.fd, record, written, record.length - written, this.offset + written);
      if (this.sync) fs.fsyncSync(this.fd);  // the record is durable before the header counts it
      fs.writeSync(this.fd, fileHeader(totals), 0, FILE_HEADER, 0);
      if (this.sync) fs.fsyncSync(this.fd);
    } catch (e) {
      fs.ftruncateSync(this.fd, this.offset);  // leave no partial record behind (e.g. disk full)
      fs.writeSync(this.fd, fileHeader(this.totals), 0, FILE_HEADER, 0);
      throw e;
    }
    Object.assign(this.totals, totals);
    this.offset += record.length;
    for (const id of ids) this.seen.add(id);
    this.rowsWritten += rows;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }
}
