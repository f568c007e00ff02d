import { randomUUID } from 'node:crypto';
import type { Chat, Message } from '@cohort/common';
import { spawnService, waitFor, type ServiceProcess } from '@cohort/testkit';
import { client, connect, nextEvent, request, type TestClient } from './helpers/clients';
import { metricSum } from './helpers/metrics';
import { startStack, type Stack, type TestUser } from './helpers/stack';

jest.setTimeout(120_000);

const ready = async (replica: ServiceProcess) => (await fetch(`${replica.url}/readyz`)).status;

describe.each(['sharded', 'classic'] as const)('Redis lost and back, %s adapter', (mode) => {
  let stack: Stack;
  let replicas: ServiceProcess[];
  let alice: TestUser;
  let bob: TestUser;
  let chat: Chat;
  const open: TestClient[] = [];

  const join = async (user: TestUser, replica: ServiceProcess) => {
    const socket = client(replica.url, { token: user.token });
    open.push(socket);
    return connect(socket);
  };

  beforeAll(async () => {
    stack = await startStack();
    replicas = await Promise.all(
      ['rt-x', 'rt-y'].map((id) =>
        spawnService({ service: 'realtime', label: id, env: stack.realtimeEnv(id, { ADAPTER_MODE: mode }) }),
      ),
    );
    [alice, bob] = await Promise.all([stack.register('alice'), stack.register('bob')]);
    chat = await stack.createGroup(alice, 'outage', [bob]);
  });

  afterAll(async () => {
    for (const s of open) s.disconnect();
    await Promise.all((replicas ?? []).map((r) => r.stop()));
    await stack?.close();
  });

  it('keeps serving local sockets while Redis is away, then resumes cross-replica delivery by itself', async () => {
    const [aliceX, aliceX2, bobY] = [
      await join(alice, replicas[0]!),
      await join(alice, replicas[0]!),
      await join(bob, replicas[1]!),
    ];
    const before = await request(aliceX, 'chat:send', {
      chatId: chat.id,
      text: 'before',
      clientMsgId: `o-${randomUUID()}`,
    });
    if (!before.ok) throw new Error(before.error.code);
    // bob catches up while the bus works, until his replica answers from the recent messages it keeps (the first
    // catch-up may not be kept: the send's bus event can arrive while chat-api is being asked). The messages stored
    // while Redis is away never reach what it keeps (their publish fails).
    const fromReplica = () =>
      metricSum(
        replicas[1]!.url,
        (l) => l.startsWith('realtime_syncs_total') && l.includes('answered_by="replica"'),
      );
    await waitFor(async () => {
      const early = await request(bobY, 'chat:sync', { chatId: chat.id, afterSeq: 0 });
      expect(early).toEqual({ ok: true, messages: [expect.objectContaining({ id: before.message.id })] });
      expect(await fromReplica()).toBeGreaterThan(0);
    });

    await stack.redis.stop();
    await waitFor(async () => expect(await Promise.all(replicas.map(ready))).toEqual([503, 503]), 10_000);

    // Local delivery goes on: typing reaches alice's other tab on the same replica.
    const typing = nextEvent(aliceX2, 'chat:typing', (p) => p.chatId === chat.id);
    expect(await request(aliceX, 'chat:typing', { chatId: chat.id })).toEqual({ ok: true });
    expect(await typing).toEqual({ chatId: chat.id, userId: alice.id });

    // Sends either succeed (stored in Mongo) or fail with a clear error ack; none hangs.
    const during: Message[] = [];
    for (let i = 0; i < 5; i++) {
      const ack = await request(
        aliceX,
        'chat:send',
        { chatId: chat.id, text: `during ${i}`, clientMsgId: `o-${randomUUID()}` },
        10_000,
      );
      if (ack.ok) during.push(ack.message);
      else expect(ack.error.code).toEqual(expect.any(String));
    }

    // chat-api stores without Redis (only its publish fails), so these are acked and must come back through sync.
    expect(during.length).toBeGreaterThan(0);
    await stack.redis.start();
    await waitFor(async () => expect(await Promise.all(replicas.map(ready))).toEqual([200, 200]), 15_000);

    // What bob missed while Redis was away comes back through chat:sync: what his replica kept from before is not
    // trusted after its bus subscription reconnected (an event may have been missed meanwhile), and no later message
    // has yet shown it a gap.
    const sync = await request(bobY, 'chat:sync', { chatId: chat.id, afterSeq: before.message.seq });
    if (!sync.ok) throw new Error(sync.error.code);
    const synced = new Set(sync.messages.map((m) => m.id));
    expect(during.every((m) => synced.has(m.id))).toBe(true);

    // Cross-replica delivery is back, over the bus and over the adapter, with no client action.
    await waitFor(
      async () => {
        const seen = nextEvent(bobY, 'chat:new', (p) => p.message.text === 'after', 1500);
        const ack = await request(aliceX, 'chat:send', {
          chatId: chat.id,
          text: 'after',
          clientMsgId: `o-${randomUUID()}`,
        });
        expect(ack.ok).toBe(true);
        await seen;
      },
      15_000,
      200,
    );
    await waitFor(
      async () => {
        const seen = nextEvent(aliceX, 'chat:typing', (p) => p.userId === bob.id, 1000);
        await request(bobY, 'chat:typing', { chatId: chat.id });
        await seen;
      },
      10_000,
      200,
    );

    // Redis came back empty (it keeps nothing on disk here): each replica's heartbeat finds itself missing from the
    // replicas set and renews every socket it holds, so both users are online again.
    await waitFor(
      async () =>
        expect(await request(bobY, 'presence:get', { chatId: chat.id })).toEqual({
          ok: true,
          online: expect.arrayContaining([alice.id, bob.id]),
        }),
      15_000,
      250,
    );

    expect([aliceX, aliceX2, bobY].every((s) => s.connected)).toBe(true);
    for (const r of replicas) {
      expect(r.child.exitCode).toBeNull();
      expect(r.logs.filter((l) => l.includes('"level":60'))).toEqual([]);
    }
  });
});
