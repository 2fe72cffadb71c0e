/**
 * The folder layering, as a test: every import in the layered folders points to the same or a lower layer, and
 * no chain of imports between files comes back to where it started. LAYERS below is the one declaration of the
 * order; folders of the same layer may import each other as long as no cycle results.
 *
 * Imports are read with the TypeScript parser (so comments and string contents never count): static
 * `import … from '…'` (type-only ones included: a type is a dependency too), `export … from '…'`, `import('…')`
 * calls and `import('…')` types with a literal path. Only relative paths are followed; packages and node:
 * modules are outside the layering. Files read: .ts and .mjs under the layered folders, skipping node_modules,
 * test/ and results/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Lowest first. A file may import files of its own layer or of any layer before it. */
export const LAYERS: readonly (readonly string[])[] = [
  ['core', 'io', 'onnx'],
  ['oracles'],
  ['attention'],
  ['bench', 'infer'],
  ['cli'],
  ['bin'],
];

const SKIP_DIRS = new Set(['node_modules', 'test', 'results']);
const EXTENSIONS = ['.ts', '.mjs'];

interface Import {
  readonly spec: string;
  readonly line: number;
}

/** The module paths a source file imports (see the module comment for which forms count). */
export function importsOf(path: string, source: string): Import[] {
  const kind = path.endsWith('.mjs') ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true, kind);
  const out: Import[] = [];
  const add = (lit: ts.Node): void => {
    if (ts.isStringLiteral(lit) || ts.isNoSubstitutionTemplateLiteral(lit)) {
      out.push({ spec: lit.text, line: sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1 });
    }
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) add(node.moduleSpecifier);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0]) add(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The layer index of a root-relative posix path, or undefined outside the layered folders. */
function layerOf(layers: readonly (readonly string[])[], file: string): number | undefined {
  const top = file.split('/')[0]!;
  const i = layers.findIndex((l) => l.includes(top));
  return i < 0 ? undefined : i;
}

/** Resolves a relative specifier against the importing file to one of `files`, or to its plain joined path. */
function resolve(files: ReadonlyMap<string, string>, from: string, spec: string): string {
  const base = posix.normalize(posix.join(posix.dirname(from), spec));
  const candidates = [base, base.replace(/\.js$/, '.ts'), ...EXTENSIONS.map((e) => base + e), ...EXTENSIONS.map((e) => `${base}/index${e}`)];
  return candidates.find((c) => files.has(c)) ?? base;
}

export interface Problems {
  /** One line per import that points to a higher layer. */
  readonly upward: string[];
  /** One line per import cycle: the files around it, the first repeated at the end. */
  readonly cycles: string[];
}

/** Checks root-relative posix paths → source text against the layer order. */
export function checkLayering(files: ReadonlyMap<string, string>, layers: readonly (readonly string[])[] = LAYERS): Problems {
  const upward: string[] = [];
  const graph = new Map<string, string[]>();
  const name = (i: number): string => `[${layers[i]!.join(', ')}]`;
  for (const [file, source] of files) {
    const own = layerOf(layers, file);
    const edges: string[] = [];
    graph.set(file, edges);
    for (const { spec, line } of importsOf(file, source)) {
      if (!spec.startsWith('./') && !spec.startsWith('../')) continue;
      const target = resolve(files, file, spec);
      if (files.has(target)) edges.push(target);
      const theirs = layerOf(layers, target);
      if (own !== undefined && theirs !== undefined && theirs > own) {
        upward.push(`${file}:${line} imports '${spec}' (${target}, layer ${theirs + 1} ${name(theirs)}) ` +
          `from layer ${own + 1} ${name(own)}: imports must point to the same or a lower layer`);
      }
    }
  }
  return { upward, cycles: findCycles(graph) };
}

/** One cycle path per strongly connected component with a cycle (Tarjan), in a stable order. */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  let counter = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  const strong = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(comp);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) strong(v);
  return components.map((comp) => {
    const inComp = new Set(comp);
    const start = [...comp].sort()[0]!;
    // Shortest way from start back to start inside the component (breadth-first).
    const prev = new Map<string, string>();
    const queue = [start];
    let end: string | undefined;
    while (queue.length && end === undefined) {
      const v = queue.shift()!;
      for (const w of [...(graph.get(v) ?? [])].sort()) {
        if (!inComp.has(w)) continue;
        if (w === start) { end = v; break; }
        if (!prev.has(w)) { prev.set(w, v); queue.push(w); }
      }
    }
    const path = [start];
    for (let v = end!; v !== start; v = prev.get(v)!) path.splice(1, 0, v);
    const knot = comp.length > path.length ? ` (files in this knot of cycles: ${[...comp].sort().join(', ')})` : '';
    return `import cycle: ${[...path, start].join(' → ')}${knot}`;
  }).sort();
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

