import { z } from 'zod';
import { AppError, createServiceClient, type Logger } from '@cohort/common';
import type { Caller } from '../domain/caller';

/** Users live in auth; chat-api asks it whether ids it is about to store are real users. */
export interface UserDirectory {
  /**
   * Resolves when every id is a registered user; 404 `user_not_found` otherwise; 503 `upstream_unavailable` or
   * 504 `upstream_timeout` when auth cannot answer (libs/common service client).
   */
  assertUsersExist(userIds: readonly string[], caller: Caller): Promise<void>;
  close(): Promise<void>;
}

export interface AuthUserDirectoryOptions {
  /** Auth's base URL (`AUTH_URL`). */
  baseUrl: string;
  logger: Logger;
  timeoutMs?: number;
}

const usersResponseSchema = z.object({ users: z.array(z.looseObject({ id: z.string() })) });
// 100 ids of 24 characters keep the request line far below Node's 16 KB header limit.
const IDS_PER_REQUEST = 100;

/** `GET {AUTH_URL}/api/users?ids=a,b` on the caller's behalf (their identity assertion, passed on unchanged). */
export function createAuthUserDirectory({
  baseUrl,
  logger,
  timeoutMs = 3000,
}: AuthUserDirectoryOptions): UserDirectory {
  const auth = createServiceClient({ name: 'auth', baseUrl, timeoutMs, connections: 32, logger });

  const lookup = async (ids: readonly string[], caller: Caller): Promise<Set<string>> => {
    const { users } = await auth.call({
      method: 'GET',
      path: `/api/users?ids=${ids.map(encodeURIComponent).join(',')}`,
      caller,
      answer: usersResponseSchema,
    });
    return new Set(users.map((u) => u.id));
  };

  return {
    async assertUsersExist(userIds, caller) {
      const unique = [...new Set(userIds)];
      if (unique.length === 0) return;
      const chunks: string[][] = [];
      for (let i = 0; i < unique.length; i += IDS_PER_REQUEST)
        chunks.push(unique.slice(i, i + IDS_PER_REQUEST));
      const found = await Promise.all(chunks.map((chunk) => lookup(chunk, caller)));
      const missing = unique.filter((id) => !found.some((set) => set.has(id)));
      if (missing.length > 0) {
        throw new AppError(
          404,
          'user_not_found',
          `No such user: ${missing.join(', ')}`,
          {},
          { userIds: missing },
        );
      }
    },
    close: () => auth.close(),
  };
}
