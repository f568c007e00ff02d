import { Router } from 'express';
import { identityOf } from '@cohort/common';
import type { UseCaseDeps } from '../use-cases/deps';
import { listMyChatIds } from '../use-cases/list-my-chat-ids';

/** /internal/*: for realtime, never routed by the gateway, and still behind `requireIdentity`. */
export function internalRouter(deps: UseCaseDeps): Router {
  const router = Router();
  router.get('/memberships', async (req, res) => {
    res.json({ chatIds: await listMyChatIds(deps, identityOf(req).userId) });
  });
  return router;
}
