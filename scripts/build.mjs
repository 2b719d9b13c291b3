#!/usr/bin/env node
/**
 * `pnpm build`: compiles every package under packages/ that has a tsconfig.json
 * with `tsc -b` (src/ to dist/, incremental through dist/tsconfig.tsbuildinfo),
 * then copies every other file under src/ (the Lua scripts, for one) to the same
 * path under dist/. Code that reads such a file relative to its own
 * import.meta.url then finds it from the compiled file as from the source.
 *
 * Packages with a vite.config.ts (the console, browser code) are not compiled by
 * tsc: their `vite build` bundles them into dist/ instead (see buildVitePackages).
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

/** Every package folder, in a stable order. */
function allPackageDirs() {
  const parent = path.join(ROOT, 'packages');
  return readdirSync(parent, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => path.join(parent, d.name))
    .sort();
}

const isVite = (dir) => existsSync(path.join(dir, 'vite.config.ts'));

/** Package folders tsc builds: those with a tsconfig.json and no Vite config (tsc -b orders them by references). */
function packageDirs() {
  return allPackageDirs().filter((dir) => existsSync(path.join(dir, 'tsconfig.json')) && !isVite(dir));
}

/**
 * Runs `vite build` in each Vite package (the console), with vite's own CLI
 * under this Node binary, as tsc above. Exported for scripts/start.mjs, which
 * builds the console when its dist/ is missing.
 */
export function buildVitePackages(dirs = allPackageDirs().filter(isVite)) {
  for (const dir of dirs) {
    // vite's exports map hides bin/, so find it from its package.json.
    const vitePackage = createRequire(path.join(dir, 'package.json')).resolve('vite/package.json');
    const vite = path.join(path.dirname(vitePackage), 'bin', 'vite.js');
    const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: dir, stdio: 'inherit' });
    if (result.status !== 0) return result.status ?? 1;
    process.stdout.write(`build: ${path.relative(ROOT, dir)}: bundled with vite into dist/\n`);
  }
  return 0;
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

function main() {
  const dirs = packageDirs();
  if (process.argv.includes('--clean')) {
    for (const dir of allPackageDirs()) rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
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
  const bundled = buildVitePackages();
  if (bundled !== 0) process.exit(bundled);
}

// Run as a script (not when start.mjs imports buildVitePackages).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
