import { randomUUID } from 'node:crypto';
import type { Ack, Chat } from '@cohort/common';
import { spawnService, waitFor, type ServiceProcess } from '@cohort/testkit';
import { client, connect, disconnected, request, type TestClient } from './helpers/clients';
import { startStack, type Stack, type TestUser } from './helpers/stack';

jest.setTimeout(60_000);

/**
 * Hostile and broken clients against a replica running as its own process (with the production process
 * handlers: an unhandled error would kill it), proving it answers every bad event with an error ack and survives.
 */
describe('a replica under malformed events and floods', () => {
  let stack: Stack;
  let replica: ServiceProcess;
  let user: TestUser;
  let chat: Chat;
  const open: TestClient[] = [];

  const fresh = async () => {
    const socket = client(replica.url, { token: user.token });
    open.push(socket);
    return connect(socket);
  };
  const validSync = (socket: TestClient) => request(socket, 'chat:sync', { chatId: chat.id, afterSeq: 0 });
  const expectValidationError = {
    ok: false,
    error: { code: 'validation_error', message: expect.any(String) },
  };

  beforeAll(async () => {
    stack = await startStack();
    replica = await spawnService({
      service: 'realtime',
      label: 'rt-abuse',
      env: stack.realtimeEnv('rt-abuse'),
    });
    user = await stack.register('mallory');
    chat = await stack.createGroup(user, 'target', []);
  });

  afterEach(() => {
    for (const s of open.splice(0)) s.disconnect();
  });

  afterAll(async () => {
    await replica?.stop();
    await stack?.close();
  });

  it.each([
    ['no payload', undefined],
    ['a string', 'chat'],
    ['a number', 42],
    ['null', null],
    ['an array', [{ chatId: 'x' }]],
    ['binary', Buffer.from('hello')],
    ['an operator object for the chat id', { chatId: { $gt: '' }, text: 'x', clientMsgId: 'a' }],
    ['a blank text', { chatId: '0'.repeat(24), text: '   ', clientMsgId: 'a' }],
    ['a 4,001-character text', { chatId: '0'.repeat(24), text: 'x'.repeat(4001), clientMsgId: 'a' }],
    ['a clientMsgId with spaces', { chatId: '0'.repeat(24), text: 'x', clientMsgId: 'a b' }],
    ['an unknown field', { chatId: '0'.repeat(24), text: 'x', clientMsgId: 'a', senderId: 'someone' }],
    [
      'a __proto__ key',
      JSON.parse(
        '{"chatId":"000000000000000000000000","text":"x","clientMsgId":"a","__proto__":{"admin":true}}',
      ) as unknown,
    ],
    ['deep nesting', Array.from({ length: 500 }).reduce<object>((inner) => ({ a: inner }), {})],
  ])(
    'answers chat:send with %s by a validation error ack, and keeps serving the socket',
    async (_name, payload) => {
      const socket = await fresh();
      expect(await request(socket, 'chat:send', payload)).toEqual(expectValidationError);
      expect(await validSync(socket)).toMatchObject({ ok: true });
    },
  );

  it.each([
    ['chat:sync', 'a negative afterSeq', { chatId: '0'.repeat(24), afterSeq: -1 }],
    ['chat:sync', 'a string afterSeq', { chatId: '0'.repeat(24), afterSeq: '3' }],
    ['chat:sync', 'a limit over 100', { chatId: '0'.repeat(24), afterSeq: 1, limit: 1000 }],
    ['chat:read', 'a fractional seq', { chatId: '0'.repeat(24), seq: 1.5 }],
    ['chat:typing', 'a numeric chat id', { chatId: 123 }],
    ['auth:refresh', 'a numeric token', { token: 5 }],
    ['presence:get', 'no chat id', {}],
  ] as const)('answers %s with %s by a validation error ack', async (event, _what, payload) => {
    const socket = await fresh();
    expect(await request(socket, event, payload)).toEqual(expectValidationError);
  });

  it('survives events without an ack, with a non-function where the ack belongs, and with extra arguments', async () => {
    const socket = await fresh();
    socket.emit('chat:send', { nonsense: true } as never, undefined as never);
    (socket as unknown as { emit(...args: unknown[]): void }).emit(
      'chat:sync',
      { chatId: chat.id, afterSeq: 0 },
      'not-a-function',
    );
    (socket as unknown as { emit(...args: unknown[]): void }).emit('chat:read');
    socket.emit('chat:typing', 'x' as never);
    const withExtras = await (
      socket as unknown as { timeout(ms: number): { emitWithAck(...args: unknown[]): Promise<unknown> } }
    )
      .timeout(5000)
      .emitWithAck('chat:sync', { chatId: chat.id, afterSeq: 0 }, 'extra', 7);
    expect(withExtras).toMatchObject({ ok: true, messages: [] });
    expect(socket.connected).toBe(true);
  });

  it('answers an unknown event that expects an ack with unknown_event', async () => {
    const socket = await fresh();
    const untyped = socket as unknown as {
      timeout(ms: number): { emitWithAck(...args: unknown[]): Promise<unknown> };
    };
    expect(await untyped.timeout(5000).emitWithAck('admin:drop-database', {})).toMatchObject({
      ok: false,
      error: { code: 'unknown_event' },
    });
  });

  it('closes only the connection that sends a packet over the size bound, and keeps serving the others', async () => {
    const [bystander, offender] = [await fresh(), await fresh()];
    const closed = disconnected(offender);
    (offender as unknown as { emit(...args: unknown[]): void }).emit('chat:send', {
      chatId: chat.id,
      text: 'x'.repeat(64 * 1024),
      clientMsgId: 'big',
    });
    expect(await closed).toMatch(/transport (close|error)/);
    expect(await validSync(bystander)).toMatchObject({ ok: true });
  });

  it('refuses a flood with rate_limited acks, keeps the socket connected, and serves it again once it slows down', async () => {
    const socket = await fresh();
    const replies = (await Promise.all(
      Array.from({ length: 120 }, () => request(socket, 'chat:typing', { chatId: chat.id })),
    )) as Ack<object>[];
    const limited = replies.filter((r) => !r.ok && r.error.code === 'rate_limited');
    expect(limited.length).toBeGreaterThanOrEqual(40);
    expect(replies.filter((r) => r.ok).length).toBeGreaterThanOrEqual(60);
    expect(socket.connected).toBe(true);
    await waitFor(async () => expect(await validSync(socket)).toMatchObject({ ok: true }), 5000, 200);
  });

  it('is still alive and logged no crash after all of it', async () => {
    const socket = await fresh();
    const clientMsgId = `ok-${randomUUID()}`;
    expect(
      await request(socket, 'chat:send', { chatId: chat.id, text: 'still here', clientMsgId }),
    ).toMatchObject({ ok: true });
    expect(replica.child.exitCode).toBeNull();
    expect(replica.logs.filter((l) => l.includes('"level":60') || l.includes('"level":50'))).toEqual([]);
  });
});
