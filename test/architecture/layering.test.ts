import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

// Layering rules of lib/ (docs/ARCHITECTURE.md, "Layers"), checked on the relative imports of every lib/**/*.ts
// file: `import ... from`, `export ... from`, `import('...')` and `require('...')` with a literal path.
//   (a) the foundations (lib/io, lib/native, lib/sparse, lib/data) never import a job or command module;
//   (b) nothing outside lib/cli imports lib/cli, and nothing in lib/ imports the package entry lib/index.ts;
//   (c) the graph of top-level lib folders has no cycle besides the two that exist today (KNOWN_FOLDER_CYCLES).

const LIB = path.resolve(__dirname, '..', '..', '..', 'lib');

const FOUNDATIONS = ['io/', 'native/', 'sparse/', 'data/'];

/**
 * Modules that run a whole job (a command, a run, a launch): they may import anything below them, and the
 * foundations may import none of them. A folder ends with '/'.
 */
const JOB_MODULES = [
  'cli/', 'demo/', 'sweep/', 'launch/', 'retrieval/',
  'train/run.ts', 'train/launch.ts', 'train/held-out-eval.ts',
  'encode/encode-corpus.ts', 'encode/sharded-encode.ts', 'encode/merge-shards.ts', 'encode/run-setup.ts',
  'setup/setup.ts',
  'index.ts',
];

/**
 * Folder cycles that exist today (each a sorted strongly connected component), allowed until someone removes
 * them; any other cycle, or a folder joining one of these, fails:
 *   data → eval (eval/types.ts: Qrels, Run), eval → sparse (efficiency.ts: Csr), sparse → data (jsonl-vectors.ts: lines.ts);
 *   export → opensearch (limits.ts), opensearch → export (doc-vectors, formats, token-keys, weights).
 */
const KNOWN_FOLDER_CYCLES = [['data', 'eval', 'sparse'], ['export', 'opensearch']];

interface Import {
  from: string;  // lib-relative, '/'-separated
  to: string;    // lib-relative file the specifier resolves to
}

function libFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return libFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT_PATTERNS = [
  /^\s*(?:import|export)\s[^;]*?\bfrom\s+['"]([^'"]+)['"]/gm,
  /^\s*import\s+['"]([^'"]+)['"]/gm,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/** The relative module specifiers of a source file (packages and node: modules are not layering). */
function relativeSpecifiers(source: string): string[] {
  const out: string[] = [];
  for (const re of IMPORT_PATTERNS) {
    for (const m of source.matchAll(re)) if (m[1].startsWith('.')) out.push(m[1]);
  }
  return out;
}

/** The lib-relative file a specifier of `fromFile` (absolute) names: x.ts, x.d.ts or x/index.ts. */
function resolveSpecifier(fromFile: string, spec: string): string {
  const base = path.resolve(path.dirname(fromFile), spec);
  const hit = [`${base}.ts`, `${base}.d.ts`, path.join(base, 'index.ts'), base].find((p) => fs.existsSync(p) && fs.statSync(p).isFile());
  if (!hit) throw new Error(`${path.relative(LIB, fromFile)}: cannot resolve import '${spec}'`);
  return path.relative(LIB, hit).split(path.sep).join('/');
}

function libImports(): Import[] {
  return libFiles(LIB).flatMap((file) => {
    const from = path.relative(LIB, file).split(path.sep).join('/');
    return relativeSpecifiers(fs.readFileSync(file, 'utf8')).map((spec) => ({ from, to: resolveSpecifier(file, spec) }));
  });
}

const matches = (file: string, entry: string) => (entry.endsWith('/') ? file.startsWith(entry) : file === entry);
const folderOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '.');

/** Rules (a) and (b): one line per offending import. */
function layeringViolations(imports: readonly Import[]): string[] {
  const out: string[] = [];
  for (const { from, to } of imports) {
    if (FOUNDATIONS.some((f) => matches(from, f)) && JOB_MODULES.some((j) => matches(to, j)))
      out.push(`${from} imports the job/command module ${to}`);
    if (matches(to, 'cli/') && !matches(from, 'cli/')) out.push(`${from} imports ${to} (only lib/cli may import lib/cli)`);
    if (to === 'index.ts') out.push(`${from} imports the package entry lib/index.ts`);
  }
  return out;
}

/** Strongly connected components of more than one folder in the folder graph (Tarjan), each sorted. */
function folderCycles(imports: readonly Import[]): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const { from, to } of imports) {
    const a = folderOf(from), b = folderOf(to);
    if (a === b) continue;
    if (!edges.has(a)) edges.set(a, new Set());
    if (!edges.has(b)) edges.set(b, new Set());
    edges.get(a)!.add(b);
  }
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>(), out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)!) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); component.push(w); } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return out.sort((x, y) => x.join().localeCompare(y.join()));
}

describe('architecture: layering of lib/', () => {
  const imports = libImports();

  it('reads the imports of every lib file (the parser finds them)', () => {
    assert.ok(imports.length > 300, `only ${imports.length} relative imports found under ${LIB}`);
    assert.ok(imports.some((i) => i.from === 'train/native-trainer.ts' && i.to === 'native/loader.ts'));
    assert.deepEqual(relativeSpecifiers([
      "import { a } from './a';",
      "import type {\n  B,\n  C,\n} from '../b/c';",
      "export * from '../d';",
      "import './side-effect';",
      "const { e } = await import('../../e/f');",
      "const g = require('./g') as typeof import('./g');",
      "import * as fs from 'fs';",
    ].join('\n')).sort(), ['../../e/f', '../b/c', '../d', './a', './g', './g', './side-effect'].sort());
  });

  it('the rule checks flag a violating import list', () => {
    const synthetic: Import[] = [
      { from: 'sparse/csr.ts', to: 'encode/encode-corpus.ts' },
      { from: 'io/progress.ts', to: 'cli/main.ts' },
      { from: 'model/native-model.ts', to: 'index.ts' },
      { from: 'native/loader.ts', to: 'setup/libtorch.ts' },  // allowed
      { from: 'cli/main.ts', to: 'cli/option-values.ts' },    // allowed
    ];
    assert.deepEqual(layeringViolations(synthetic), [
      'sparse/csr.ts imports the job/command module encode/encode-corpus.ts',
      'io/progress.ts imports the job/command module cli/main.ts',
      'io/progress.ts imports cli/main.ts (only lib/cli may import lib/cli)',
      'model/native-model.ts imports the package entry lib/index.ts',
    ]);
    assert.deepEqual(folderCycles([
      { from: 'a/x.ts', to: 'b/y.ts' }, { from: 'b/y.ts', to: 'c/z.ts' }, { from: 'c/z.ts', to: 'a/w.ts' },
      { from: 'c/z.ts', to: 'd/v.ts' }, { from: 'a/x.ts', to: 'a/u.ts' },
    ]), [['a', 'b', 'c']]);
  });

  it('(a) io, native, sparse and data import no job or command module; (b) only lib/cli imports lib/cli, nothing imports lib/index.ts', () => {
    assert.deepEqual(layeringViolations(imports), []);
  });

  it('(c) no cycle between top-level lib folders besides the known ones', () => {
    assert.deepEqual(folderCycles(imports), KNOWN_FOLDER_CYCLES);
  });
});
