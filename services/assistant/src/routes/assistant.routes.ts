import { Router, type Request } from 'express';
import {
  ASSISTANT_FULL_NAME,
  ASSISTANT_USER_ID,
  chatParamsSchema,
  IDENTITY_HEADER,
  identityOf,
  parseOrThrow,
  type AssistantInfo,
  type BudgetLimiter,
  type ForwardedCaller,
} from '@cohort/common';
import { catchUp, type CatchUpDeps } from '../use-cases/catch-up';

/** The gateway's forwarded identity, passed on unchanged to chat-api (it answers as that user). */
function forwardedCaller(req: Request): ForwardedCaller {
  const assertion = req.headers[IDENTITY_HEADER];
  return { assertion: typeof assertion === 'string' ? assertion : null, requestId: String(req.id) };
}

export interface AssistantRoutesDeps extends CatchUpDeps {
  /** The model answering, or null (disabled). */
  model: () => string | null;
  summaryLimiter: BudgetLimiter;
}

/** GET /api/assistant and POST /api/chats/:chatId/summary (DESIGN §7); both behind `requireIdentity`. */
export function assistantRouter(deps: AssistantRoutesDeps): Router {
  const router = Router();
  router.get('/api/assistant', (req, res) => {
    identityOf(req);
    const model = deps.model();
    const assistant: AssistantInfo = {
      id: ASSISTANT_USER_ID,
      fullName: ASSISTANT_FULL_NAME,
      enabled: model !== null,
      model,
    };
    res.json({ assistant });
  });
  router.post('/api/chats/:chatId/summary', async (req, res) => {
    const { userId } = identityOf(req);
    const { chatId } = parseOrThrow(chatParamsSchema, req.params);
    await deps.summaryLimiter.consume(userId);
    res.json(await catchUp(deps, chatId, userId, forwardedCaller(req)));
  });
  return router;
}
