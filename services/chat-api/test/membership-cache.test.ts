import request from 'supertest';
import { IDENTITY_HEADER, type Chat } from '@cohort/common';
import { createMembershipCache, type InvalidationFeed } from '../src/domain/membership-cache';
import { ChatClient, startHarness, type Harness } from './support';

/**
 * The send path trusts a confirmed membership for up to MEMBERSHIP_CACHE_MS (60 s here, the default): removals
 * and blocks made through another replica must still apply to the next send, carried by the bus, and a bus gap
 * must not leave an entry trusted that a lost event would have forgotten.
 */
let h: Harness;
let replicaUrl: string;
let register: (name: string) => Promise<{ onA: ChatClient; onB: ChatClient }>;
beforeAll(async () => {
  h = await startHarness({ withAuth: true, env: { MEMBERSHIP_CACHE_MS: '60000' } });
  const replica = await h.startReplica();
  replicaUrl = `http://127.0.0.1:${replica.port}`;
  register = async (name) => {
    const userId = await h.auth!.register(name);
    return {
      onA: new ChatClient(h, userId),
      onB: new ChatClient({ identity: (id) => h.identity(id), http: () => request(replicaUrl) }, userId),
    };
  };
});
afterAll(async () => {
  await h.close();
});

const chatOf = (res: { body: unknown }) => (res.body as { chat: Chat }).chat;

/**
 * Sends through `client` until one is refused with `status` (within `timeoutMs`) and returns how many were stored
 * before it; a stored send after `failOnStored` is true fails the test.
 */
async function sendUntilRefused(
  client: ChatClient,
  chatId: string,
  status: number,
  { timeoutMs, failOnStored = false }: { timeoutMs: number; failOnStored?: boolean },
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let stored = 0;
  for (;;) {
    const res = await client.send(chatId, `attempt ${stored}`);
    if (res.status === status) return stored;
    if (res.status !== 201 || failOnStored)
      throw new Error(`send answered ${res.status} ${JSON.stringify(res.body)}`);
    stored += 1;
    if (Date.now() > deadline) throw new Error(`still stored after ${timeoutMs} ms (${stored} sends)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('across replicas', () => {
  test('a removal through replica B refuses the next send through replica A, which had cached the member', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.onA.createGroup('club', [bob.onA.userId]);
    expect((await bob.onA.send(chatId, 'cached now')).status).toBe(201);
    expect((await bob.onA.send(chatId, 'served from the cache')).status).toBe(201);

    expect((await alice.onB.delete(`/api/chats/${chatId}/members/${bob.onA.userId}`)).status).toBe(204);
    // The bus carries B's chat:removed to A in milliseconds; the cache's own bound is a minute. A send racing the
    // event may still be stored, as with any removal; none after A refused one.
    await sendUntilRefused(bob.onA, chatId, 404, { timeoutMs: 3000 });
    expect((await bob.onA.send(chatId, 'and again?')).status).toBe(404);
  });

  test('a block through replica B refuses the blocked user’s next direct send through replica A', async () => {
    const [bob, mallory] = [await register('bob'), await register('mallory')];
    const chatId = chatOf(
      await mallory.onA.post('/api/chats', { type: 'direct', userId: bob.onA.userId }),
    ).id;
    expect((await mallory.onA.send(chatId, 'hi')).status).toBe(201);

    const block = await request(replicaUrl)
      .put(`/api/users/${mallory.onA.userId}/block`)
      .set(IDENTITY_HEADER, await h.identity(bob.onA.userId));
    expect(block.status).toBe(204);
    await sendUntilRefused(mallory.onA, chatId, 403, { timeoutMs: 3000 });
    const refused = await mallory.onA.send(chatId, 'hello?');
    expect(refused.status).toBe(403);
    expect((refused.body as { error: { code: string } }).error.code).toBe('blocked');
  });

  test('a removal whose event is lost while Redis is down is not hidden by what A cached before the gap', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.onA.createGroup('club', [bob.onA.userId]);
    expect((await bob.onA.send(chatId, 'cached now')).status).toBe(201);

    await h.redis.stop();
    // B's publish of chat:removed fails (logged); the removal itself is stored.
    expect((await alice.onB.delete(`/api/chats/${chatId}/members/${bob.onA.userId}`)).status).toBe(204);
    await h.redis.start();
    // A's sends fail (503) until its Redis connections are back; then the first one must read the store, not
    // the entry from before the gap: no send of bob is ever stored again.
    const deadline = Date.now() + 15_000;
    let last = 0;
    while (last !== 404 && Date.now() < deadline) {
      const res = await bob.onA.send(chatId, 'after the gap');
      last = res.status;
      expect([404, 503]).toContain(res.status);
      if (last !== 404) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(last).toBe(404);
  });
});

describe('the cache on its own', () => {
  const feed = () => {
    const state = { receiving: true, generation: 0 };
    const asFeed: InvalidationFeed = {
      receiving: () => state.receiving,
      generation: () => state.generation,
    };
    return { state, asFeed };
  };

  test('remembers a confirmation until it is forgotten', () => {
    const cache = createMembershipCache({ ttlMs: 60_000, feed: feed().asFeed });
    cache.remember('c', 'u', cache.mark());
    expect(cache.has('c', 'u')).toBe(true);
    expect(cache.has('c', 'other')).toBe(false);
    cache.forget('c', 'u');
    expect(cache.has('c', 'u')).toBe(false);
  });

  test('does not remember a confirmation whose reads began before a forget (it may have missed the removal)', () => {
    const cache = createMembershipCache({ ttlMs: 60_000, feed: feed().asFeed });
    const mark = cache.mark();
    cache.forget('c', 'u');
    cache.remember('c', 'u', mark);
    expect(cache.has('c', 'u')).toBe(false);
    cache.remember('c', 'u', cache.mark());
    expect(cache.has('c', 'u')).toBe(true);
  });

  test('trusts nothing while the bus is not receiving, and nothing from before a bus gap', () => {
    const { state, asFeed } = feed();
    const cache = createMembershipCache({ ttlMs: 60_000, feed: asFeed });
    cache.remember('c', 'u', cache.mark());
    state.receiving = false;
    expect(cache.has('c', 'u')).toBe(false);
    cache.remember('c', 'v', cache.mark());
    state.receiving = true;
    expect(cache.has('c', 'v')).toBe(false);
    state.generation += 1;
    expect(cache.has('c', 'u')).toBe(false);
    const stale = { forgets: 0, generation: 0 };
    cache.remember('c', 'w', stale);
    expect(cache.has('c', 'w')).toBe(false);
  });

  test('an entry expires after ttlMs; 0 turns the cache off', async () => {
    const short = createMembershipCache({ ttlMs: 30, feed: feed().asFeed });
    short.remember('c', 'u', short.mark());
    expect(short.has('c', 'u')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(short.has('c', 'u')).toBe(false);
    const off = createMembershipCache({ ttlMs: 0 });
    off.remember('c', 'u', off.mark());
    expect(off.has('c', 'u')).toBe(false);
  });
});
