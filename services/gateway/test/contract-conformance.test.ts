import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import {
  errorBodySchema,
  HTTP_ROUTES,
  readCookie,
  routeKey,
  SOCKET_CLIENT_EVENTS,
  SOCKET_COMMON_ERRORS,
  SOCKET_SERVER_EVENTS,
  type HttpRoute,
  type PublicUser,
} from '@cohort/common';
import {
  connectSocket,
  generateTestKeys,
  type ChatSocket,
  spawnService,
  startRedisServer,
  startTestMongo,
  withDatabase,
  type RedisServer,
  type ServiceProcess,
  type TestKeys,
  type TestMongo,
} from '@cohort/testkit';
import { accessFor, type RouteAccess } from '../src';
import { accessToken } from './support';

/**
 * Route by route, the live stack answers what the contract table (libs/common contracts/http-routes.ts, from
 * which /api/openapi.json is generated) declares: every status is one the route lists, a success body parses with
 * the route's (strict) schema, an error body is `{error:{code,message}}` with a code listed for that status.
 * The table drives the test: a route added to it without cases here fails ("no case for route …"). The Socket.IO
 * tables (contracts/socket-contract.ts, from which /api/asyncapi.json is generated) are checked the same way, event
 * by event. Real processes (gateway, auth, chat-api, realtime) on the embedded Mongo-compatible store and a real
 * redis-server, in embedded mode: one origin serves the API and /socket.io.
 */

interface Live {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

interface Session {
  user: PublicUser;
  token: string;
  refresh: string;
  password: string;
}

interface RequestOptions {
  as?: Session;
  /** Cookie header instead of Bearer (CSRF cases). */
  cookie?: string;
  origin?: string;
  body?: unknown;
}

type Call = (method: string, path: string, options?: RequestOptions) => Promise<Live>;

/** One exercise of a route: what it does, and the status it must get (which the table must declare). */
interface Case {
  name: string;
  expect: number;
  run: (call: Call) => Promise<Live>;
}

interface RouteCases {
  success: Case[];
  /** Failure cases, or why the route has none a client can cause (only 5xx). */
  errors: Case[] | { none: string };
}

describe('the live API conforms to the contract table, route by route', () => {
  let mongo: TestMongo;
  let redis: RedisServer;
  const processes: ServiceProcess[] = [];
  let gatewayUrl = '';
  let alice: Session;
  let bob: Session;
  let carol: Session;
  /** A group owned by alice, with bob as a member, holding one message of alice's. */
  let group: { chatId: string; messageId: string };

  let keys: TestKeys;

  beforeAll(async () => {
    keys = await generateTestKeys();
    [mongo, redis] = await Promise.all([startTestMongo('conformance'), startRedisServer()]);
    const db = new URL(mongo.url).pathname.slice(1);
    const internalJwks = JSON.stringify(keys.internalJwks);
    try {
      const auth = await spawnService({
        service: 'auth',
        env: {
          MONGO_URL: withDatabase(mongo.url, `${db}_auth`),
          REDIS_URL: redis.url,
          JWT_PRIVATE_KEY: keys.access.privateKeyPem,
          INTERNAL_JWKS: internalJwks,
          BCRYPT_COST: '4',
          PASSWORD_HASH_THREADS: '1',
          LOGIN_IP_LIMIT: '10000',
        },
      });
      processes.push(auth);
      const chatApi = await spawnService({
        service: 'chat-api',
        env: {
          MONGO_URL: withDatabase(mongo.url, `${db}_chat`),
          REDIS_URL: redis.url,
          INTERNAL_JWKS: internalJwks,
          AUTH_URL: auth.url,
        },
      });
      processes.push(chatApi);
      const realtime = await spawnService({
        service: 'realtime',
        env: {
          REDIS_URL: redis.url,
          JWKS_URL: `${auth.url}/api/auth/jwks.json`,
          INTERNAL_SIGNING_KEY: keys.realtimeIdentity.privateKeyPem,
          CHAT_API_URL: chatApi.url,
        },
      });
      processes.push(realtime);
      // No model configured: the assistant answers that it is disabled, and catch-me-up is extractive.
      const assistant = await spawnService({
        service: 'assistant',
        env: {
          REDIS_URL: redis.url,
          CHAT_API_URL: chatApi.url,
          AUTH_URL: auth.url,
          INTERNAL_JWKS: internalJwks,
          INTERNAL_SIGNING_KEY: keys.assistantIdentity.privateKeyPem,
        },
      });
      processes.push(assistant);
      const gateway = await spawnService({
        service: 'gateway',
        env: {
          AUTH_URL: auth.url,
          CHAT_API_URL: chatApi.url,
          REALTIME_URL: realtime.url,
          ASSISTANT_URL: assistant.url,
          REDIS_URL: redis.url,
          INTERNAL_SIGNING_KEY: keys.gatewayIdentity.privateKeyPem,
        },
      });
      processes.push(gateway);
      gatewayUrl = gateway.url;
    } catch (err) {
      await Promise.allSettled(processes.map((p) => p.kill()));
      throw err;
    }
    [alice, bob, carol] = await Promise.all([register('alice'), register('bob'), register('carol')]);
    const chat = await createGroup(alice, [bob.user.id]);
    group = { chatId: chat, messageId: await sendMessage(alice, chat) };
  }, 120_000);

  const sockets: ChatSocket[] = [];
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await Promise.allSettled([...processes].reverse().map((p) => p.stop()));
    await Promise.allSettled([redis?.close(), mongo?.close()]);
  }, 30_000);

