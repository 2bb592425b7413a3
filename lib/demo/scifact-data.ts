/**
 * Where the demo's SciFact comes from: `--data <dir>`, else ../shared/data/scifact when present, else the
 * public BEIR archive, downloaded once into a cache (~/.cache/l0sparse or $L0SPARSE_CACHE), checked against
 * the MD5 that BEIR publishes for it (beir-cellar/beir README) and its known size, then unpacked.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import { partialDirFor, replaceDir } from '../io';
import { downloadFile } from '../setup/download';
import { cacheDir } from '../setup/paths';
import { byteProgress } from '../setup/progress';
import { extractZip } from '../setup/unzip';

export const SCIFACT_URL = 'https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/scifact.zip';
/** Published by BEIR (README dataset table). */
export const SCIFACT_MD5 = '5f7d1de60b170fc8027bb7898e2efca1';
export const SCIFACT_BYTES = 2_816_079;

export { cacheDir };

function isBeirDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'corpus.jsonl')) && fs.existsSync(path.join(dir, 'queries.jsonl')) &&
    fs.existsSync(path.join(dir, 'qrels', 'test.tsv'));
}

export interface ResolveDataOptions {
  data?: string;
  progress?: boolean;
  /** Where to look for a local copy before downloading (default: ../shared/data/scifact from the cwd). */
  localCandidates?: string[];
  url?: string;
  md5?: string;
  log?: (line: string) => void;
}

/** Returns a BEIR SciFact folder, downloading and unpacking it into the cache when needed. */
export async function resolveScifact(options: ResolveDataOptions = {}): Promise<{ dir: string; source: 'given' | 'local' | 'cache' | 'downloaded' }> {
  if (options.data) {
    if (!isBeirDir(options.data)) throw new Error(`--data ${options.data} is not a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv)`);
    return { dir: path.resolve(options.data), source: 'given' };
  }
  const candidates = options.localCandidates ?? [path.resolve('..', 'shared', 'data', 'scifact')];
  for (const c of candidates) if (isBeirDir(c)) return { dir: c, source: 'local' };
  const root = path.join(cacheDir(), 'beir');
  const dir = path.join(root, 'scifact');
  if (isBeirDir(dir) && fs.existsSync(path.join(root, 'scifact.zip.md5'))) return { dir, source: 'cache' };
  fs.mkdirSync(root, { recursive: true });
  const zip = path.join(root, 'scifact.zip');
  const md5 = options.md5 ?? SCIFACT_MD5;
  if (!fs.existsSync(zip) || (await fileMd5(zip)) !== md5) {
    options.log?.(`downloading BEIR SciFact (${(SCIFACT_BYTES / 1e6).toFixed(1)} MB) from ${options.url ?? SCIFACT_URL} into ${root}`);
    await download(options.url ?? SCIFACT_URL, zip, options.progress !== false);
    const got = await fileMd5(zip);
    if (got !== md5) {
      fs.renameSync(zip, `${zip}.bad`);
      throw new Error(`${zip}: md5 ${got} but BEIR publishes ${md5}; the download is kept as ${zip}.bad. Retry, or pass --data <dir>`);
    }
  }
  const tmp = partialDirFor(dir);
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    await unzip(zip, tmp);
    const inner = isBeirDir(path.join(tmp, 'scifact')) ? path.join(tmp, 'scifact') : tmp;
    if (!isBeirDir(inner)) throw new Error(`${zip} does not hold a BEIR folder`);
    replaceDir(inner, dir);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  fs.writeFileSync(path.join(root, 'scifact.zip.md5'), `${md5}  scifact.zip\n`);
  return { dir, source: 'downloaded' };
}

export async function fileMd5(file: string): Promise<string> {
  const hash = crypto.createHash('md5');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The archive into `dest` (lib/setup/download.ts: status checked, retries, proxies, atomic), with a byte progress display. */
export async function download(url: string, dest: string, progress: boolean): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const bar = byteProgress('SciFact', log, progress);
  try {
    await downloadFile({ url, dest, log, onStart: bar.onStart, onProgress: bar.onProgress });
  } catch (e) {
    throw new Error(`${(e as Error).message} (no network? pass --data <BEIR scifact dir>)`);
  } finally {
    bar.stop();
  }
}

/** Extracts every file of a zip archive under `dest`, refusing entries that would escape it (lib/setup/unzip.ts). */
export async function unzip(zipFile: string, dest: string): Promise<void> {
  await extractZip(zipFile, dest);
}
