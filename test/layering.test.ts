// layering.test.ts — the import graph of the core (assembly/) and the host
// (src/) has no cycle, and every import follows the layers docs/design.md
// draws ("Layers, and what may depend on what", "The core's files").
//
// Method: every .ts file under assembly/ and src/ is parsed with the
// TypeScript parser (not a regex: an import split over lines, or one
// quoted in a comment or a string, is read as the compiler reads it); its
// import and export-from declarations with a relative specifier become
// edges, resolved to files (src/ writes `./x.js` for `./x.ts`, assembly/
// writes `./x`). Then:
//   - every relative import resolves to a file of its own tree: the core
//     knows no host code, the host reaches the core only as the compiled
//     module (src/core.ts), and nothing imports playground/, bench/ or test/;
//     the core imports no package but the compiler's library (`~lib/`);
//   - no import cycle, in either tree (the failure names the cycle's path);
//   - every file belongs to a layer of the tables below (its most specific
//     entry: crash/modes.ts is a leaf, the rest of crash/ a tool), which
//     mirror docs/design.md (change both together), and every import goes
//     to its own layer or a lower one;
//   - browser code never reaches src/node/ (transitively: a bundle carries
//     everything a file imports).
// Type-only imports (`import type`, or imports whose every name is
// `type`) count like any other for layers and cycles (naming a module's
// types is knowing it); only the reach check (browser code and src/node/)
// skips them, since tsc and esbuild erase them and a bundle carries none.
import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const REPO = fileURLToPath(new URL('..', import.meta.url));

interface Edge { from: string; to: string; typeOnly: boolean; line: number }
interface Graph { files: string[]; edges: Edge[]; problems: string[] }

/** Repo-relative paths of the .ts files under `root`, sorted. */
function tsFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(REPO, dir), { withFileTypes: true })) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

/** Does the import or export-from declaration load nothing at run time? */
function typeOnly(d: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(d)) {
    const c = d.exportClause;
    return d.isTypeOnly || (!!c && ts.isNamedExports(c) && c.elements.length > 0 && c.elements.every((e) => e.isTypeOnly));
  }
  const c = d.importClause;
  if (!c) return false; // import './x': run for its effects
  if (c.isTypeOnly) return true;
  const named = c.namedBindings;
  return !c.name && !!named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
}

/** The file a relative specifier of `from` names, or null. */
function resolve(from: string, spec: string): string | null {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  const stem = base.endsWith('.js') ? base.slice(0, -3) : base;
  for (const p of [`${stem}.ts`, `${stem}/index.ts`]) if (fs.existsSync(path.join(REPO, p))) return p;
  return null;
}

/** The import graph of `root` (assembly or src), with what breaks the first rule. */
function importGraph(root: 'assembly' | 'src'): Graph {
  const files = tsFiles(root);
  const edges: Edge[] = [];
  const problems: string[] = [];
  for (const file of files) {
    const sf = ts.createSourceFile(file, fs.readFileSync(path.join(REPO, file), 'utf8'), ts.ScriptTarget.Latest, false);
    const visit = (node: ts.Node) => {
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        const spec = node.moduleSpecifier.text;
        const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
        if (spec.startsWith('.')) {
          const to = resolve(file, spec);
          if (!to) problems.push(`${file}:${line} imports '${spec}', which names no .ts file`);
          else if (!to.startsWith(`${root}/`)) problems.push(`${file}:${line} imports ${to}, outside ${root}/`);
          else edges.push({ from: file, to, typeOnly: typeOnly(node), line });
        } else if (root === 'assembly' && !spec.startsWith('~lib/')) {
          problems.push(`${file}:${line} imports '${spec}': the core imports nothing but the compiler's library`);
        }
      } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const arg = node.arguments[0];
        if (arg && ts.isStringLiteralLike(arg) && arg.text.startsWith('.')) {
          problems.push(`${file}: import('${arg.text}'): a relative dynamic import hides an edge from this test; import it statically`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return { files, edges, problems };
}

// ─── cycles ─────────────────────────────────────────────────────────────────

/** Every cycle's path, one per strongly connected component (Tarjan), e.g. "a → b → a". */
function findCycles(files: string[], edges: Pick<Edge, 'from' | 'to'>[]): string[] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) next.get(e.from)!.push(e.to);
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>();
  const cycles: string[] = [];
  let counter = 0;
  const connect = (v: string) => {
    index.set(v, counter); low.set(v, counter); counter++;
    stack.push(v); onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) { connect(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = new Set<string>();
    for (let w = ''; w !== v;) { w = stack.pop()!; onStack.delete(w); component.add(w); }
    if (component.size > 1 || next.get(v)!.includes(v)) cycles.push(cyclePath(v, component, next));
  };
  for (const f of files) if (!index.has(f)) connect(f);
  return cycles;
}

/** A shortest path from `start` back to itself inside `component` (breadth first), as "a → b → a". */
function cyclePath(start: string, component: Set<string>, next: Map<string, string[]>): string {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of next.get(v)!) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = cameFrom.get(u)!) path.push(u);
        return [...path, start].reverse().join(' → ');
      }
      if (!cameFrom.has(w)) { cameFrom.set(w, v); queue.push(w); }
    }
  }
  throw new Error(`no cycle through ${start}`);
}