  const call: Call = async (method, path, options = {}) => {
    const headers: Record<string, string> = {};
    if (options.as) headers.authorization = `Bearer ${options.as.token}`;
    if (options.cookie) headers.cookie = options.cookie;
    if (options.origin) headers.origin = options.origin;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${gatewayUrl}${path}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers, text, body };
  };

  const must = (live: Live, status: number, what: string): Live => {
    if (live.status !== status)
      throw new Error(`${what}: expected ${status}, got ${live.status} ${live.text}`);
    return live;
  };

  async function register(name: string): Promise<Session> {
    const password = `pw-${randomUUID()}`;
    const res = await fetch(`${gatewayUrl}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `${name}.${randomUUID()}@example.test`,
        password,
        fullName: { firstName: name, lastName: 'Conformance' },
      }),
    });
    const body = (await res.json()) as { user: PublicUser };
    if (res.status !== 201) throw new Error(`register ${name}: ${res.status} ${JSON.stringify(body)}`);
    const cookies = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0] ?? '')
      .join('; ');
    const token = readCookie(cookies, 'token');
    const refresh = readCookie(cookies, 'refresh_token');
    if (!token || !refresh) throw new Error(`register ${name} set no session cookies`);
    return { user: body.user, token, refresh, password };
  }

  async function createGroup(owner: Session, memberIds: string[]): Promise<string> {
    const live = must(
      await call('POST', '/api/chats', {
        as: owner,
        body: { type: 'group', title: 'conformance', memberIds },
      }),
      201,
      'create group',
    );
    return (live.body as { chat: { id: string } }).chat.id;
  }

  async function sendMessage(sender: Session, chatId: string): Promise<string> {
    const live = must(
      await call('POST', `/api/chats/${chatId}/messages`, {
        as: sender,
        body: { text: 'hello', clientMsgId: randomUUID() },
      }),
      201,
      'send',
    );
    return (live.body as { message: { id: string } }).message.id;
  }

  const unknownId = () => '0123456789abcdef01234567';
  const foreign = 'http://evil.example';

  const CASES: Record<string, RouteCases> = {
    'POST /api/auth/register': {
      success: [
        {
          name: 'a new account',
          expect: 201,
          run: (c) =>
            c('POST', '/api/auth/register', {
              body: {
                email: `new.${randomUUID()}@example.test`,
                password: 'correct horse battery',
                fullName: { firstName: 'New', lastName: 'User' },
              },
            }),
        },
      ],
      errors: [
        {
          name: 'an email already registered',
          expect: 409,
          run: (c) =>
            c('POST', '/api/auth/register', {
              body: {
                email: alice.user.email,
                password: 'correct horse battery',
                fullName: { firstName: 'A', lastName: 'B' },
              },
            }),
        },
        {
          name: 'an operator object where the email belongs',
          expect: 400,
          run: (c) =>
            c('POST', '/api/auth/register', {
              body: { email: { $gt: '' }, password: 'x', fullName: { firstName: 'A', lastName: 'B' } },
            }),
        },
      ],
    },
    'POST /api/auth/login': {
      success: [
        {
          name: 'the right password',
          expect: 200,
          run: (c) =>
            c('POST', '/api/auth/login', { body: { email: bob.user.email, password: bob.password } }),
        },
      ],
      errors: [
        {
          name: 'a wrong password',
          expect: 401,
          run: (c) =>
            c('POST', '/api/auth/login', { body: { email: bob.user.email, password: 'wrong password' } }),
        },
      ],
    },
    'POST /api/auth/refresh': {
      success: [
        {
          name: 'a fresh refresh cookie',
          expect: 200,
          run: async (c) => {
            const session = await register('refresher');
            return c('POST', '/api/auth/refresh', { cookie: `refresh_token=${session.refresh}` });
          },
        },
      ],
      errors: [{ name: 'no refresh cookie', expect: 401, run: (c) => c('POST', '/api/auth/refresh') }],
    },
    'POST /api/auth/logout': {
      success: [
        {
          name: 'a live session',
          expect: 204,
          run: async (c) => c('POST', '/api/auth/logout', { as: await register('leaver') }),
        },
      ],
      errors: [
        {
          name: 'the session cookie from a foreign Origin',
          expect: 403,
          run: (c) => c('POST', '/api/auth/logout', { cookie: `token=${carol.token}`, origin: foreign }),
        },
      ],
    },
    'GET /api/auth/me': {
      success: [{ name: 'a session', expect: 200, run: (c) => c('GET', '/api/auth/me', { as: alice }) }],
      errors: [{ name: 'no session', expect: 401, run: (c) => c('GET', '/api/auth/me') }],
    },
    'GET /api/auth/jwks.json': {
      success: [{ name: 'no session needed', expect: 200, run: (c) => c('GET', '/api/auth/jwks.json') }],
      errors: { none: 'public and reads no input: only the 5xx every route may answer' },
    },
    'GET /api/users/search': {
      success: [
        { name: 'a name', expect: 200, run: (c) => c('GET', '/api/users/search?q=bob', { as: alice }) },
        {
          name: 'an exact email (shown)',
          expect: 200,
          run: (c) => c('GET', `/api/users/search?q=${encodeURIComponent(carol.user.email)}`, { as: alice }),
        },
      ],
      errors: [
        {
          name: 'q under 2 characters',
          expect: 400,
          run: (c) => c('GET', '/api/users/search?q=b', { as: alice }),
        },
      ],
    },
    'GET /api/users': {
      success: [
        {
          name: 'known and unknown ids',
          expect: 200,
          run: (c) =>
            c('GET', `/api/users?ids=${alice.user.id},${bob.user.id},${unknownId()}`, { as: alice }),
        },
      ],
      errors: [
        { name: 'a malformed id', expect: 400, run: (c) => c('GET', '/api/users?ids=nope', { as: alice }) },
        { name: 'no session', expect: 401, run: (c) => c('GET', `/api/users?ids=${bob.user.id}`) },
      ],
    },
    'GET /api/users/blocked': {
      success: [
        {
          name: 'a page with one blocked user',
          expect: 200,
          run: async (c) => {
            must(await c('PUT', `/api/users/${carol.user.id}/block`, { as: bob }), 204, 'block');
            return c('GET', '/api/users/blocked?limit=10', { as: bob });
          },
        },
      ],
      errors: [
        {
          name: 'a cursor no page gave',
          expect: 400,
          run: (c) => c('GET', '/api/users/blocked?cursor=not-a-cursor', { as: bob }),
        },
      ],
    },
    'PUT /api/users/:userId/block': {
      success: [
        {
          name: 'another user',
          expect: 204,
          run: (c) => c('PUT', `/api/users/${alice.user.id}/block`, { as: carol }),
        },
      ],
      errors: [
        {
          name: 'myself',
          expect: 400,
          run: (c) => c('PUT', `/api/users/${carol.user.id}/block`, { as: carol }),
        },
      ],
    },
    'DELETE /api/users/:userId/block': {
      success: [
        {
          name: 'a blocked user',
          expect: 204,
          run: (c) => c('DELETE', `/api/users/${alice.user.id}/block`, { as: carol }),
        },
      ],
      errors: [
        {
          name: 'a malformed id',
          expect: 400,
          run: (c) => c('DELETE', '/api/users/xyz/block', { as: carol }),
        },
      ],
    },
    'POST /api/chats': {
      success: [
        {
          name: 'a group',
          expect: 201,
          run: (c) =>
            c('POST', '/api/chats', {
              as: alice,
              body: { type: 'group', title: 'g', memberIds: [bob.user.id] },
            }),
        },
        {
          name: 'the direct chat that already exists',
          expect: 200,
          run: async (c) => {
            const body = { type: 'direct', userId: alice.user.id };
            must(await c('POST', '/api/chats', { as: bob, body }), 201, 'first direct');
            return c('POST', '/api/chats', { as: bob, body });
          },
        },
      ],
      errors: [
        {
          name: 'a direct chat with a user who blocked me',
          expect: 403,
          run: async (c) => {
            const blocker = await register('blocker');
            must(await c('PUT', `/api/users/${alice.user.id}/block`, { as: blocker }), 204, 'block');
            return c('POST', '/api/chats', { as: alice, body: { type: 'direct', userId: blocker.user.id } });
          },
        },
        {
          name: 'a member who does not exist',
          expect: 404,
          run: (c) =>
            c('POST', '/api/chats', {
              as: alice,
              body: { type: 'group', title: 'g', memberIds: [unknownId()] },
            }),
        },
        {
          name: 'an unknown type',
          expect: 400,
          run: (c) => c('POST', '/api/chats', { as: alice, body: { type: 'x' } }),
        },
      ],
    },
    'GET /api/chats': {
      success: [{ name: 'my chats', expect: 200, run: (c) => c('GET', '/api/chats?limit=2', { as: alice }) }],
      errors: [{ name: 'limit 0', expect: 400, run: (c) => c('GET', '/api/chats?limit=0', { as: alice }) }],
    },
    'GET /api/chats/:chatId': {
      success: [
        { name: 'a member', expect: 200, run: (c) => c('GET', `/api/chats/${group.chatId}`, { as: bob }) },
      ],
      errors: [
        {
          name: 'not a member',
          expect: 404,
          run: (c) => c('GET', `/api/chats/${group.chatId}`, { as: carol }),
        },
      ],
    },
    'PATCH /api/chats/:chatId': {
      success: [
        {
          name: 'the owner renames a group',
          expect: 200,
          run: async (c) =>
            c('PATCH', `/api/chats/${await createGroup(alice, [bob.user.id])}`, {
              as: alice,
              body: { title: '  renamed  ' },
            }),
        },
      ],
      errors: [
        {
          name: 'a blank title',
          expect: 400,
          run: (c) => c('PATCH', `/api/chats/${group.chatId}`, { as: alice, body: { title: '   ' } }),
        },
        {
          name: 'a member who is not the owner',
          expect: 403,
          run: (c) => c('PATCH', `/api/chats/${group.chatId}`, { as: bob, body: { title: 'mine' } }),
        },
        {
          name: 'not a member',
          expect: 404,
          run: (c) => c('PATCH', `/api/chats/${group.chatId}`, { as: carol, body: { title: 'mine' } }),
        },
      ],
    },
    'POST /api/chats/:chatId/members': {
      success: [
        {
          name: 'a new member',
          expect: 201,
          run: async (c) => {
            const chatId = await createGroup(alice, []);
            return c('POST', `/api/chats/${chatId}/members`, { as: alice, body: { userId: carol.user.id } });
          },
        },
        {
          name: 'a current member (nothing changes)',
          expect: 200,
          run: (c) =>
            c('POST', `/api/chats/${group.chatId}/members`, { as: alice, body: { userId: bob.user.id } }),
        },
      ],
      errors: [
        {
          name: 'a member who is not the owner',
          expect: 403,
          run: (c) =>
            c('POST', `/api/chats/${group.chatId}/members`, { as: bob, body: { userId: carol.user.id } }),
        },
      ],
    },
    'DELETE /api/chats/:chatId/members/:userId': {
      success: [
        {
          name: 'the owner removes a member',
          expect: 204,
          run: async (c) => {
            const chatId = await createGroup(alice, [carol.user.id]);
            return c('DELETE', `/api/chats/${chatId}/members/${carol.user.id}`, { as: alice });
          },
        },
      ],
      errors: [
        {
          name: 'a member removes the owner',
          expect: 403,
          run: (c) => c('DELETE', `/api/chats/${group.chatId}/members/${alice.user.id}`, { as: bob }),
        },
        {
          name: 'a user who is not a member',
          expect: 404,
          run: (c) => c('DELETE', `/api/chats/${group.chatId}/members/${carol.user.id}`, { as: alice }),
        },
      ],
    },
    'GET /api/chats/:chatId/messages': {
      success: [
        {
          name: 'a member',
          expect: 200,
          run: (c) => c('GET', `/api/chats/${group.chatId}/messages?after=0&limit=10`, { as: bob }),
        },
      ],
      errors: [
        {
          name: 'before and after together',
          expect: 400,
          run: (c) => c('GET', `/api/chats/${group.chatId}/messages?after=0&before=5`, { as: bob }),
        },
        {
          name: 'not a member',
          expect: 404,
          run: (c) => c('GET', `/api/chats/${group.chatId}/messages`, { as: carol }),
        },
      ],
    },
    'POST /api/chats/:chatId/messages': {
      success: [
        {
          name: 'a new message',
          expect: 201,
          run: (c) =>
            c('POST', `/api/chats/${group.chatId}/messages`, {
              as: bob,
              body: { text: 'hi', clientMsgId: randomUUID() },
            }),
        },
        {
          name: 'a reply mentioning a member',
          expect: 201,
          run: (c) =>
            c('POST', `/api/chats/${group.chatId}/messages`, {
              as: bob,
              body: {
                text: '@alice yes',
                clientMsgId: randomUUID(),
                replyTo: group.messageId,
                mentions: [alice.user.id],
              },
            }),
        },
        {
          name: 'the same clientMsgId again',
          expect: 200,
          run: async (c) => {
            const body = { text: 'once', clientMsgId: randomUUID() };
            must(
              await c('POST', `/api/chats/${group.chatId}/messages`, { as: bob, body }),
              201,
              'first send',
            );
            return c('POST', `/api/chats/${group.chatId}/messages`, { as: bob, body });
          },
        },
      ],
      errors: [
        {
          name: 'a reply to a message of another chat',
          expect: 400,
          run: async (c) =>
            c('POST', `/api/chats/${await createGroup(alice, [])}/messages`, {
              as: alice,
              body: { text: 're', clientMsgId: randomUUID(), replyTo: group.messageId },
            }),
        },
        {
          name: 'a mention of a non-member',
          expect: 400,
          run: (c) =>
            c('POST', `/api/chats/${group.chatId}/messages`, {
              as: bob,
              body: { text: '@carol', clientMsgId: randomUUID(), mentions: [carol.user.id] },
            }),
        },
        {
          name: 'a blank text',
          expect: 400,
          run: (c) =>
            c('POST', `/api/chats/${group.chatId}/messages`, {
              as: bob,
              body: { text: '   ', clientMsgId: 'x' },
            }),
        },
        {
          name: 'the session cookie from a foreign Origin',
          expect: 403,
          run: (c) =>
            c('POST', `/api/chats/${group.chatId}/messages`, {
              cookie: `token=${bob.token}`,
              origin: foreign,
              body: { text: 'hi', clientMsgId: randomUUID() },
            }),
        },
      ],
    },
    'PATCH /api/chats/:chatId/messages/:messageId': {
      success: [
        {
          name: 'the sender',
          expect: 200,
          run: (c) =>
            c('PATCH', `/api/chats/${group.chatId}/messages/${group.messageId}`, {
              as: alice,
              body: { text: 'edited' },
            }),
        },
      ],
      errors: [
        {
          name: 'not the sender',
          expect: 403,
          run: (c) =>
            c('PATCH', `/api/chats/${group.chatId}/messages/${group.messageId}`, {
              as: bob,
              body: { text: 'mine' },
            }),
        },
        {
          name: 'a deleted message',
          expect: 409,
          run: async (c) => {
            const messageId = await sendMessage(alice, group.chatId);
            const path = `/api/chats/${group.chatId}/messages/${messageId}`;
            must(await c('DELETE', path, { as: alice }), 204, 'delete');
            return c('PATCH', path, { as: alice, body: { text: 'again' } });
          },
        },
      ],
    },
    'DELETE /api/chats/:chatId/messages/:messageId': {
      success: [
        {
          name: 'the sender',
          expect: 204,
          run: async (c) =>
            c('DELETE', `/api/chats/${group.chatId}/messages/${await sendMessage(bob, group.chatId)}`, {
              as: bob,
            }),
        },
      ],
      errors: [
        {
          name: 'an unknown message',
          expect: 404,
          run: (c) => c('DELETE', `/api/chats/${group.chatId}/messages/${unknownId()}`, { as: bob }),
        },
      ],
    },
    'PUT /api/chats/:chatId/messages/:messageId/reactions/:emoji': {
      success: [
        {
          name: 'a member reacts (twice: idempotent)',
          expect: 204,
          run: async (c) => {
            const path = `/api/chats/${group.chatId}/messages/${group.messageId}/reactions/${encodeURIComponent('👍🏽')}`;
            must(await c('PUT', path, { as: bob }), 204, 'first reaction');
            return c('PUT', path, { as: bob });
          },
        },
      ],
      errors: [
        {
          name: 'two emoji',
          expect: 400,
          run: (c) =>
            c(
              'PUT',
              `/api/chats/${group.chatId}/messages/${group.messageId}/reactions/${encodeURIComponent('👍👍')}`,
              {
                as: bob,
              },
            ),
        },
        {
          name: 'a 21st distinct emoji',
          expect: 400,
          run: async (c) => {
            const messageId = await sendMessage(alice, group.chatId);
            const react = (e: string) =>
              c(
                'PUT',
                `/api/chats/${group.chatId}/messages/${messageId}/reactions/${encodeURIComponent(e)}`,
                {
                  as: alice,
                },
              );
            for (const e of [...'😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘😗😚😙'])
              must(await react(e), 204, 'react');
            return react('🤔');
          },
        },
        {
          name: 'not a member',
          expect: 404,
          run: (c) =>
            c(
              'PUT',
              `/api/chats/${group.chatId}/messages/${group.messageId}/reactions/${encodeURIComponent('👍')}`,
              {
                as: carol,
              },
            ),
        },
        {
          name: 'a deleted message',
          expect: 409,
          run: async (c) => {
            const messageId = await sendMessage(alice, group.chatId);
            must(
              await c('DELETE', `/api/chats/${group.chatId}/messages/${messageId}`, { as: alice }),
              204,
              'delete',
            );
            return c(
              'PUT',
              `/api/chats/${group.chatId}/messages/${messageId}/reactions/${encodeURIComponent('👍')}`,
              {
                as: bob,
              },
            );
          },
        },
      ],
    },
    'DELETE /api/chats/:chatId/messages/:messageId/reactions/:emoji': {
      success: [
        {
          name: 'a member takes a reaction back',
          expect: 204,
          run: async (c) => {
            const path = `/api/chats/${group.chatId}/messages/${group.messageId}/reactions/${encodeURIComponent('🎉')}`;
            must(await c('PUT', path, { as: bob }), 204, 'react');
            return c('DELETE', path, { as: bob });
          },
        },
      ],
      errors: [
        {
          name: 'not an emoji',
          expect: 400,
          run: (c) =>
            c('DELETE', `/api/chats/${group.chatId}/messages/${group.messageId}/reactions/a`, { as: bob }),
        },
        {
          name: 'an unknown message',
          expect: 404,
          run: (c) =>
            c(
              'DELETE',
              `/api/chats/${group.chatId}/messages/${unknownId()}/reactions/${encodeURIComponent('👍')}`,
              {
                as: bob,
              },
            ),
        },
        {
          name: 'a deleted message',
          expect: 409,
          run: async (c) => {
            const messageId = await sendMessage(alice, group.chatId);
            must(
              await c('DELETE', `/api/chats/${group.chatId}/messages/${messageId}`, { as: alice }),
              204,
              'delete',
            );
            return c(
              'DELETE',
              `/api/chats/${group.chatId}/messages/${messageId}/reactions/${encodeURIComponent('👍')}`,
              {
                as: bob,
              },
            );
          },
        },
      ],
    },
    'POST /api/chats/:chatId/read': {
      success: [
        {
          name: 'a member',
          expect: 204,
          run: (c) => c('POST', `/api/chats/${group.chatId}/read`, { as: bob, body: { seq: 1 } }),
        },
      ],
      errors: [
        {
          name: 'a negative seq',
          expect: 400,
          run: (c) => c('POST', `/api/chats/${group.chatId}/read`, { as: bob, body: { seq: -1 } }),
        },
        {
          name: 'not a member',
          expect: 404,
          run: (c) => c('POST', `/api/chats/${group.chatId}/read`, { as: carol, body: { seq: 1 } }),
        },
      ],
    },
    'GET /api/search/messages': {
      success: [
        {
          name: 'words over my chats',
          expect: 200,
          run: (c) => c('GET', '/api/search/messages?q=hello', { as: bob }),
        },
        {
          name: 'narrowed to one of my chats',
          expect: 200,
          run: (c) => c('GET', `/api/search/messages?q=hello&chatId=${group.chatId}`, { as: bob }),
        },
      ],
      errors: [
        {
          name: 'a blank query',
          expect: 400,
          run: (c) => c('GET', '/api/search/messages?q=%20', { as: bob }),
        },
        {
          name: 'a chat I am not in',
          expect: 404,
          run: (c) => c('GET', `/api/search/messages?q=hello&chatId=${group.chatId}`, { as: carol }),
        },
        { name: 'no session', expect: 401, run: (c) => c('GET', '/api/search/messages?q=hello') },
      ],
    },
    'GET /api/assistant': {
      success: [{ name: 'a session', expect: 200, run: (c) => c('GET', '/api/assistant', { as: carol }) }],
      errors: [{ name: 'no session', expect: 401, run: (c) => c('GET', '/api/assistant') }],
    },
    'POST /api/chats/:chatId/summary': {
      success: [
        {
          name: 'a member (no model here: the extractive summary)',
          expect: 200,
          run: (c) => c('POST', `/api/chats/${group.chatId}/summary`, { as: bob }),
        },
      ],
      errors: [
        {
          name: 'not a member',
          expect: 404,
          run: (c) => c('POST', `/api/chats/${group.chatId}/summary`, { as: carol }),
        },
        {
          name: 'a malformed chat id',
          expect: 400,
          run: (c) => c('POST', '/api/chats/nope/summary', { as: bob }),
        },
        { name: 'no session', expect: 401, run: (c) => c('POST', `/api/chats/${group.chatId}/summary`) },
      ],
    },
    'GET /api/openapi.json': {
      success: [{ name: 'no session needed', expect: 200, run: (c) => c('GET', '/api/openapi.json') }],
      errors: { none: 'a static document: only the 500 every route may answer' },
    },
    'GET /api/asyncapi.json': {
      success: [{ name: 'no session needed', expect: 200, run: (c) => c('GET', '/api/asyncapi.json') }],
      errors: { none: 'a static document: only the 500 every route may answer' },
    },
  };

  /** Checks one live answer against the route's row; returns why it does not conform, or undefined. */
  function mismatch(route: HttpRoute, live: Live): string | undefined {
    const success = route.success[live.status];
    if (success) {
      if (!success.body) return live.text === '' ? undefined : `expected no body, got ${live.text}`;
      const parsed = success.body.safeParse(live.body);
      return parsed.success ? undefined : `body does not match the declared schema: ${parsed.error.message}`;
    }
    const failure = route.errors[live.status];
    if (!failure) return `status ${live.status} is not declared (${live.text})`;
    const parsed = errorBodySchema.safeParse(live.body);
    if (!parsed.success) return `error body does not match {error:{code,message}}: ${live.text}`;
    const { code } = parsed.data.error;
    if (!failure.codes.includes(code as never))
      return `code "${code}" is not declared for ${live.status} (declared: ${failure.codes.join(', ')})`;
    if (failure.retryAfter && !live.headers.get('retry-after')) return 'Retry-After is missing';
    return undefined;
  }

  /** Success statuses seen per route, to check every declared one is real. */
  const seen = new Map<string, Set<number>>();

  it.each(HTTP_ROUTES.map((route) => [routeKey(route), route] as const))('%s', async (key, route) => {
    const cases = CASES[key];
    if (!cases) throw new Error(`no case for route ${key}: add its success and error cases to CASES`);
    const errors = Array.isArray(cases.errors) ? cases.errors : [];
    if (!Array.isArray(cases.errors)) expect(cases.errors.none.length).toBeGreaterThan(0);
    expect(cases.success.length).toBeGreaterThan(0);
    for (const kase of [...cases.success, ...errors]) {
      const live = await kase.run(call);
      const problem = mismatch(route, live);
      expect({ case: kase.name, status: live.status, problem }).toEqual({
        case: kase.name,
        status: kase.expect,
        problem: undefined,
      });
      if (route.success[live.status]) seen.set(key, (seen.get(key) ?? new Set()).add(live.status));
    }
    // Cases of a route exercise what the route declares, and nothing else.
    for (const kase of errors) expect(route.errors[kase.expect]).toBeDefined();
    for (const kase of cases.success) expect(route.success[kase.expect]).toBeDefined();
  });

  it('has no case for a route the table does not have', () => {
    const routes = new Set(HTTP_ROUTES.map(routeKey));
    expect(Object.keys(CASES).filter((key) => !routes.has(key))).toEqual([]);
  });

  it('saw every success status the table declares', () => {
    const missing = HTTP_ROUTES.flatMap((route) =>
      Object.keys(route.success)
        .map(Number)
        .filter((status) => !seen.get(routeKey(route))?.has(status))
        .map((status) => `${routeKey(route)} ${status}`),
    );
    expect(missing).toEqual([]);
  });

  it('declares the access the gateway enforces for each route', () => {
    const expected: Record<HttpRoute['auth'], RouteAccess> = {
      public: 'public',
      session: 'session',
      'optional-session': 'optional',
      'refresh-cookie': 'public',
    };
    const sample = (path: string) => path.replace(/:[A-Za-z]+/g, unknownId());
    const mismatched = HTTP_ROUTES.filter((route) => route.service !== 'gateway')
      .filter((route) => accessFor(route.method.toUpperCase(), sample(route.path)) !== expected[route.auth])
      .map(routeKey);
    expect(mismatched).toEqual([]);
  });

  describe('Socket.IO events', () => {
    /** Parses a payload with a schema of the table; a wrong shape fails with zod's account of it. */
    const conforms = (schema: z.ZodType, payload: unknown, what: string) => {
      const parsed = schema.safeParse(payload);
      if (!parsed.success)
        throw new Error(
          `${what} does not match the contract: ${parsed.error.message}\n${JSON.stringify(payload)}`,
        );
    };

    const connect = async (session: Session): Promise<ChatSocket> => {
      const socket = await connectSocket(gatewayUrl, session, { reconnection: false });
      sockets.push(socket);
      return socket;
    };

    /** The next `event` on `socket` that `match` accepts (as received: unknown until checked). */
    const next = (
      socket: ChatSocket,
      event: string,
      match: (payload: Record<string, unknown>) => boolean = () => true,
      timeoutMs = 5000,
    ) =>
      new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
        const listener = (payload: Record<string, unknown>) => {
          if (!match(payload)) return;
          clearTimeout(timer);
          (socket as unknown as { off(e: string, l: unknown): void }).off(event, listener);
          resolve(payload);
        };
        (socket as unknown as { on(e: string, l: unknown): void }).on(event, listener);
      });

    /** Emits a client event as an untyped client would, and resolves with its ack. */
    const emit = (socket: ChatSocket, event: string, payload: unknown): Promise<unknown> =>
      (
        socket.timeout(5000) as unknown as { emitWithAck(e: string, p: unknown): Promise<unknown> }
      ).emitWithAck(event, payload);

    const emitOnly = (socket: ChatSocket, event: string, payload: unknown) =>
      (socket as unknown as { emit(e: string, p: unknown): void }).emit(event, payload);

    let aliceSocket: ChatSocket;
    let bobSocket: ChatSocket;
    const sawClient = new Set<string>();
    const sawServer = new Set<string>();

    beforeAll(async () => {
      [aliceSocket, bobSocket] = await Promise.all([connect(alice), connect(bob)]);
    });

    const clientEvent = async (
      event: keyof typeof SOCKET_CLIENT_EVENTS,
      socket: ChatSocket,
      payload: unknown,
    ) => {
      const spec = SOCKET_CLIENT_EVENTS[event];
      conforms(spec.payload, payload, `${event} payload (the test's own)`);
      sawClient.add(event);
      if (!('ack' in spec)) {
        emitOnly(socket, event, payload);
        return undefined;
      }
      const ack = await emit(socket, event, payload);
      conforms(spec.ack, ack, `${event} ack`);
      return ack as { ok: boolean; error?: { code: string } };
    };

    const serverEvent = async (event: keyof typeof SOCKET_SERVER_EVENTS, received: Promise<unknown>) => {
      conforms(SOCKET_SERVER_EVENTS[event].payload, await received, event);
      sawServer.add(event);
    };

    it('chat:send is acked with the stored message, and members get chat:new', async () => {
      const delivered = next(
        bobSocket,
        'chat:new',
        (p) => (p.message as { text?: string }).text === 'over the socket',
      );
      const ack = await clientEvent('chat:send', aliceSocket, {
        chatId: group.chatId,
        text: 'over the socket',
        clientMsgId: randomUUID(),
      });
      expect(ack?.ok).toBe(true);
      await serverEvent('chat:new', delivered);
    });

    it('chat:sync, presence:get and auth:refresh are acked in their declared shapes', async () => {
      expect((await clientEvent('chat:sync', bobSocket, { chatId: group.chatId, afterSeq: 0 }))?.ok).toBe(
        true,
      );
      expect((await clientEvent('presence:get', bobSocket, { chatId: group.chatId }))?.ok).toBe(true);
      expect((await clientEvent('auth:refresh', aliceSocket, { token: alice.token }))?.ok).toBe(true);
    });

    it('chat:read is acked and the other members get chat:read', async () => {
      // A marker moves only forwards, and only a move is announced: read past everything there is.
      const sent = must(
        await call('POST', `/api/chats/${group.chatId}/messages`, {
          as: alice,
          body: { text: 'read me', clientMsgId: randomUUID() },
        }),
        201,
        'send',
      );
      const { seq } = (sent.body as { message: { seq: number } }).message;
      const seen = next(aliceSocket, 'chat:read', (p) => p.userId === bob.user.id && p.seq === seq);
      expect((await clientEvent('chat:read', bobSocket, { chatId: group.chatId, seq }))?.ok).toBe(true);
      await serverEvent('chat:read', seen);
    });

    it('chat:typing reaches the other members as chat:typing', async () => {
      const seen = next(aliceSocket, 'chat:typing', (p) => p.userId === bob.user.id);
      await clientEvent('chat:typing', bobSocket, { chatId: group.chatId });
      await serverEvent('chat:typing', seen);
    });

    it('an edit and a delete over HTTP reach members as chat:updated and chat:deleted', async () => {
      const messageId = await sendMessage(alice, group.chatId);
      const path = `/api/chats/${group.chatId}/messages/${messageId}`;
      const updated = next(bobSocket, 'chat:updated', (p) => (p.message as { id?: string }).id === messageId);
      must(await call('PATCH', path, { as: alice, body: { text: 'changed' } }), 200, 'edit');
      await serverEvent('chat:updated', updated);
      const deleted = next(bobSocket, 'chat:deleted', (p) => (p.message as { id?: string }).id === messageId);
      must(await call('DELETE', path, { as: alice }), 204, 'delete');
      await serverEvent('chat:deleted', deleted);
    });

    it('membership changes and presence reach the users concerned', async () => {
      const dave = await register('dave');
      const chatId = await createGroup(alice, []);
      const daveSocket = await connect(dave);
      const added = next(daveSocket, 'chat:added', (p) => (p.chat as { id?: string }).id === chatId);
      must(
        await call('POST', `/api/chats/${chatId}/members`, { as: alice, body: { userId: dave.user.id } }),
        201,
        'add',
      );
      await serverEvent('chat:added', added);
      // Dave now shares a chat with alice: his going offline is a presence change she is told of.
      const offline = next(aliceSocket, 'presence', (p) => p.userId === dave.user.id && p.online === false);
      const removed = next(daveSocket, 'chat:removed', (p) => p.chatId === chatId);
      must(await call('DELETE', `/api/chats/${chatId}/members/${dave.user.id}`, { as: dave }), 204, 'leave');
      await serverEvent('chat:removed', removed);
      const readded = next(daveSocket, 'chat:added', (p) => (p.chat as { id?: string }).id === chatId);
      must(
        await call('POST', `/api/chats/${chatId}/members`, { as: alice, body: { userId: dave.user.id } }),
        201,
        're-add',
      );
      // His socket is in the chat's room again once the bus event reached his replica: only then is his going
      // offline announced there (the 201 can arrive first).
      await serverEvent('chat:added', readded);
      daveSocket.disconnect();
      await serverEvent('presence', offline);
    });

    it('chat:send carries replyTo and mentions to the stored message', async () => {
      const original = await sendMessage(alice, group.chatId);
      const ack = await clientEvent('chat:send', bobSocket, {
        chatId: group.chatId,
        text: '@alice reply over the socket',
        clientMsgId: randomUUID(),
        replyTo: original,
        mentions: [alice.user.id],
      });
      expect(ack).toMatchObject({ ok: true, message: { replyTo: original, mentions: [alice.user.id] } });
    });

    it('a rename over HTTP reaches members as chat:changed', async () => {
      const changed = next(bobSocket, 'chat:changed', (p) => (p.chat as { id?: string }).id === group.chatId);
      must(
        await call('PATCH', `/api/chats/${group.chatId}`, { as: alice, body: { title: 'renamed live' } }),
        200,
        'rename',
      );
      await serverEvent('chat:changed', changed);
    });

    it('a reaction over HTTP reaches members as chat:reactions (the full summary)', async () => {
      const messageId = await sendMessage(alice, group.chatId);
      const reacted = next(bobSocket, 'chat:reactions', (p) => p.messageId === messageId);
      must(
        await call(
          'PUT',
          `/api/chats/${group.chatId}/messages/${messageId}/reactions/${encodeURIComponent('👀')}`,
          {
            as: alice,
          },
        ),
        204,
        'react',
      );
      await serverEvent('chat:reactions', reacted);
    });

    it('a question in an assistant chat streams ai:delta and stores the answer; ai:resume and ai:stop answer', async () => {
      // The socket joins the new chat's room when chat:added reaches its replica.
      const added = next(
        aliceSocket,
        'chat:added',
        (p) => (p.chat as { type?: string }).type === 'assistant',
      );
      const created = must(
        await call('POST', '/api/chats', { as: alice, body: { type: 'assistant' } }),
        201,
        'create',
      );
      const chatId = (created.body as { chat: { id: string } }).chat.id;
      await added;
      const delta = next(aliceSocket, 'ai:delta', (p) => p.chatId === chatId);
      const answered = next(
        aliceSocket,
        'chat:new',
        (p) => {
          const message = p.message as { chatId?: string; ai?: unknown };
          return message.chatId === chatId && message.ai !== undefined;
        },
        20_000,
      );
      const ack = await clientEvent('chat:send', aliceSocket, {
        chatId,
        text: 'hello, cohortGPT',
        clientMsgId: randomUUID(),
      });
      expect(ack?.ok).toBe(true);
      await serverEvent('ai:delta', delta);
      const { message } = (await answered) as { message: { ai: { streamId: string; status: string } } };
      // No model is configured here: the answer says so, as a stored and visible failure.
      expect(message.ai).toMatchObject({ status: 'failed', error: { code: 'ai_not_configured' } });
      const { streamId } = message.ai;
      const resumed = await clientEvent('ai:resume', aliceSocket, { chatId, streamId, afterIndex: -1 });
      expect(resumed).toMatchObject({ ok: true, ended: true });
      expect(await clientEvent('ai:stop', aliceSocket, { chatId, streamId })).toEqual({ ok: true });
    }, 30_000);

    it('refuses a payload of the wrong shape with an error ack of the contract', async () => {
      const ack = await emit(aliceSocket, 'chat:send', { chatId: 'nope', text: 5 });
      conforms(SOCKET_CLIENT_EVENTS['chat:send'].ack, ack, 'chat:send error ack');
      expect(SOCKET_COMMON_ERRORS).toContain((ack as { error: { code: string } }).error.code);
    });

    it('tells a socket whose access token expired with auth:expired', async () => {
      // A token signed as auth signs them, living 2 s: the socket must hear auth:expired before it is closed.
      const token = await accessToken(keys, { sub: carol.user.id, expiresIn: 2 });
      const socket = await connect({ ...carol, token });
      await serverEvent('auth:expired', next(socket, 'auth:expired'));
    }, 15_000);

    it('exercised every event of the tables', () => {
      const missing = [
        ...Object.keys(SOCKET_CLIENT_EVENTS)
          .filter((e) => !sawClient.has(e))
          .map((e) => `no case for client event ${e}`),
        ...Object.keys(SOCKET_SERVER_EVENTS)
          .filter((e) => !sawServer.has(e))
          .map((e) => `no case for server event ${e}`),
      ];
      expect(missing).toEqual([]);
    });
  });
});
