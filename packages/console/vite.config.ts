import { defineConfig } from 'vite';

/**
 * The console is served by the backend under /console with a strict
 * Content-Security-Policy (`script-src 'self'; style-src 'self'`), so the
 * build must emit no inline script or style: the module-preload polyfill
 * Vite would inline is off (every browser the console targets supports
 * `<link rel=modulepreload>`), and CSS goes to files, never into JS-injected
 * <style> tags (Vite only does that in dev).
 */
export default defineConfig({
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    // Inlined assets would become data: URLs; keep files so CSP stays simple.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
