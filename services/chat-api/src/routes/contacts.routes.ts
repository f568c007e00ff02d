import { Router } from 'express';
import { z } from 'zod';
import { identityOf, objectIdSchema, parseOrThrow } from '@cohort/common';
import type { UseCaseDeps } from '../use-cases/deps';
import { findSharedChatUsers, SHARED_CHAT_CANDIDATES_MAX } from '../use-cases/find-shared-chat-users';

const sharedChatUsersBodySchema = z.strictObject({
  userIds: z.array(objectIdSchema).max(SHARED_CHAT_CANDIDATES_MAX),
});

/**
 * POST /internal/shared-chat-users `{userIds}` → `{userIds}`: the subset sharing a chat with the caller (auth
 * shows only their emails in search). Internal (never routed by the gateway) and behind `requireIdentity`: the
 * caller is the forwarded identity, never a field of the body.
 */
export function contactsRouter(deps: UseCaseDeps): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    const { userIds } = parseOrThrow(sharedChatUsersBodySchema, req.body);
    res.json({ userIds: await findSharedChatUsers(deps, identityOf(req).userId, userIds) });
  });
  return router;
}
