import type { Chat } from '@cohort/common';
import { waitFor } from '@cohort/testkit';
import type { RunningRealtime } from '../src/main';
import { client, collect, connect, nextEvent, request, type TestClient } from './helpers/clients';
import { startStack, type Stack, type TestUser } from './helpers/stack';

jest.setTimeout(90_000);

/** Long enough for an event relayed through the adapter to another replica to have arrived. */
const SETTLE_MS = 400;
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

/**
 * docs/security.md "Blocking": neither of two users in a block relation (whoever blocked whom) receives the
 * other's typing or presence, while the rest of their chats still do. Two replicas on one real Redis, auth and
 * chat-api as processes, real socket.io-clients; every "does not receive" is checked against a third member who
 * does, after that member received it.
 */
describe('typing and presence across a block', () => {
  let stack: Stack;
  let replicas: RunningRealtime[];
  const open: TestClient[] = [];

  const url = (i: number) => `http://127.0.0.1:${replicas[i]!.port}`;
  const join = (user: TestUser, replica: number) => {
    const socket = client(url(replica), { token: user.token });
    open.push(socket);
    return connect(socket);
  };
  /** Three fresh users in one group: blocker, blocked and a bystander. */
  const trio = async () => {
    const [a, b, c] = [await stack.register('a'), await stack.register('b'), await stack.register('c')];
    const group: Chat = await stack.createGroup(a, 'block', [b, c]);
    return { a, b, c, group };
  };
  const typingOf = (socket: TestClient, user: TestUser) => {
    const seen = collect(socket, 'chat:typing');
    return () => seen.filter((p) => p.userId === user.id);
  };
  const presenceOf = (socket: TestClient, user: TestUser) => {
    const seen = collect(socket, 'presence');
    return () => seen.filter((p) => p.userId === user.id).map((p) => p.online);
  };
  const onlineIn = async (socket: TestClient, chatId: string) => {
    const ack = await request(socket, 'presence:get', { chatId });
    if (!('online' in ack)) throw new Error(`presence:get failed: ${JSON.stringify(ack)}`);
    return ack.online;
  };

  beforeAll(async () => {
    stack = await startStack();
    replicas = [await stack.startReplica('rt-b1'), await stack.startReplica('rt-b2')];
  });

  afterEach(() => {
    for (const s of open.splice(0)) s.disconnect();
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('keeps typing from crossing a block either way, on different replicas; the bystander sees both', async () => {
    const { a, b, c, group } = await trio();
    await stack.block(a, b);
    const [sa, sb, sc] = [await join(a, 0), await join(b, 1), await join(c, 0)];
    const aSeesB = typingOf(sa, b);
    const bSeesA = typingOf(sb, a);

    // The blocked user types: the bystander (same replica as the blocker) gets it, the blocker does not.
    const cSeesB = nextEvent(sc, 'chat:typing', (p) => p.userId === b.id);
    expect(await request(sb, 'chat:typing', { chatId: group.id })).toEqual({ ok: true });
    expect(await cSeesB).toEqual({ chatId: group.id, userId: b.id });
    // The blocker types: the bystander gets it, the blocked user (on the other replica) does not.
    const cSeesA = nextEvent(sc, 'chat:typing', (p) => p.userId === a.id);
    expect(await request(sa, 'chat:typing', { chatId: group.id })).toEqual({ ok: true });
    expect(await cSeesA).toEqual({ chatId: group.id, userId: a.id });

    await settle();
    expect(aSeesB()).toEqual([]);
    expect(bSeesA()).toEqual([]);
  });

  it('keeps presence from crossing a block either way, announcements and presence:get alike', async () => {
    const { a, b, c, group } = await trio();
    await stack.block(a, b);
    const [sa, sc] = [await join(a, 0), await join(c, 1)];
    const aSeesB = presenceOf(sa, b);
    const cSeesB = presenceOf(sc, b);

    // The blocked user comes online (on the bystander's replica) and goes away.
    const sb = await join(b, 1);
    await waitFor(() => expect(cSeesB()).toEqual([true]));
    const bSeesA = presenceOf(sb, a);
    const cSeesA = presenceOf(sc, a);

    // presence:get: neither sees the other online; the bystander sees both.
    expect(await onlineIn(sa, group.id)).not.toContain(b.id);
    expect(await onlineIn(sb, group.id)).not.toContain(a.id);
    expect(await onlineIn(sc, group.id)).toEqual(expect.arrayContaining([a.id, b.id, c.id]));

    sb.disconnect();
    await waitFor(() => expect(cSeesB()).toEqual([true, false]));

    // The blocker goes away and comes back (on the other replica) while the blocked user watches.
    const sb2 = await join(b, 1);
    const bSeesA2 = presenceOf(sb2, a);
    await waitFor(() => expect(cSeesB()).toEqual([true, false, true]));
    sa.disconnect();
    await waitFor(() => expect(cSeesA()).toEqual([false]));
    const sa2 = await join(a, 1);
    await waitFor(() => expect(cSeesA()).toEqual([false, true]));
    expect(await onlineIn(sb2, group.id)).not.toContain(a.id);
    expect(await onlineIn(sa2, group.id)).not.toContain(b.id);

    await settle();
    expect(aSeesB()).toEqual([]);
    expect(bSeesA()).toEqual([]);
    expect(bSeesA2()).toEqual([]);
  });

  it('follows a block and an unblock made while both are connected (the bus event), on every replica', async () => {
    const { a, b, c, group } = await trio();
    const [sa, sb, sc] = [await join(a, 0), await join(b, 1), await join(c, 1)];
    const typed = async (from: TestClient, to: TestClient, user: TestUser) => {
      const seen = nextEvent(to, 'chat:typing', (p) => p.userId === user.id, 1000);
      await request(from, 'chat:typing', { chatId: group.id });
      await seen;
    };
    // Before any block, typing flows both ways.
    await typed(sb, sa, b);
    await typed(sa, sb, a);

    // This time b blocks a: the relation is symmetric whoever is the blocker.
    await stack.block(b, a);
    // The bus event reaches both replicas: wait until a's typing no longer reaches b while c still gets it.
    await waitFor(
      async () => {
        const bSeesA = typingOf(sb, a);
        await typed(sa, sc, a);
        await settle();
        expect(bSeesA()).toEqual([]);
      },
      10_000,
      0,
    );
    const aSeesB = typingOf(sa, b);
    await typed(sb, sc, b);
    await settle();
    expect(aSeesB()).toEqual([]);
    expect(await onlineIn(sa, group.id)).not.toContain(b.id);

    await stack.unblock(b, a);
    await waitFor(() => typed(sb, sa, b), 10_000, 0);
    await waitFor(() => typed(sa, sb, a), 10_000, 0);
    expect(await onlineIn(sa, group.id)).toEqual(expect.arrayContaining([a.id, b.id, c.id]));
  });

  it('an unblock that leaves the other side’s block in place changes nothing', async () => {
    const { a, b, c, group } = await trio();
    await stack.block(a, b);
    await stack.block(b, a);
    const [sa, sb, sc] = [await join(a, 1), await join(b, 0), await join(c, 0)];
    await stack.unblock(a, b);
    await settle();
    const aSeesB = typingOf(sa, b);
    const cSeesB = nextEvent(sc, 'chat:typing', (p) => p.userId === b.id);
    await request(sb, 'chat:typing', { chatId: group.id });
    await cSeesB;
    await settle();
    expect(aSeesB()).toEqual([]);
  });
});
