/** Types of what scripts/build.mjs exports, for the TypeScript that imports it (the browser tests' setup). */
/** Runs `vite build` in each given package folder (default: every package with a vite.config.ts); returns an exit status. */
export function buildVitePackages(dirs?: string[]): number;
