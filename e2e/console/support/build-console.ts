import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildVitePackages } from '../../../scripts/build.mjs';
import { REPO_ROOT } from '../../support/processes.js';

/**
 * vitest globalSetup of the browser tests: the backend serves the console from
 * packages/console/dist, which `pnpm build` makes; a checkout that has not
 * built yet gets it built here, once, before any test.
 */
export default function setup(): void {
  const dir = path.join(REPO_ROOT, 'packages', 'console');
  if (existsSync(path.join(dir, 'dist', 'index.html'))) return;
  if (buildVitePackages([dir]) !== 0) throw new Error('vite build of packages/console failed');
}
