import { Agent, request, errors as undiciErrors } from 'undici';
import { z } from 'zod';
import { AppError, IDENTITY_HEADER, REQUEST_ID_HEADER, type Logger } from '@cohort/common';
import type { Caller } from './caller';

/** Users live in auth; chat-api asks it whether ids it is about to store are real users. */
export interface UserDirectory {
  /** Resolves when every id is a registered user; 404 `user_not_found` otherwise, 503 when auth cannot answer. */
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

/** `GET {AUTH_URL}/api/users?ids=a,b` over a keep-alive pool, forwarding the caller's identity assertion. */
export function createAuthUserDirectory({
  baseUrl,
  logger,
  timeoutMs = 3000,
}: AuthUserDirectoryOptions): UserDirectory {
  const agent = new Agent({
    keepAliveTimeout: 10_000,
    connections: 32,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });

  const unavailable = (reason: string, detail: Record<string, unknown>) => {
    logger.error({ ...detail, authUrl: baseUrl }, `user lookup failed: ${reason}`);
    return new AppError(503, 'auth_unavailable', 'The user directory is unavailable; try again shortly', {
      'Retry-After': '1',
    });
  };

  const lookup = async (ids: readonly string[], caller: Caller): Promise<Set<string>> => {
    const url = `${baseUrl}/api/users?ids=${ids.map(encodeURIComponent).join(',')}`;
    let response;
    try {
      response = await request(url, {
        method: 'GET',
        dispatcher: agent,
        headers: {
          [IDENTITY_HEADER]: caller.assertion,
          [REQUEST_ID_HEADER]: caller.requestId,
          accept: 'application/json',
        },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const timedOut =
        err instanceof undiciErrors.HeadersTimeoutError ||
        (err instanceof Error && err.name === 'TimeoutError');
      throw unavailable(timedOut ? 'timeout' : 'unreachable', { err });
    }
    let body: unknown;
    try {
      body = await response.body.json();
    } catch (err) {
      throw unavailable('unreadable answer', { err, status: response.statusCode });
    }
    if (response.statusCode !== 200)
      throw unavailable('unexpected status', { status: response.statusCode, body });
    const parsed = usersResponseSchema.safeParse(body);
    if (!parsed.success) throw unavailable('unexpected answer shape', { issues: parsed.error.issues });
    return new Set(parsed.data.users.map((u) => u.id));
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
    async close() {
      await agent.close();
    },
  };
}