let cached: Map<string, string> | undefined;

/** The .ts/.mjs files of the layered folders, as root-relative posix paths → source (read once). */
function repoFiles(): Map<string, string> {
  if (cached) return cached;
  const files = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(ROOT, rel), { withFileTypes: true })) {
      const child = posix.join(rel, entry.name);
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) walk(child);
      } else if (EXTENSIONS.some((e) => entry.name.endsWith(e)) && !entry.name.endsWith('.d.ts')) {
        files.set(child, readFileSync(join(ROOT, child), 'utf8'));
      }
    }
  };
  for (const dir of LAYERS.flat()) if (existsSync(join(ROOT, dir)) && statSync(join(ROOT, dir)).isDirectory()) walk(dir);
  cached = files;
  return files;
}

test('the checker flags upward imports in every import form and cycles (synthetic input)', () => {
  const files = new Map([
    ['core/a.ts', "import { b } from '../attention/b.ts';\nexport const a = 1;"],
    ['attention/b.ts', "import { a } from '../core/a.ts';\nexport type { T } from './c.ts';\nexport const b = a;"],
    ['attention/c.ts', "export type T = number;\nconst lazy = () => import('./b.ts');"],
    ['cli/f.ts', "type M = typeof import('../bin/g.mjs');"],
    ['bin/g.mjs', "await import('../cli/f.ts');\nimport '../core/z.ts';"],
    ['oracles/h.ts', "export * from '../attention/c.ts';"],
    ['io/i.ts', "import { j } from '../onnx/j.ts';"],
    ['onnx/j.ts', "import { i } from '../io/i.ts';"],
    ['infer/k.ts', "import type { T } from '../bench/l.ts';"],
    ['bench/l.ts', "export { k } from '../infer/k.ts';"],
  ]);
  const { upward, cycles } = checkLayering(files);
  assert.equal(upward.length, 3, upward.join('\n'));
  assert.match(upward[0]!, /^core\/a\.ts:1 imports '\.\.\/attention\/b\.ts' \(attention\/b\.ts, layer 3 \[attention\]\) from layer 1 \[core, io, onnx\]/);
  assert.match(upward[1]!, /^cli\/f\.ts:1 imports '\.\.\/bin\/g\.mjs' .* from layer 5 \[cli\]/); // an import() type
  assert.match(upward[2]!, /^oracles\/h\.ts:1 imports '\.\.\/attention\/c\.ts'/); // export … from
  assert.deepEqual(cycles, [
    // core/a, attention/b and attention/c form one knot: one cycle through it is shown, with all its files.
    'import cycle: attention/b.ts → attention/c.ts → attention/b.ts (files in this knot of cycles: attention/b.ts, attention/c.ts, core/a.ts)',
    'import cycle: bench/l.ts → infer/k.ts → bench/l.ts', // same layer, still a cycle
    'import cycle: bin/g.mjs → cli/f.ts → bin/g.mjs', // dynamic import() in .mjs
    'import cycle: io/i.ts → onnx/j.ts → io/i.ts',
  ]);
});

test('the checker ignores comments, strings, packages and allowed imports, and sees a self-import (synthetic input)', () => {
  const files = new Map([
    ['core/a.ts', [
      "// import { x } from '../cli/x.ts';",
      "/* import('../bin/y.mjs') */",
      "const s = \"import { x } from '../cli/x.ts'\";",
      "const t = `import('../cli/x.ts')`;",
      "import 'node:fs';",
      "import ts from 'typescript';",
    ].join('\n')],
    ['attention/b.ts', "import { a } from '../core/a.ts';\nimport type { O } from '../oracles/o.ts';"],
    ['oracles/o.ts', "export type O = 1;"],
    ['cli/c.ts', "import '../bench/d.ts';\nimport '../infer/e.ts';"],
    ['bench/d.ts', "import '../infer/e.ts';"],
    ['infer/e.ts', "import '../attention/b.ts';"],
    ['io/self.ts', "import './self.ts';"],
  ]);
  assert.deepEqual(checkLayering(files), { upward: [], cycles: ['import cycle: io/self.ts → io/self.ts'] });
});

test('no import in the layered folders points to a higher layer', () => {
  const files = repoFiles();
  assert.ok(files.size > 50 && files.has('cli/main.ts') && files.has('bin/qattn.mjs'), `only ${files.size} files found under ${ROOT}`);
  const { upward } = checkLayering(files);
  assert.ok(upward.length === 0, `layers, lowest first: ${LAYERS.map((l) => l.join(', ')).join(' → ')}\n${upward.join('\n')}`);
});

test('no import cycle between files', () => {
  const { cycles } = checkLayering(repoFiles());
  assert.ok(cycles.length === 0, cycles.join('\n'));
});
