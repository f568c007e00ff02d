import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Ack, Chat, Message } from '@cohort/common';
import { spawnService, waitFor } from '@cohort/testkit';
import type { RunningRealtime } from '../src/main';
import { client, collect, connect, refusal, request, type TestClient } from './helpers/clients';
import { startStack, type Stack, type TestUser } from './helpers/stack';

jest.setTimeout(90_000);

const MAX_SOCKETS = 3;
const TTL_MS = 3000;

/**
 * docs/security.md for realtime: a cap on a user's sockets over every replica, one event budget per user over all
 * their sockets, and edits delivered by version. Three replicas in this process on one real Redis, auth and
 * chat-api as processes, real socket.io-clients.
 */
describe('per-user limits and versioned edits across replicas', () => {
  let stack: Stack;
  let replicas: RunningRealtime[];
  const open: TestClient[] = [];
  const limits = {
    MAX_SOCKETS_PER_USER: String(MAX_SOCKETS),
    USER_EVENT_RATE_LIMIT: '30/10s',
    PRESENCE_TTL_MS: String(TTL_MS),
  };

  const url = (i: number) => `http://127.0.0.1:${replicas[i % replicas.length]!.port}`;
  const socketOf = (user: TestUser, at: string) => {
    const socket = client(at, { token: user.token });
    open.push(socket);
    return socket;
  };
  const join = (user: TestUser, replica: number) => connect(socketOf(user, url(replica)));

  beforeAll(async () => {
    stack = await startStack();
    replicas = [];
    for (const id of ['rt-l1', 'rt-l2', 'rt-l3']) replicas.push(await stack.startReplica(id, limits));
  });

  afterEach(() => {
    for (const s of open.splice(0)) s.disconnect();
  });

  afterAll(async () => {
    await stack?.close();
  });

  describe('sockets per user', () => {
    it('refuses one socket more than the cap over all replicas with too_many_connections, keeping the others', async () => {
      const user = await stack.register('tabs');
      const held = await Promise.all([0, 1, 2].map((i) => join(user, i)));
      expect(await refusal(socketOf(user, url(0)))).toBe('too_many_connections');
      expect(await refusal(socketOf(user, url(1)))).toBe('too_many_connections');
      // The oldest is not dropped to make room.
      await new Promise((r) => setTimeout(r, 200));
      expect(held.every((s) => s.connected)).toBe(true);
      // Another user is not affected.
      await join(await stack.register('other'), 0);
    });

    it('gives the place back when a socket disconnects', async () => {
      const user = await stack.register('closer');
      const held = await Promise.all([0, 1, 2].map((i) => join(user, i)));
      held[1]!.disconnect();
      await waitFor(() => join(user, 2), 5000, 100);
      expect(await refusal(socketOf(user, url(0)))).toBe('too_many_connections');
    });

    it('admits exactly the cap out of concurrent handshakes on several replicas', async () => {
      const user = await stack.register('racer');
      const outcomes = await Promise.allSettled(
        Array.from({ length: 9 }, (_, i) => connect(socketOf(user, url(i)))),
      );
      const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(MAX_SOCKETS);
      expect(refused).toHaveLength(9 - MAX_SOCKETS);
      expect(refused.every((r) => r.includes('too_many_connections'))).toBe(true);
    });

    it('frees the places of a crashed replica once a survivor sweeps it', async () => {
      const crashing = await spawnService({
        service: 'realtime',
        label: 'rt-crash',
        env: stack.realtimeEnv('rt-crash', limits),
      });
      try {
        // Among the live replicas from its start, before its first socket: a death in its first handshakes, before
        // presence recorded any of them, is still swept (the connection cap's list gives their places back).
        const redis = new Redis(stack.redis.url);
        try {
          await waitFor(
            async () =>
              expect(await redis.zrange('cohort:presence:replicas', '0', '-1')).toContainEqual(
                expect.stringMatching(/^rt-crash#/),
              ),
            500,
            20,
          );
        } finally {
          redis.disconnect();
        }
        const user = await stack.register('stranded');
        await Promise.all([0, 1, 2].map(() => connect(socketOf(user, crashing.url))));
        await crashing.kill();
        // Still counted right after the crash (nothing said they left)…
        expect(await refusal(socketOf(user, url(0)))).toBe('too_many_connections');
        // …and free once a survivor finds it silent for the TTL and sweeps it (its places live far longer unswept).
        const started = Date.now();
        await waitFor(() => join(user, 0), TTL_MS * 3, 250);
        expect(Date.now() - started).toBeLessThan(TTL_MS * 2);
      } finally {
        await crashing.kill().catch(() => undefined);
      }
    });
  });

  describe('event budget per user', () => {
    it('shares one budget between a user’s sockets on different replicas', async () => {
      const user = await stack.register('spammer');
      const chat: Chat = await stack.createGroup(user, 'budget', []);
      const sockets = await Promise.all([0, 1, 2].map((i) => join(user, i)));
      // 45 events, 15 per socket: far inside each socket's own bucket (burst 60), over the user's 30.
      const replies = (await Promise.all(
        sockets.flatMap((s) =>
          Array.from({ length: 15 }, () => request(s, 'chat:typing', { chatId: chat.id })),
        ),
      )) as Ack<object>[];
      const limited = replies.filter((r) => !r.ok && r.error.code === 'rate_limited');
      expect(replies.filter((r) => r.ok)).toHaveLength(30);
      expect(limited).toHaveLength(15);
      expect(sockets.every((s) => s.connected)).toBe(true);

      // Another user's budget is untouched.
      const bystander = await stack.register('bystander');
      const own: Chat = await stack.createGroup(bystander, 'own', []);
      const socket = await join(bystander, 0);
      expect(await request(socket, 'chat:typing', { chatId: own.id })).toMatchObject({ ok: true });
    });
  });

  describe('versioned edits', () => {
    it('delivers two quick edits of one message to a member on another replica, versions 2 and 3', async () => {
      const [author, member] = await Promise.all([stack.register('author'), stack.register('member')]);
      const chat = await stack.createGroup(author, 'edits', [member]);
      const watcher = await join(member, 1);
      const updates = collect(watcher, 'chat:updated');
      const message = await stack.postMessage(author, chat.id, 'v1', `c-${randomUUID()}`);
      expect(message.version).toBe(1);

      const edits = await Promise.all([
        stack.editMessage(author, chat.id, message.id, 'second'),
        stack.editMessage(author, chat.id, message.id, 'third'),
      ]);
      expect(edits.map((m) => m.version).sort()).toEqual([2, 3]);
      await waitFor(() => expect(updates).toHaveLength(2), 5000, 50);
      expect(updates.map((u) => u.message.version).sort()).toEqual([2, 3]);

      // What a client keeps (the highest version) is the stored text.
      const kept = updates.reduce((a, b) => (b.message.version > a.message.version ? b : a)).message;
      const [stored] = await stack.listMessages(member, chat.id, message.seq - 1);
      expect(kept.text).toBe(stored!.text);
    });

    it('delivers two edits stamped with the same millisecond, and drops a stale or repeated one', async () => {
      const [author, member] = await Promise.all([stack.register('author'), stack.register('member')]);
      const chat = await stack.createGroup(author, 'same-ms', [member]);
      const watcher = await join(member, 2);
      const updates = collect(watcher, 'chat:updated');
      const message = await stack.postMessage(author, chat.id, 'v1', `c-${randomUUID()}`);

      // Exactly what chat-api publishes for two edits within one millisecond: same editedAt, versions 2 and 3.
      const editedAt = new Date().toISOString();
      const edit = (text: string, version: number): Message => ({ ...message, text, editedAt, version });
      const redis = new Redis(stack.redis.url);
      try {
        const publish = (m: Message) =>
          redis.publish(
            'cohort:chat-events',
            JSON.stringify({ type: 'chat:updated', chatId: chat.id, message: m }),
          );
        await publish(edit('second', 2));
        await publish(edit('third', 3));
        await waitFor(() => expect(updates).toHaveLength(2), 5000, 50);
        // A re-published version and one older than what was delivered change nothing.
        await publish(edit('third', 3));
        await publish(edit('second', 2));
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        redis.disconnect();
      }
      expect(updates.map((u) => [u.message.version, u.message.text])).toEqual([
        [2, 'second'],
        [3, 'third'],
      ]);
    });
  });
});
