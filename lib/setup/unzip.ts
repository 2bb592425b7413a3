/**
 * Zip extraction with yauzl, safe against hostile archives ("zip slip"): no entry may land outside the
 * destination, whether through an absolute name, "..", or a symbolic link pointing out of it. Unix file
 * modes are kept (LibTorch ships executables and symlinked sonames in some builds).
 */
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';

import * as yauzl from 'yauzl';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/** `name` resolved under `root`, or an error naming the entry when it would escape. */
export function safeTarget(root: string, name: string, zipFile: string): string {
  const base = path.resolve(root);
  const target = path.resolve(base, name);
  if (path.isAbsolute(name) || name.split(/[\\/]/).includes('..') || (target !== base && !target.startsWith(base + path.sep))) {
    throw new Error(`${zipFile}: entry '${name}' would be written outside ${base}; refusing the archive`);
  }
  return target;
}

function openZip(zipFile: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipFile, { lazyEntries: true, autoClose: true }, (err, zip) => {
      if (err || !zip) reject(new Error(`${zipFile}: not a readable zip archive (${err?.message ?? 'no archive'})`));
      else resolve(zip);
    });
  });
}

function readStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => (err || !stream ? reject(err ?? new Error('no stream')) : resolve(stream)));
  });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Extracts every entry of `zipFile` under `dest` (created when missing); returns the number of files written. */
export async function extractZip(zipFile: string, dest: string): Promise<number> {
  fs.mkdirSync(dest, { recursive: true });
  const zip = await openZip(zipFile);
  let files = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', (e: Error) => reject(new Error(`${zipFile}: ${e.message}`)));
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        (async () => {
          const target = safeTarget(dest, entry.fileName, zipFile);
          const mode = (entry.externalFileAttributes >>> 16) & 0xffff;
          if (entry.fileName.endsWith('/')) {
            fs.mkdirSync(target, { recursive: true });
          } else if ((mode & S_IFMT) === S_IFLNK) {
            const link = await readAll(await readStream(zip, entry));
            safeTarget(dest, path.relative(dest, path.resolve(path.dirname(target), link)), zipFile);
            if (path.isAbsolute(link)) throw new Error(`${zipFile}: symlink '${entry.fileName}' -> '${link}' is absolute; refusing the archive`);
            fs.mkdirSync(path.dirname(target), { recursive: true });
            fs.rmSync(target, { force: true });
            fs.symlinkSync(link, target);
            files++;
          } else {
            fs.mkdirSync(path.dirname(target), { recursive: true });
            await pipeline(await readStream(zip, entry), fs.createWriteStream(target, { mode: (mode & 0o777) || 0o644 }));
            files++;
          }
          zip.readEntry();
        })().catch(reject);
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  return files;
}
