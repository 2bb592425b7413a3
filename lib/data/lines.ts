import * as fs from 'fs';
import * as readline from 'readline';

export interface NumberedLine {
  text: string;
  /** 1-based line number in the file. */
  line: number;
}

/**
 * Streams the lines of a text file with their numbers, accepting LF and CRLF endings.
 * Reading line by line keeps memory flat for corpora far larger than the test collections.
 */
export async function* readLines(file: string): AsyncGenerator<NumberedLine> {
  const input = fs.createReadStream(file, { encoding: 'utf8' });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      // A UTF-8 byte-order mark would otherwise become part of the first field.
      yield { text: line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, line };
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

/** Throws a clear error (rather than an ENOENT stack) when a required input file is missing. */
export function requireFile(file: string, what: string): void {
  if (!fs.existsSync(file)) throw new Error(`${what} not found: ${file}`);
  if (!fs.statSync(file).isFile()) throw new Error(`${what} is not a file: ${file}`);
}
