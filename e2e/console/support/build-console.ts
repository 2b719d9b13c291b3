import path from 'node:path';
import { buildVitePackages } from '../../../scripts/build.mjs';
import { REPO_ROOT } from '../../support/processes.js';

/**
 * vitest globalSetup of the browser tests: the backend serves the console from
 * packages/console/dist. It is built again here, before any test, whether or
 * not a dist/ exists: a vite build takes a second or two, and a stale dist/
 * would test yesterday's console.
 */
export default function setup(): void {
  if (buildVitePackages([path.join(REPO_ROOT, 'packages', 'console')]) !== 0) {
    throw new Error('vite build of packages/console failed');
  }
}
