#!/usr/bin/env node
/**
 * `pnpm build`: compiles every package under packages/ that has a tsconfig.json
 * with `tsc -b` (src/ to dist/, incremental through dist/tsconfig.tsbuildinfo),
 * then copies every other file under src/ (the Lua scripts, for one) to the same
 * path under dist/. Code that reads such a file relative to its own
 * import.meta.url then finds it from the compiled file as from the source.
 *
 * `node scripts/build.mjs --clean` (`pnpm clean`) removes each package's dist/ instead.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Files tsc compiles (and so must not be copied as they are). */
const COMPILED = /\.[cm]?tsx?$/;

/** Package folders that build: those with a tsconfig.json, in a stable order (tsc -b orders them by references). */
function packageDirs() {
  const parent = path.join(ROOT, 'packages');
  return readdirSync(parent, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(parent, d.name, 'tsconfig.json')))
    .map((d) => path.join(parent, d.name))
    .sort();
}

/** Copies the non-TypeScript files of `dir`/src to `dir`/dist at the same relative paths; returns how many. */
function copyAssets(dir) {
  const src = path.join(dir, 'src');
  let copied = 0;
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || COMPILED.test(entry.name)) continue;
    // `parentPath` is Node 20.12+; `path` is its older name.
    const from = path.join(entry.parentPath ?? entry.path, entry.name);
    const to = path.join(dir, 'dist', path.relative(src, from));
    mkdirSync(path.dirname(to), { recursive: true });
    copyFileSync(from, to);
    copied += 1;
  }
  return copied;
}

const dirs = packageDirs();
if (process.argv.includes('--clean')) {
  for (const dir of dirs) rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
  process.exit(0);
}

const tsc = createRequire(path.join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-b', ...dirs.map((d) => path.relative(ROOT, d))], {
  cwd: ROOT,
  stdio: 'inherit',
});
if (result.status !== 0) process.exit(result.status ?? 1);

for (const dir of dirs) {
  const copied = copyAssets(dir);
  if (copied > 0) process.stdout.write(`build: ${path.relative(ROOT, dir)}: ${copied} asset(s) copied to dist/\n`);
}
