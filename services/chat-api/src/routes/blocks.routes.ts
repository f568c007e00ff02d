import { Router } from 'express';
import { listBlockedQuerySchema, parseOrThrow, userParamsSchema } from '@cohort/common';
import type { UseCaseDeps } from '../use-cases/deps';
import { blockUser } from '../use-cases/block-user';
import { unblockUser } from '../use-cases/unblock-user';
import { listBlocked } from '../use-cases/list-blocked';
import { callerOf } from './caller';

/**
 * /api/users/blocked and /api/users/:userId/block (docs/security.md). The gateway routes these three to chat-api and
 * the rest of /api/users to auth. Mounted behind `requireIdentity`.
 */
export function blocksRouter(deps: UseCaseDeps): Router {
  const router = Router();

  router.get('/blocked', async (req, res) => {
    const query = parseOrThrow(listBlockedQuerySchema, req.query);
    res.json(await listBlocked(deps, callerOf(req), query));
  });

  router.put('/:userId/block', async (req, res) => {
    const { userId } = parseOrThrow(userParamsSchema, req.params);
    await blockUser(deps, callerOf(req), userId);
    res.status(204).end();
  });

  router.delete('/:userId/block', async (req, res) => {
    const { userId } = parseOrThrow(userParamsSchema, req.params);
    await unblockUser(deps, callerOf(req), userId);
    res.status(204).end();
  });

  return router;
}
