import { z } from 'zod';
import { createServiceClient, type ForwardedCaller, type Logger, type ServiceClient } from '@cohort/common';

/** Memberships live in chat-api; auth asks it whose email a searcher may see (docs/http-api.md, user search). */
export interface SharedChats {
  /**
   * The users among `userIds` who share a chat with the caller. Never fails: when chat-api is not configured,
   * unreachable or answers oddly, the answer is "none" (fail closed: no email is shown by mistake).
   */
  amongUsers(
    userIds: readonly string[],
    caller: ForwardedCaller & { assertion: string },
  ): Promise<Set<string>>;
  close(): Promise<void>;
}

export interface ChatApiClientOptions {
  /** chat-api's base URL, read at each call (undefined: not configured; the embedded launcher learns it late). */
  baseUrl: () => string | undefined;
  logger: Logger;
  timeoutMs?: number;
}

const answerSchema = z.object({ userIds: z.array(z.string()) });

/** `POST {CHAT_API_URL}/internal/shared-chat-users` on the shared service client. */
export function createChatApiClient({
  baseUrl,
  logger,
  timeoutMs = 2000,
}: ChatApiClientOptions): SharedChats {
  let client: { url: string; service: ServiceClient } | undefined;
  const serviceFor = (url: string): ServiceClient => {
    if (client?.url !== url) {
      void client?.service.close();
      client = { url, service: createServiceClient({ name: 'chat-api', baseUrl: url, timeoutMs, logger }) };
    }
    return client.service;
  };
  return {
    async amongUsers(userIds, caller) {
      const url = baseUrl();
      if (!url || userIds.length === 0) return new Set();
      try {
        const answer = await serviceFor(url).call({
          method: 'POST',
          path: '/internal/shared-chat-users',
          caller,
          body: { userIds },
          answer: answerSchema,
        });
        // Only ids that were asked about: a confused answer cannot reveal anyone else's email.
        const asked = new Set(userIds);
        return new Set(answer.userIds.filter((id) => asked.has(id)));
      } catch (err) {
        logger.warn({ err }, 'shared-chat lookup failed; showing no emails');
        return new Set();
      }
    },
    async close() {
      await client?.service.close();
    },
  };
}
