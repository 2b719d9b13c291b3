import { fileURLToPath } from 'node:url';

/**
 * Where the built console is: CONSOLE_DIST_DIR, else packages/console/dist of
 * this checkout. Found by path from this file (src/console/ and its compiled
 * twin dist/console/ sit at the same depth) rather than by resolving the
 * package, so that the backend starts whether or not the console package is
 * installed, and answers RELAY_ERR_CONSOLE_NOT_BUILT instead.
 */
export function consoleDistDir(configured: string): string {
  if (configured !== '') return configured;
  return fileURLToPath(new URL('../../../console/dist/', import.meta.url));
}
