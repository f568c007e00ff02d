import { defineConfig, type ProxyOptions } from 'vite';
import react from '@vitejs/plugin-react';

// `vite dev` / `vite preview` forward the API and the socket to the gateway, so the browser still talks
// to one origin and the session cookies stay same-origin. The Host header is kept (no changeOrigin), so
// the gateway's CSRF check sees the dev server's own origin.
const backend = process.env.COHORT_BACKEND_URL ?? 'http://localhost:3000';
const proxy: Record<string, ProxyOptions> = {
  '/api': { target: backend },
  '/socket.io': { target: backend, ws: true },
};

export default defineConfig({
  plugins: [react()],
  server: { proxy },
  preview: { proxy },
  // One chunk: React, socket.io-client and markdown-it (with its entity table and linkify) come to ~450 kB.
  build: { outDir: 'dist', target: 'es2022', sourcemap: false, chunkSizeWarningLimit: 480 },
});