// ─── layers ─────────────────────────────────────────────────────────────────

/** A layer: files (paths, or folders ending in '/') relative to its tree. */
interface Layer { name: string; files: string[] }

/** The core's layers, lowest first (docs/design.md, "The core's files"). */
const CORE_LAYERS: Layer[] = [
  { name: 'leaves: the memory map, error codes, word encodings', files: ['layout.ts', 'errors.ts', 'hash.ts', 'checked.ts'] },
  { name: 'the flush model, object headers, the runtime', files: ['flush.ts', 'object.ts', 'runtime/'] },
  { name: 'the pool header', files: ['format.ts'] },
  { name: 'size classes', files: ['classes.ts'] },
  { name: 'the chunk table', files: ['table.ts'] },
  { name: 'the heap: chunks, runs, free extents', files: ['heap.ts'] },
  { name: 'the undo log', files: ['log.ts'] },
  { name: 'objects', files: ['alloc.ts'] },
  { name: 'the operations: transactions, check, stats, open and create', files: ['tx.ts', 'check.ts', 'stats.ts', 'pool.ts'] },
  { name: 'persistent containers', files: ['containers/'] },
  { name: 'the exports', files: ['index.ts'] },
];

/** The host's layers, lowest first (docs/design.md, "Layers, and what may depend on what"). */
const HOST_LAYERS: Layer[] = [
  { name: 'leaf modules', files: ['layout.ts', 'errors.ts', 'prng.ts', 'bytes.ts', 'crash/modes.ts'] },
  { name: 'the core\'s host side', files: ['core.ts', 'format.ts'] },
  { name: 'backends', files: ['backends/'] },
  { name: 'the Pool API', files: ['pool.ts', 'args.ts', 'group.ts', 'internal.ts'] },
  { name: 'containers', files: ['containers/'] },
  { name: 'the Store', files: ['store/'] },
  { name: 'crash tools', files: ['crash/'] },
  { name: 'the browser worker and client', files: ['browser/'] },
  { name: 'Node environment wiring', files: ['node/'] },
  { name: 'the Node entry', files: ['index.ts'] },
  { name: 'programs on the entry: the CLI, pheap/testing', files: ['cli/', 'crash/vitest.ts'] },
];

/** Index of the layer holding `file` (the longest matching entry wins), or -1. */
function layerOf(layers: Layer[], root: string, file: string): number {
  const rel = file.slice(root.length + 1);
  let best = -1, bestLen = -1;
  layers.forEach((l, i) => {
    for (const f of l.files) {
      const hit = f.endsWith('/') ? rel.startsWith(f) : rel === f;
      if (hit && f.length > bestLen) { best = i; bestLen = f.length; }
    }
  });
  return best;
}

/** Files no layer holds, and imports that go up a layer or across to another of the same height. */
function layerViolations(layers: Layer[], root: string, g: Pick<Graph, 'files' | 'edges'>): string[] {
  const out: string[] = [];
  for (const f of g.files) if (layerOf(layers, root, f) < 0) out.push(`${f} belongs to no layer: place it in the table (and in docs/design.md)`);
  for (const e of g.edges) {
    const a = layerOf(layers, root, e.from), b = layerOf(layers, root, e.to);
    if (a < 0 || b < 0 || b <= a) continue;
    out.push(`${e.from}:${e.line} (${layers[a].name}) imports ${e.typeOnly ? 'types of ' : ''}${e.to} (${layers[b].name}), a higher layer`);
  }
  return out;
}

