import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findCycles, formatCycle, importGraph, readPackageSources, type Sources } from './import-cycles.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Fixture sources from `file: specifiers` pairs, each specifier an import of its own kind. */
function fixture(files: Record<string, string[]>): Sources {
  const kinds = [
    (s: string) => `import { x } from '${s}';`,
    (s: string) => `import type { T } from '${s}';`,
    (s: string) => `export * from '${s}';`,
    (s: string) => `const m = await import('${s}');`,
  ];
  return new Map(
    Object.entries(files).map(([file, specs]) => [file, specs.map((s, i) => kinds[i % kinds.length]!(s)).join('\n')]),
  );
}

describe('the import cycle check', () => {
  it('resolves .js to .ts, bare paths to .ts or index.ts, and package names to their entry', () => {
    const graph = importGraph(
      fixture({
        'p/src/a.ts': ['./b.js', './dir', './c', 'node:fs', 'ioredis', '@p/q', './data.json'],
        'p/src/b.ts': [],
        'p/src/c.ts': [],
        'p/src/dir/index.ts': [],
        'q/src/index.ts': [],
      }),
      { '@p/q': 'q/src/index.ts' },
    );
    expect(graph.get('p/src/a.ts')).toEqual(['p/src/b.ts', 'p/src/c.ts', 'p/src/dir/index.ts', 'q/src/index.ts']);
  });

  it('finds no cycle in a graph without one', () => {
    const graph = importGraph(fixture({ 'a.ts': ['./b.js', './c.js'], 'b.ts': ['./c.js'], 'c.ts': [] }));
    expect(findCycles(graph)).toEqual([]);
  });

  it('finds a two-file cycle closed by a type-only import, and names it', () => {
    // The shape of callbacks.ts <-> messages.ts: a value import one way, a type import back.
    const graph = importGraph(
      new Map([
        ['callbacks.ts', "import type { CallbackMessage } from './messages.js';"],
        ['messages.ts', "import { attemptWebhookId } from './callbacks.js';"],
        ['index.ts', "export * from './messages.js';"],
      ]),
    );
    const cycles = findCycles(graph);
    expect(cycles).toEqual([['callbacks.ts', 'messages.ts', 'callbacks.ts']]);
    expect(formatCycle(cycles[0]!)).toBe('callbacks.ts -> messages.ts -> callbacks.ts');
  });

  it('finds every separate cycle once, by its shortest loop, and a file importing itself', () => {
    const graph = importGraph(
      fixture({
        'a.ts': ['./b.js'],
        'b.ts': ['./c.js', './a.js'],
        'c.ts': ['./a.js'],
        'd.ts': ['./e.js'],
        'e.ts': ['./f.js'],
        'f.ts': ['./d.js'],
        'g.ts': ['./g.js'],
        'h.ts': ['./a.js'],
      }),
    );
    expect(findCycles(graph)).toEqual([
      ['a.ts', 'b.ts', 'a.ts'],
      ['d.ts', 'e.ts', 'f.ts', 'd.ts'],
      ['g.ts', 'g.ts'],
    ]);
  });

  it('reads every package and its entry', () => {
    const { sources, packages } = readPackageSources(REPO_ROOT);
    expect(Object.keys(packages)).toEqual(expect.arrayContaining(['@relay/backend', '@relay/common', '@relay/worker']));
    for (const entry of Object.values(packages)) expect(sources.has(entry), entry).toBe(true);
    expect(sources.has('packages/common/src/index.ts')).toBe(true);
  });
});

describe('packages/', () => {
  it('has no import cycle', () => {
    const { sources, packages } = readPackageSources(REPO_ROOT);
    const cycles = findCycles(importGraph(sources, packages)).map(formatCycle);
    expect(cycles, `import cycles in packages/*/src (break each one):\n  ${cycles.join('\n  ')}\n`).toEqual([]);
  });
});
