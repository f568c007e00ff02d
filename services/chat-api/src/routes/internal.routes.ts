import { Router } from 'express';
import type { z } from 'zod';
import {
  AppError,
  ASSISTANT_FORWARDER,
  chatParamsSchema,
  identityOf,
  membershipBatchBodySchema,
  messageBatchBodySchema,
  storeAnswerBodySchema,
  syncBatchBodySchema,
  parseOrThrow,
  type ChannelRoute,
  type IdentityVerifier,
  type MembershipBatchResult,
  type MessageBatchResult,
  type SyncBatchResult,
} from '@cohort/common';
import type { UseCaseDeps } from '../use-cases/deps';
import { listMembershipsBatch, membershipsOfEach } from '../use-cases/list-memberships-batch';
import { listMessagesBatch } from '../use-cases/list-messages-batch';
import { sendMessageBatch } from '../use-cases/send-message-batch';
import { storeAnswer } from '../use-cases/store-answer';
import { callerOf } from './caller';

/** /internal/*: for realtime, never routed by the gateway, and still behind `requireIdentity`. */
export function internalRouter(deps: UseCaseDeps): Router {
  const router = Router();
  // What a socket needs at its handshake: the chats whose rooms it joins, and the users in a block relation with
  // the caller either way, whom realtime keeps out of each other's typing and presence. Realtime asks for these in
  // batches (membershipBatchRouter below); this single form stays for a realtime from before the batches.
  router.get('/memberships', async (req, res) => {
    const { userId } = identityOf(req);
    const { chatIds, partners } = await membershipsOfEach(deps, [userId]);
    res.json({ chatIds: chatIds.get(userId) ?? [], blockPartners: partners.get(userId) ?? [] });
  });
  // The assistant's answers (DESIGN §7): only under the assistant's own forwarding, as the assistant user.
  router.post('/chats/:chatId/answers', async (req, res) => {
    if (identityOf(req).forwardedBy !== ASSISTANT_FORWARDER)
      throw AppError.forbidden('Only the assistant stores answers');
    const { chatId } = parseOrThrow(chatParamsSchema, req.params);
    const body = parseOrThrow(storeAnswerBodySchema, req.body);
    const { message, created } = await storeAnswer(deps, callerOf(req), chatId, body);
    res.status(created ? 201 : 200).json({ message });
  });
  return router;
}

/**
 * Realtime's internal batch routes by path: no identity on the call itself, because each entry carries and is
 * checked against its own; the answer is `{results}`, one per entry in entry order. Served over HTTP
 * (`batchRouter`) and over the internal channel (main.ts), the same handler either way.
 */
export function internalBatchRoutes(
  deps: UseCaseDeps,
  verifyIdentity: IdentityVerifier,
): Record<string, ChannelRoute> {
  return {
    // realtime's chat:send (use-cases/send-message-batch.ts)
    '/internal/message-batches': batch(messageBatchBodySchema, ({ sends }): Promise<MessageBatchResult[]> =>
      sendMessageBatch(deps, verifyIdentity, sends),
    ),
    // realtime's handshakes (use-cases/list-memberships-batch.ts)
    '/internal/membership-batches': batch(
      membershipBatchBodySchema,
      ({ lookups }): Promise<MembershipBatchResult[]> => listMembershipsBatch(deps, verifyIdentity, lookups),
    ),
    // realtime's chat:sync (use-cases/list-messages-batch.ts)
    '/internal/sync-batches': batch(syncBatchBodySchema, ({ syncs }): Promise<SyncBatchResult[]> =>
      listMessagesBatch(deps, verifyIdentity, syncs),
    ),
  };
}

function batch<S extends z.ZodType, R>(schema: S, answer: (body: z.infer<S>) => Promise<R[]>): ChannelRoute {
  return async (body) => ({ results: await answer(parseOrThrow(schema, body)) });
}

/** The batch routes as `POST <path>` over HTTP. */
export function batchRouter(routes: Record<string, ChannelRoute>): Router {
  const router = Router();
  for (const [path, route] of Object.entries(routes)) {
    router.post(path, async (req, res) => {
      res.json(await route(req.body));
    });
  }
  return router;
}
