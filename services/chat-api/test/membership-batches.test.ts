import { BLOCK_PARTNERS_MAX, type MembershipBatchResult, type Memberships } from '@cohort/common';
import { blockedByStrangers } from './support/blocks';
import { ChatClient, newId, startHarness, type Harness } from './support';
import { put } from './support/conversations';
import { storeCallsDuring } from './support/query-log';

// POST /internal/membership-batches: realtime's handshakes, many sockets' membership lookups in one request.
let h: Harness;
let register: (name: string) => Promise<ChatClient>;
beforeAll(async () => {
  // With the real auth service: direct chats and blocks look users up there.
  h = await startHarness({ withAuth: true });
  register = async (name) => new ChatClient(h, await h.auth!.register(name));
});
afterAll(async () => {
  await h.close();
});

const lookup = async (userId: string) => ({
  identity: await h.identity(userId),
  requestId: `req-${newId()}`,
});
const postBatch = (lookups: unknown[]) => h.http().post('/internal/membership-batches').send({ lookups });
const resultsOf = (res: { body: unknown }) => (res.body as { results: MembershipBatchResult[] }).results;

/** An answer with its lists sorted: neither list's order is part of the contract. */
function sorted(answer: Memberships & { status?: number }) {
  return { ...answer, chatIds: [...answer.chatIds].sort(), blockPartners: [...answer.blockPartners].sort() };
}
async function single(client: ChatClient): Promise<Memberships> {
  const res = await client.get('/internal/memberships');
  expect(res.status).toBe(200);
  return res.body as Memberships;
}
const found = (result: MembershipBatchResult | undefined): Memberships => {
  if (!result || !('chatIds' in result)) throw new Error(`not found: ${JSON.stringify(result)}`);
  return sorted(result);
};

describe('membership batches', () => {
  test('answers each lookup, in order, exactly as GET /internal/memberships answers its user', async () => {
    const [bob, mallory, eve, carol] = [
      await register('bob'),
      await register('mallory'),
      await register('eve'),
      await register('carol'),
    ];
    const club = await bob.createGroup('club', [carol.userId, eve.userId]);
    const solo = await carol.createGroup('solo');
    await put(h, bob, `/api/users/${mallory.userId}/block`);
    await put(h, eve, `/api/users/${bob.userId}/block`);
    const stranger = newId();

    const res = await postBatch([
      await lookup(bob.userId),
      await lookup(mallory.userId),
      await lookup(carol.userId),
      await lookup(stranger),
      await lookup(bob.userId),
    ]);
    expect(res.status).toBe(200);
    const results = resultsOf(res);
    expect(results).toHaveLength(5);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(found(results[0])).toEqual({
      status: 200,
      chatIds: [club],
      blockPartners: [mallory.userId, eve.userId].sort(),
    });
    expect(found(results[1])).toEqual({ status: 200, chatIds: [], blockPartners: [bob.userId] });
    expect(found(results[2])).toEqual({ status: 200, chatIds: [club, solo].sort(), blockPartners: [] });
    expect(found(results[3])).toEqual({ status: 200, chatIds: [], blockPartners: [] });
    expect(found(results[4])).toEqual(found(results[0]));
    // The single route agrees, user by user.
    for (const [i, client] of [bob, mallory, carol].entries()) {
      expect({ status: 200, ...sorted(await single(client)) }).toEqual(found(results[i]));
    }
  });

  test("one lookup's refusal fails only that lookup", async () => {
    const alice = await register('alice');
    const group = await alice.createGroup();
    const res = await postBatch([
      { identity: 'not-a-signed-assertion', requestId: 'r-1' },
      await lookup(alice.userId),
    ]);
    expect(res.status).toBe(200);
    const [refused, answered] = resultsOf(res);
    expect(refused).toEqual({ status: 401, error: { code: 'unauthorized', message: expect.any(String) } });
    expect(found(answered)).toEqual({ status: 200, chatIds: [group], blockPartners: [] });
  });

  test('a batch costs the store three queries, however many lookups it carries', async () => {
    const users = await Promise.all(Array.from({ length: 8 }, (_, i) => register(`u${i}`)));
    for (const user of users) await user.createGroup();
    const lookups = await Promise.all(users.map((u) => lookup(u.userId)));
    let res: Awaited<ReturnType<typeof postBatch>> | undefined;
    const reads = await storeCallsDuring(['memberships', 'blocks'], async () => {
      res = await postBatch(lookups);
    });
    expect(resultsOf(res!).map((r) => found(r).chatIds)).toHaveLength(8);
    expect(reads.sort()).toEqual(['blocks.find', 'blocks.find', 'memberships.find']);
    // One by one, the same lookups cost three queries each.
    const singly = await storeCallsDuring(['memberships', 'blocks'], async () => {
      for (const user of users) await single(user);
    });
    expect(singly).toHaveLength(3 * users.length);
  });

  test('a user with more block partners than an answer carries gets the bounded answer; the others theirs', async () => {
    const [bob, dave, frank] = [await register('bob'), await register('dave'), await register('frank')];
    await put(h, dave, `/api/users/${frank.userId}/block`);
    await blockedByStrangers(h, bob.userId, BLOCK_PARTNERS_MAX + 1);
    const results = resultsOf(
      await postBatch([await lookup(dave.userId), await lookup(bob.userId), await lookup(frank.userId)]),
    );
    const bobs = found(results[1]).blockPartners;
    expect(bobs).toHaveLength(BLOCK_PARTNERS_MAX);
    expect(new Set(bobs).size).toBe(BLOCK_PARTNERS_MAX);
    expect({ status: 200, ...sorted(await single(bob)) }).toEqual(found(results[1]));
    expect(found(results[0]).blockPartners).toEqual([frank.userId]);
    expect(found(results[2]).blockPartners).toEqual([dave.userId]);
  });

  test('a malformed envelope is 400', async () => {
    const one = await lookup(newId());
    for (const body of [
      {},
      { lookups: [] },
      { lookups: Array.from({ length: 101 }, () => one) },
      { lookups: [{ ...one, extra: 1 }] },
      { lookups: [{ identity: { $gt: '' }, requestId: 'r' }] },
    ]) {
      const res = await h.http().post('/internal/membership-batches').send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
    }
  });
});
