import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createIdentitySigner, importSigningKey, type IdentitySigner } from '@cohort/common';
import { generateTestKeys } from '@cohort/testkit';
import { createChatApiClient, type ChatApiClient } from '../src/clients/chat-api.client';

// The client against a small HTTP server scripted to fail: the failures chat-api itself cannot be made to
// produce on cue (a 503 on exactly one request).
let server: Server;
let client: ChatApiClient;
let signer: IdentitySigner;
let answers: number[];
let served = 0;
let batches: (req: IncomingMessage, res: ServerResponse) => void;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/internal/message-batches') return batches(req, res);
    served += 1;
    const status = answers.shift() ?? 200;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(
      status === 200
        ? JSON.stringify({
            chatIds: ['aaaaaaaaaaaaaaaaaaaaaaaa'],
            blockPartners: ['cccccccccccccccccccccccc'],
          })
        : JSON.stringify({
            error:
              status >= 500
                ? { code: 'internal_error', message: 'Internal server error' }
                : { code: 'unauthorized', message: 'Who?' },
          }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const keys = await generateTestKeys();
  signer = createIdentitySigner(
    await importSigningKey(keys.realtimeIdentity.privateKeyPem, 'EdDSA'),
    'realtime',
  );
  client = createChatApiClient({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    signer,
    timeoutMs: 2000,
  });
});
afterAll(async () => {
  await client.close();
  await new Promise((resolve) => server.close(resolve));
});

const who = {
  userId: 'bbbbbbbbbbbbbbbbbbbbbbbb',
  sessionId: 's',
  tokenId: 't',
  issuedAt: Math.floor(Date.now() / 1000),
  expiresAt: Math.floor(Date.now() / 1000) + 900,
};

describe('memberships (every handshake needs it)', () => {
  test('a transient 5xx is retried once', async () => {
    answers = [503];
    served = 0;
    await expect(client.memberships(who, 'req-1')).resolves.toEqual({
      chatIds: ['aaaaaaaaaaaaaaaaaaaaaaaa'],
      blockPartners: ['cccccccccccccccccccccccc'],
    });
    expect(served).toBe(2);
  });

  test('two failures in a row refuse upstream_unavailable', async () => {
    answers = [503, 503];
    served = 0;
    await expect(client.memberships(who, 'req-2')).rejects.toMatchObject({
      status: 503,
      code: 'upstream_unavailable',
    });
    expect(served).toBe(2);
  });

  test('a 4xx is not retried', async () => {
    answers = [401];
    served = 0;
    await expect(client.memberships(who, 'req-3')).rejects.toMatchObject({
      status: 401,
      code: 'unauthorized',
    });
    expect(served).toBe(1);
  });
});

describe('sendMessage (batched)', () => {
  const message = {
    id: 'cccccccccccccccccccccccc',
    chatId: 'aaaaaaaaaaaaaaaaaaaaaaaa',
    seq: 1,
    senderId: who.userId,
    text: 'hi',
    clientMsgId: 'm-1',
    createdAt: new Date(0).toISOString(),
    version: 1,
  };

  test('sends of one turn leave in one batch; each gets its own answer, a refusal as it was given', async () => {
    const bodies: { sends: { identity: string; clientMsgId: string }[] }[] = [];
    batches = (req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        bodies.push(JSON.parse(raw) as (typeof bodies)[number]);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            results: [
              { status: 201, message },
              { status: 403, error: { code: 'not_member', message: 'Not a member of this chat' } },
            ],
          }),
        );
      });
    };
    const [stored, refused] = await Promise.allSettled([
      client.sendMessage(who, message.chatId, { text: 'hi', clientMsgId: 'm-1' }, 'req-4'),
      client.sendMessage(who, 'dddddddddddddddddddddddd', { text: 'hi', clientMsgId: 'm-2' }, 'req-5'),
    ]);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]?.sends.map((s) => s.clientMsgId)).toEqual(['m-1', 'm-2']);
    expect(bodies[0]?.sends[0]?.identity).toEqual(expect.any(String));
    expect(stored).toEqual({ status: 'fulfilled', value: { message, created: true } });
    expect(refused).toMatchObject({ status: 'rejected', reason: { status: 403, code: 'not_member' } });
  });

  test('a chat-api that stops answering fails the send upstream_timeout within the deadline', async () => {
    batches = () => undefined;
    const impatient = createChatApiClient({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      signer,
      timeoutMs: 300,
    });
    const started = performance.now();
    try {
      await expect(
        impatient.sendMessage(who, message.chatId, { text: 'hi', clientMsgId: 'm-3' }, 'req-6'),
      ).rejects.toMatchObject({ status: 504, code: 'upstream_timeout' });
      expect(performance.now() - started).toBeLessThan(1500);
    } finally {
      await impatient.close();
    }
  });
});
