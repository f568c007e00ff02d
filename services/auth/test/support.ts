import type { Response } from 'supertest';
import {
  createAccessTokenVerifier,
  createIdentitySigner,
  createMemoryBus,
  createMemoryDenylist,
  importSigningKey,
  type AccessClaims,
  type EventBus,
  type SessionEvent,
  type TokenDenylist,
} from '@cohort/common';
import { generateTestKeys, testLogger, type TestKeys } from '@cohort/testkit';
import { loadAuthConfig, startAuth } from '../src';

export const GOOD_PASSWORD = 'Tr0ub4dor&3-kilo';

export interface TestAuth {
  url: string;
  keys: TestKeys;
  denylist: TokenDenylist;
  bus: EventBus;
  /** Every `session-events` message published so far. */
  sessionEvents: SessionEvent[];
  /** Resolves with the first `session-events` message (already received or still to come) matching `match`. */
  sessionEvent(match: (event: SessionEvent) => boolean): Promise<SessionEvent>;
  /** What the gateway forwards for a request carrying `accessToken`: a signed `x-cohort-identity`. */
  identityFor(accessToken: string): Promise<string>;
  close(): Promise<void>;
}

export interface TestAuthOptions {
  mongoUrl: string;
  /** Extra environment (REDIS_URL, limits, NODE_ENV…). */
  env?: Record<string, string>;
  keys?: TestKeys;
  denylist?: TokenDenylist;
  bus?: EventBus;
}

/** Starts the real auth service (startAuth, as main.ts does) on a free port with test keys and cost-4 bcrypt. */
export async function startTestAuth(options: TestAuthOptions): Promise<TestAuth> {
  const keys = options.keys ?? (await generateTestKeys());
  const config = loadAuthConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    MONGO_URL: options.mongoUrl,
    JWT_PRIVATE_KEY: keys.access.privateKeyPem,
    INTERNAL_JWKS: JSON.stringify(keys.internalJwks),
    BCRYPT_COST: '4',
    PASSWORD_HASH_THREADS: '1',
    // Test files send many logins from 127.0.0.1; the ceiling itself is tested with a low value.
    LOGIN_IP_LIMIT: '1000',
    ...options.env,
  });
  const denylist = options.denylist ?? createMemoryDenylist();
  const bus = options.bus ?? createMemoryBus();
  const sessionEvents: SessionEvent[] = [];
  const waiters = new Set<{
    match: (event: SessionEvent) => boolean;
    resolve: (event: SessionEvent) => void;
  }>();
  const unsubscribe = await bus.subscribe('session-events', (event) => {
    sessionEvents.push(event);
    for (const waiter of waiters) {
      if (waiter.match(event)) {
        waiters.delete(waiter);
        waiter.resolve(event);
      }
    }
  });
  const running = await startAuth({ config, logger: testLogger('auth'), shared: { bus, denylist } });

  // The gateway's side of identity forwarding, with the gateway's real key: verify the JWT, sign the assertion.
  const verify = createAccessTokenVerifier({ jwks: keys.accessJwks });
  const signer = createIdentitySigner(
    await importSigningKey(keys.gatewayIdentity.privateKeyPem, 'EdDSA'),
    'gateway',
  );

  return {
    url: `http://127.0.0.1:${running.port}`,
    keys,
    denylist,
    bus,
    sessionEvents,
    sessionEvent: (match) => {
      const seen = sessionEvents.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.add({ match, resolve }));
    },
    identityFor: async (accessToken) => signer.sign(await verify(accessToken)),
    async close() {
      await unsubscribe();
      await running.close();
    },
  };
}

export interface SetCookie {
  value: string;
  /** Lower-cased attribute names → values ('' for flags such as HttpOnly). */
  attributes: Record<string, string>;
}

/** The cookies a response sets, by name. */
export function setCookies(res: Response): Map<string, SetCookie> {
  const header = res.headers['set-cookie'] as string[] | string | undefined;
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const cookies = new Map<string, SetCookie>();
  for (const line of lines) {
    const [pair = '', ...attrs] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const attributes: Record<string, string> = {};
    for (const attr of attrs) {
      const at = attr.indexOf('=');
      if (at === -1) attributes[attr.toLowerCase()] = '';
      else attributes[attr.slice(0, at).toLowerCase()] = attr.slice(at + 1);
    }
    cookies.set(pair.slice(0, eq), { value: decodeURIComponent(pair.slice(eq + 1)), attributes });
  }
  return cookies;
}

/** The value of cookie `name` set by `res`; fails the test when absent. */
export function cookieValue(res: Response, name: string): string {
  const cookie = setCookies(res).get(name);
  if (!cookie)
    throw new Error(`response did not set cookie ${name}: ${JSON.stringify(res.headers['set-cookie'])}`);
  return cookie.value;
}

let counter = 0;
/** A fresh, valid registration body. */
export function newUser(
  overrides: { email?: string; firstName?: string; lastName?: string; password?: string } = {},
) {
  counter += 1;
  return {
    email: overrides.email ?? `user${counter}-${Date.now()}@example.com`,
    password: overrides.password ?? GOOD_PASSWORD,
    fullName: { firstName: overrides.firstName ?? 'Test', lastName: overrides.lastName ?? `User${counter}` },
  };
}

export type { AccessClaims };
