import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The import graph of TypeScript sources, and the cycles in it.
 *
 * Every module specifier counts: static imports, `export … from`, dynamic
 * `import()` and `import type`. A type-only cycle is still a cycle here: it
 * ties two modules together so that neither can move or be read without the
 * other, which is what the check is for.
 */

/** Source text by path (posix, relative to one root). */
export type Sources = Map<string, string>;

/** Each file with the files it imports, both as keys of the sources. */
export type ImportGraph = Map<string, string[]>;

/**
 * The graph of `sources`. A relative specifier resolves as TypeScript's
 * Bundler resolution does for our ESM sources: `./x.js` to `x.ts`, `./x` to
 * `x.ts` or `x/index.ts`. A specifier named in `packages` (e.g. `@relay/common`)
 * resolves to that package's entry file. Anything else (node:, npm packages,
 * non-TypeScript files) is outside the graph.
 */
export function importGraph(sources: Sources, packages: Record<string, string> = {}): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const [file, text] of sources) {
    const targets = new Set<string>();
    for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
      const target = resolve(file, spec, sources, packages);
      if (target) targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

function resolve(from: string, spec: string, sources: Sources, packages: Record<string, string>): string | null {
  if (spec in packages) return packages[spec]!;
  if (!spec.startsWith('.')) return null;
  const base = path.posix.join(path.posix.dirname(from), spec);
  // `.tsx`: the console's Preact components, imported as `./x.js` like any module.
  const candidates = [
    base.replace(/\.(m|c)?js$/, '.$1ts'),
    base.replace(/\.js$/, '.tsx'),
    base,
    `${base}.ts`,
    `${base}/index.ts`,
  ];
  return candidates.find((c) => sources.has(c)) ?? null;
}

/**
 * One cycle per strongly connected part of the graph (Tarjan), as the path
 * from the part's first file (in name order) back to itself by the fewest
 * imports: `[a, b, a]`. A file importing itself is the cycle `[a, a]`.
 */
export function findCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const parts: string[][] = [];
  let next = 0;

  // Recursive: source trees are shallow enough for the call stack.
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const part: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        part.push(w);
      } while (w !== v);
      parts.push(part);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);

  const cycles: string[][] = [];
  for (const part of parts) {
    const first = [...part].sort()[0]!;
    if (part.length === 1 && !(graph.get(first) ?? []).includes(first)) continue;
    cycles.push(shortestLoop(graph, first, new Set(part)));
  }
  return cycles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** Breadth-first from `start` back to it, inside `within`. */
function shortestLoop(graph: ImportGraph, start: string, within: Set<string>): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (w === start) {
        const between: string[] = [];
        for (let u = v; u !== start; u = cameFrom.get(u)!) between.unshift(u);
        return [start, ...between, start];
      }
      if (within.has(w) && !cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  throw new Error(`${start}: no loop back to it, though Tarjan put it in a cycle`);
}

export function formatCycle(cycle: string[]): string {
  return cycle.join(' -> ');
}

/**
 * The sources of every `packages/<name>/src` under `root`, keyed by their
 * path from `root`, and each `@relay/<name>` entry file. The entry is the
 * TypeScript file the package's `exports['.']` names (under whichever
 * condition names one), else `src/index.ts`.
 */
export function readPackageSources(root: string): { sources: Sources; packages: Record<string, string> } {
  const sources: Sources = new Map();
  const packages: Record<string, string> = {};
  for (const dir of readdirSync(path.join(root, 'packages')).sort()) {
    const src = path.join(root, 'packages', dir, 'src');
    if (!existsSync(src)) continue;
    for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !/\.tsx?$/.test(entry.name) || entry.name.endsWith('.d.ts')) continue;
      const full = path.join(entry.parentPath, entry.name);
      sources.set(path.relative(root, full).split(path.sep).join('/'), readFileSync(full, 'utf8'));
    }
    const manifest = JSON.parse(readFileSync(path.join(root, 'packages', dir, 'package.json'), 'utf8')) as {
      name: string;
      exports?: Record<string, unknown>;
    };
    const dot = manifest.exports?.['.'];
    // A package no code imports (the console: a browser bundle served as files) has no entry.
    if (manifest.exports && dot === undefined) continue;
    const named = typeof dot === 'string' ? [dot] : Object.values((dot ?? {}) as Record<string, string>);
    const entry = named.find((p) => typeof p === 'string' && p.endsWith('.ts')) ?? './src/index.ts';
    packages[manifest.name] = path.posix.join('packages', dir, entry);
  }
  return { sources, packages };
}
