import { defineConfig } from 'vite';

// Preact's automatic JSX runtime; no framework plugin is needed for a build.
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    // The CSP forbids inline script: keep every script a file of its own.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    // `npm run dev` for working on the console: the API from the dev server.
    proxy: { '/v1': 'http://127.0.0.1:3000', '/local-sign-in': 'http://127.0.0.1:3000', '/config.json': 'http://127.0.0.1:3000' },
  },
});