/** Files `start` reaches through `edges`. */
function reach(start: string, edges: Edge[]): Set<string> {
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length) {
    const v = todo.pop()!;
    for (const e of edges) if (e.from === v && !seen.has(e.to)) { seen.add(e.to); todo.push(e.to); }
  }
  return seen;
}

// ─── the tests ──────────────────────────────────────────────────────────────

const core = importGraph('assembly');
const host = importGraph('src');
const runtimeEdges = (g: Graph) => g.edges.filter((e) => !e.typeOnly);
const has = (g: Graph, from: string, to: string, typeOnly = false) => g.edges.some((e) => e.from === from && e.to === to && e.typeOnly === typeOnly);

describe('the method', () => {
  it('reads every kind of import: multi-line, namespace, re-export, type-only, side effect', () => {
    expect(core.files.length).toBeGreaterThan(15);
    expect(host.files.length).toBeGreaterThan(50);
    expect(has(core, 'assembly/alloc.ts', 'assembly/log.ts')).toBe(true); // `import {\n …\n} from "./log"`
    expect(has(core, 'assembly/index.ts', 'assembly/check.ts')).toBe(true); // `import * as checker from "./check"`
    expect(has(core, 'assembly/index.ts', 'assembly/containers/btree.ts')).toBe(true); // `export { … } from "./containers/btree"`
    expect(has(host, 'src/pool.ts', 'src/core.ts')).toBe(true);
    expect(has(host, 'src/pool.ts', 'src/backends/backend.ts', true)).toBe(true); // `import type { Backend, … }`
    expect(has(host, 'src/index.ts', 'src/node/env.ts')).toBe(true); // `import './node/env.js'`
  });

  it('finds a cycle and names its path; finds an upward import and a file without a layer', () => {
    const files = ['t/a.ts', 't/b.ts', 't/c.ts', 't/d.ts'];
    const cyclic = [{ from: 't/a.ts', to: 't/b.ts' }, { from: 't/b.ts', to: 't/c.ts' }, { from: 't/c.ts', to: 't/a.ts' }, { from: 't/d.ts', to: 't/a.ts' }];
    expect(findCycles(files, cyclic)).toEqual(['t/a.ts → t/b.ts → t/c.ts → t/a.ts']);
    expect(findCycles(files, cyclic.slice(1))).toEqual([]);
    expect(findCycles(files, [{ from: 't/d.ts', to: 't/d.ts' }])).toEqual(['t/d.ts → t/d.ts']);
    const layers: Layer[] = [{ name: 'low', files: ['a.ts'] }, { name: 'high', files: ['b.ts', 'c.ts'] }];
    const edges = [{ from: 't/a.ts', to: 't/b.ts', typeOnly: true, line: 3 }, { from: 't/b.ts', to: 't/c.ts', typeOnly: false, line: 1 }];
    expect(layerViolations(layers, 't', { files: files.slice(0, 3), edges })).toEqual(['t/a.ts:3 (low) imports types of t/b.ts (high), a higher layer']);
    expect(layerViolations(layers, 't', { files, edges: [] })).toEqual(['t/d.ts belongs to no layer: place it in the table (and in docs/design.md)']);
  });
});

describe('the core (assembly/)', () => {
  it('imports nothing outside assembly/ but the compiler\'s library', () => {
    expect(core.problems).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(findCycles(core.files, core.edges)).toEqual([]);
  });

  it('imports only down its layers (containers above the core files, nothing above the exports)', () => {
    expect(layerViolations(CORE_LAYERS, 'assembly', core)).toEqual([]);
  });
});

describe('the host (src/)', () => {
  it('imports nothing outside src/ by a relative path', () => {
    expect(host.problems).toEqual([]);
  });

  it('has no import cycle (type-only imports included)', () => {
    expect(findCycles(host.files, host.edges)).toEqual([]);
  });

  it('imports only down its layers (backends know no pool, the Pool API no tool but the crash modes, nothing below imports the CLI)', () => {
    expect(layerViolations(HOST_LAYERS, 'src', host)).toEqual([]);
  });

  it('browser code never reaches src/node/ (Node\'s environment wiring)', () => {
    const reached = host.files.filter((f) => f.startsWith('src/browser/'))
      .flatMap((f) => [...reach(f, runtimeEdges(host))].filter((t) => t.startsWith('src/node/')).map((t) => `${f} reaches ${t}`));
    expect(reached).toEqual([]);
  });
});
