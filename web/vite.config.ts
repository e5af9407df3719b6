import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// The hosted pages (/ui): built into dist/web, served by Gatehouse itself (src/http/routes/ui.ts).
export default defineConfig({
  root: here('.'),
  base: '/ui/',
  // The client package from its source: no separate build step before this one.
  resolve: { alias: { '@gatehouse/client': here('../packages/client/src/index.ts') } },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    assetsDir: 'assets',
    // WEB-02: no inline script or style in the document (the CSP has no 'unsafe-inline').
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    sourcemap: false,
  },
  logLevel: 'warn',
});
