import { defineConfig } from 'vite';

// vroom serves dist/ under /ui/ and index.html itself at the embed paths, so every asset URL
// is absolute under /ui/. `VROOM_DEV_PROXY=http://127.0.0.1:PORT npm run dev` proxies the API
// and the media WebSocket to a running vroom while developing.
const proxyTarget = process.env.VROOM_DEV_PROXY;

export default defineConfig({
  base: '/ui/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  resolve: {
    // The SDK depends on livekit-client too: bundle one copy.
    dedupe: ['livekit-client'],
    alias: { react: 'preact/compat', 'react-dom': 'preact/compat' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    // A single index.html with no inline script (the page's CSP is script-src 'self').
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
  },
  server: proxyTarget
    ? {
        proxy: {
          '/v2': proxyTarget,
          '/rtc': { target: proxyTarget, ws: true },
        },
      }
    : undefined,
});
