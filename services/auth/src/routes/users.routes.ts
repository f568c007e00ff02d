import { Router, type RequestHandler } from 'express';
import {
  IDENTITY_HEADER,
  identityOf,
  parseOrThrow,
  userLookupQuerySchema,
  userSearchQuerySchema,
} from '@cohort/common';
import type { AuthContext } from '../use-cases/deps';
import { searchUsers } from '../use-cases/search-users';
import { lookupUsers } from '../use-cases/lookup-users';

/** `/api/users/*`: every route needs a session. */
export function createUsersRouter({
  ctx,
  requireSession,
}: {
  ctx: AuthContext;
  requireSession: RequestHandler;
}): Router {
  const router = Router();
  router.use(requireSession);

  router.get('/search', async (req, res) => {
    const { q, limit } = parseOrThrow(userSearchQuerySchema, req.query);
    const assertion = req.headers[IDENTITY_HEADER];
    const users = await searchUsers(ctx, {
      query: q,
      limit,
      callerId: identityOf(req).userId,
      // requireSession verified it: passed along so chat-api answers for this caller only.
      caller: { assertion: typeof assertion === 'string' ? assertion : '', requestId: String(req.id) },
    });
    res.json({ users });
  });

  router.get('/', async (req, res) => {
    const { ids } = parseOrThrow(userLookupQuerySchema, req.query);
    res.json({ users: await lookupUsers(ctx, ids, identityOf(req).userId) });
  });

  return router;
}
