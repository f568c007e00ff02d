import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import express, { Router } from 'express';

/**
 * Serves the built web client (embedded mode): hashed assets cached for a year, index.html never cached,
 * and an SPA fallback so client-side routes (`/chats/…`) load the app. `/api` and `/socket.io` never fall
 * back: an unknown API path stays a JSON 404.
 */
export function webClient(webRoot: string): Router {
  const root = resolve(webRoot);
  const index = join(root, 'index.html');
  if (!existsSync(index)) throw new Error(`WEB_ROOT ${root} has no index.html (build the web client first)`);
  const router = Router();
  router.use(
    express.static(root, {
      index: false,
      redirect: false,
      setHeaders(res, path) {
        res.setHeader(
          'Cache-Control',
          path.includes(`${root}/assets/`) ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    }),
  );
  router.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path === '/api' || req.path.startsWith('/api/') || req.path.startsWith('/socket.io'))
      return next();
    if (!req.accepts('html')) return next();
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}
