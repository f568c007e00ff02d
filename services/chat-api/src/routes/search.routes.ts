import { Router } from 'express';
import { parseOrThrow, searchMessagesQuerySchema } from '@cohort/common';
import type { UseCaseDeps } from '../use-cases/deps';
import { searchMessages } from '../use-cases/search-messages';
import { callerOf } from './caller';

/** GET /api/search/messages (DESIGN §8). Mounted behind `requireIdentity`. */
export function searchRouter(deps: UseCaseDeps): Router {
  const router = Router();
  router.get('/messages', async (req, res) => {
    const query = parseOrThrow(searchMessagesQuerySchema, req.query);
    res.json({ results: await searchMessages(deps, callerOf(req), query) });
  });
  return router;
}
