import { Router } from 'express';
import {
  identityOf,
  messageBatchBodySchema,
  parseOrThrow,
  type IdentityVerifier,
  type MessageBatchResponse,
} from '@cohort/common';
import type { UseCaseDeps } from '../use-cases/deps';
import { listMyChatIds } from '../use-cases/list-my-chat-ids';
import { sendMessageBatch } from '../use-cases/send-message-batch';

/** /internal/*: for realtime, never routed by the gateway, and still behind `requireIdentity`. */
export function internalRouter(deps: UseCaseDeps): Router {
  const router = Router();
  router.get('/memberships', async (req, res) => {
    res.json({ chatIds: await listMyChatIds(deps, identityOf(req).userId) });
  });
  return router;
}

/**
 * POST /internal/message-batches (realtime's chat:send): no identity header on the request itself, because each
 * entry carries and is checked against its own (use-cases/send-message-batch.ts).
 */
export function messageBatchRouter(deps: UseCaseDeps, verifyIdentity: IdentityVerifier): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    const { sends } = parseOrThrow(messageBatchBodySchema, req.body);
    const body: MessageBatchResponse = { results: await sendMessageBatch(deps, verifyIdentity, sends) };
    res.json(body);
  });
  return router;
}
