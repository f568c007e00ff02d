import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createIdentitySigner, importSigningKey } from '@cohort/common';
import { generateTestKeys } from '@cohort/testkit';
import { createChatApiClient, type ChatApiClient } from '../src/clients/chat-api.client';

// The client against a small HTTP server scripted to fail: the failures chat-api itself cannot be made to
// produce on cue (a 503 on exactly one request).
let server: Server;
let client: ChatApiClient;
let answers: number[];
let served = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    served += 1;
    const status = answers.shift() ?? 200;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(
      status === 200
        ? JSON.stringify({ chatIds: ['aaaaaaaaaaaaaaaaaaaaaaaa'] })
        : JSON.stringify({ error: { code: 'unavailable', message: 'try again' } }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const keys = await generateTestKeys();
  const signer = createIdentitySigner(
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
    await expect(client.memberships(who, 'req-1')).resolves.toEqual(['aaaaaaaaaaaaaaaaaaaaaaaa']);
    expect(served).toBe(2);
  });

  test('two failures in a row refuse with the upstream error', async () => {
    answers = [503, 503];
    served = 0;
    await expect(client.memberships(who, 'req-2')).rejects.toMatchObject({
      status: 503,
      code: 'unavailable',
    });
    expect(served).toBe(2);
  });

  test('a 4xx is not retried', async () => {
    answers = [401];
    served = 0;
    await expect(client.memberships(who, 'req-3')).rejects.toMatchObject({ status: 401 });
    expect(served).toBe(1);
  });
});
