import { z } from 'zod';
import {
  ASSISTANT_FULL_NAME,
  ASSISTANT_USER_ID,
  createServiceClient,
  type ForwardedCaller,
  type Logger,
} from '@cohort/common';

/** Display names of users, for attributing messages in the prompt. */
export interface UserNames {
  /** Names by id; an id that cannot be resolved gets a neutral label ("Member 2"). */
  names(userIds: readonly string[], caller: ForwardedCaller): Promise<Map<string, string>>;
  close(): Promise<void>;
}

const usersSchema = z.object({
  users: z.array(
    z.looseObject({ id: z.string(), fullName: z.object({ firstName: z.string(), lastName: z.string() }) }),
  ),
});

const TTL_MS = 5 * 60_000;

/**
 * auth's `GET /api/users?ids=` when AUTH_URL is set (cached a few minutes); without it, or when auth cannot
 * answer, members are "Member N" in the order given, so the model still tells speakers apart.
 */
export function createUserNames(options: { baseUrl?: string | undefined; logger: Logger }): UserNames {
  const auth = options.baseUrl
    ? createServiceClient({ name: 'auth', baseUrl: options.baseUrl, timeoutMs: 3000, logger: options.logger })
    : undefined;
  const cache = new Map<string, { name: string; until: number }>();
  return {
    async names(userIds, caller) {
      const now = Date.now();
      const result = new Map<string, string>();
      result.set(ASSISTANT_USER_ID, ASSISTANT_FULL_NAME.firstName);
      const missing = [...new Set(userIds)].filter((id) => {
        if (id === ASSISTANT_USER_ID) return false;
        const hit = cache.get(id);
        if (hit && hit.until > now) {
          result.set(id, hit.name);
          return false;
        }
        return true;
      });
      if (auth && missing.length > 0) {
        try {
          for (let i = 0; i < missing.length; i += 100) {
            const chunk = missing.slice(i, i + 100);
            const { users } = await auth.call({
              method: 'GET',
              path: `/api/users?ids=${chunk.map(encodeURIComponent).join(',')}`,
              caller,
              answer: usersSchema,
            });
            for (const user of users) {
              const name = `${user.fullName.firstName} ${user.fullName.lastName}`.trim();
              result.set(user.id, name);
              if (cache.size > 10_000) cache.clear();
              cache.set(user.id, { name, until: now + TTL_MS });
            }
          }
        } catch (err) {
          options.logger.warn({ err }, 'member names unavailable: neutral labels used');
        }
      }
      let n = 1;
      for (const id of userIds) if (!result.has(id)) result.set(id, `Member ${n++}`);
      return result;
    },
    close: async () => {
      await auth?.close();
    },
  };
}
