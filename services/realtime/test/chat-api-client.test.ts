import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createIdentitySigner, importSigningKey, type IdentitySigner } from '@cohort/common';
import { generateTestKeys, waitFor } from '@cohort/testkit';
import { createChatApiClient, type ChatApiClient } from '../src/clients/chat-api.client';

// The client against a small HTTP server scripted to fail: the failures chat-api itself cannot be made to
// produce on cue (a 503 on exactly one request).
let server: Server;
let client: ChatApiClient;
let signer: IdentitySigner;
/** Statuses of the next membership requests (either route), then 200. */
let answers: number[];
/** Statuses of the next lookups inside a 200 batch, then 200. */
let lookupAnswers: number[] = [];
/** Set: the server is a chat-api from before membership batches, answering that route with this status. */
let legacy: 401 | 404 | undefined;
let served = 0;
let servedSingles = 0;
let lookupsPerBatch: number[] = [];
let batches: (req: IncomingMessage, res: ServerResponse) => void;
let syncBatches: (req: IncomingMessage, res: ServerResponse) => void;
/** Paths of the single `GET …/messages` calls served. */
let singleSyncs: string[] = [];

const memberships = { chatIds: ['aaaaaaaaaaaaaaaaaaaaaaaa'], blockPartners: ['cccccccccccccccccccccccc'] };
const errorOf = (status: number) =>
  status >= 500
    ? { code: 'internal_error', message: 'Internal server error' }
    : { code: status === 404 ? 'not_found' : 'unauthorized', message: 'Who?' };
function answer(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function membershipBatches(req: IncomingMessage, res: ServerResponse) {
  let raw = '';
  req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
  req.on('end', () => {
    if (legacy) return answer(res, legacy, { error: errorOf(legacy) });
    served += 1;
    const status = answers.shift() ?? 200;
    if (status !== 200) return answer(res, status, { error: errorOf(status) });
    const { lookups } = JSON.parse(raw) as { lookups: unknown[] };
    lookupsPerBatch.push(lookups.length);
    const results = lookups.map(() => {
      const one = lookupAnswers.shift() ?? 200;
      return one === 200 ? { status: 200, ...memberships } : { status: one, error: errorOf(one) };
    });
    answer(res, 200, { results });
  });
}

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/internal/message-batches') return batches(req, res);
    if (req.url === '/internal/membership-batches') return membershipBatches(req, res);
    if (req.url === '/internal/sync-batches') return syncBatches(req, res);
    if (req.url?.startsWith('/api/chats/')) {
      singleSyncs.push(req.url);
      return answer(res, 200, { messages: [] });
    }
    // GET /internal/memberships, as a chat-api from before membership batches answers it.
    served += 1;
    servedSingles += 1;
    const status = answers.shift() ?? 200;
    answer(res, status, status === 200 ? memberships : { error: errorOf(status) });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const keys = await generateTestKeys();
  signer = createIdentitySigner(
    await importSigningKey(keys.realtimeIdentity.privateKeyPem, 'EdDSA'),
    'realtime',
  );
  client = newClient();
});
afterAll(async () => {
  await client.close();
  await new Promise((resolve) => server.close(resolve));
});

function newClient(
  timeoutMs = 2000,
  syncBatch?: { maxInFlight: number; maxItems: number; maxWaitMs?: number },
) {
  return createChatApiClient({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    signer,
    timeoutMs,
    syncBatch,
  });
}

const who = {
  userId: 'bbbbbbbbbbbbbbbbbbbbbbbb',
  sessionId: 's',
  tokenId: 't',
  issuedAt: Math.floor(Date.now() / 1000),
  expiresAt: Math.floor(Date.now() / 1000) + 900,
};

describe('memberships (every handshake needs it)', () => {
  beforeEach(() => {
    answers = [];
    lookupAnswers = [];
    legacy = undefined;
    served = 0;
    servedSingles = 0;
    lookupsPerBatch = [];
  });

  test('a transient 5xx is retried once', async () => {
    answers = [503];
    await expect(client.memberships(who, 'req-1')).resolves.toEqual(memberships);
    expect(served).toBe(2);
    expect(servedSingles).toBe(0);
  });

  test('two failures in a row refuse upstream_unavailable', async () => {
    answers = [503, 503];
    await expect(client.memberships(who, 'req-2')).rejects.toMatchObject({
      status: 503,
      code: 'upstream_unavailable',
    });
    expect(served).toBe(2);
  });

  test('a lookup refused with a 4xx is not retried', async () => {
    lookupAnswers = [401];
    await expect(client.memberships(who, 'req-3')).rejects.toMatchObject({
      status: 401,
      code: 'unauthorized',
    });
    expect(served).toBe(1);
  });

  test('lookups of one turn leave in one batch; each gets its own answer', async () => {
    lookupAnswers = [200, 401, 200];
    const [first, refused, third] = await Promise.allSettled([
      client.memberships(who, 'req-4'),
      client.memberships(who, 'req-5'),
      client.memberships(who, 'req-6'),
    ]);
    expect(lookupsPerBatch).toEqual([3]);
    expect(first).toEqual({ status: 'fulfilled', value: memberships });
    expect(refused).toMatchObject({ status: 'rejected', reason: { status: 401, code: 'unauthorized' } });
    expect(third).toEqual({ status: 'fulfilled', value: memberships });
  });

  test.each([401, 404] as const)(
    'a chat-api from before membership batches (the route answers %i) is asked one GET per lookup',
    async (status) => {
      legacy = status;
      const upgrading = newClient();
      try {
        const answered = await Promise.all([
          upgrading.memberships(who, 'r-1'),
          upgrading.memberships(who, 'r-2'),
        ]);
        expect(answered).toEqual([memberships, memberships]);
        expect(servedSingles).toBe(2);
        // Once seen, that chat-api is asked one by one for a while: no batch request is tried first.
        legacy = undefined;
        await expect(upgrading.memberships(who, 'r-3')).resolves.toEqual(memberships);
        expect(servedSingles).toBe(3);
        expect(lookupsPerBatch).toEqual([]);
      } finally {
        await upgrading.close();
      }
    },
  );
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
    const impatient = newClient(300);
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

describe('messagesAfter (chat:sync, batched)', () => {
  const chatId = 'aaaaaaaaaaaaaaaaaaaaaaaa';
  const message = (seq: number) => ({
    id: `cccccccccccccccccccccc${String(seq).padStart(2, '0')}`,
    chatId,
    seq,
    senderId: who.userId,
    text: `m${seq}`,
    clientMsgId: `m-${seq}`,
    createdAt: new Date(0).toISOString(),
    version: 1,
  });
  type SyncBody = {
    syncs: { identity: string; requestId: string; chatId: string; afterSeq: number; limit: number }[];
  };
  let bodies: SyncBody[];
  /** Answers each entry with the messages above its afterSeq up to seq 3, or a 404 for the chat 'dd…'. */
  const scripted = (req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as SyncBody;
      bodies.push(body);
      const results = body.syncs.map((s) =>
        s.chatId === chatId
          ? { status: 200, messages: [1, 2, 3].filter((seq) => seq > s.afterSeq).map(message) }
          : { status: 404, error: { code: 'chat_not_found', message: 'Chat not found' } },
      );
      answer(res, 200, { results });
    });
  };
  beforeEach(() => {
    bodies = [];
    singleSyncs = [];
    syncBatches = scripted;
  });

  test('syncs of one turn leave in one batch; each gets its own answer, a refusal as it was given', async () => {
    const [first, refused, second] = await Promise.allSettled([
      client.messagesAfter(who, chatId, 0, 100, 'req-7'),
      client.messagesAfter(who, 'dddddddddddddddddddddddd', 0, 100, 'req-8'),
      client.messagesAfter(who, chatId, 2, 10, 'req-9'),
    ]);
    expect(bodies.map((b) => b.syncs.map((s) => [s.chatId, s.afterSeq, s.limit, s.requestId]))).toEqual([
      [
        [chatId, 0, 100, 'req-7'],
        ['dddddddddddddddddddddddd', 0, 100, 'req-8'],
        [chatId, 2, 10, 'req-9'],
      ],
    ]);
    expect(bodies[0]?.syncs[0]?.identity).toEqual(expect.any(String));
    expect(first).toEqual({ status: 'fulfilled', value: [message(1), message(2), message(3)] });
    expect(refused).toMatchObject({ status: 'rejected', reason: { status: 404, code: 'chat_not_found' } });
    expect(second).toEqual({ status: 'fulfilled', value: [message(3)] });
    expect(singleSyncs).toEqual([]);
  });

  test('a batch asks for 30 pages at most: full pages leave 30 to a request, smaller ones up to 100', async () => {
    await Promise.all(
      Array.from({ length: 62 }, (_, i) => client.messagesAfter(who, chatId, 0, 100, `req-p${i}`)),
    );
    expect(bodies.map((b) => b.syncs.length)).toEqual([30, 30, 2]);
    bodies = [];
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => client.messagesAfter(who, chatId, 0, 20, `req-q${i}`)),
    );
    expect(bodies.map((b) => b.syncs.length)).toEqual([100]);
  });

  test('a sync that waits its deadline in the queue is refused without being sent', async () => {
    // The first batch is held until the sync queued behind it has run out of time waiting.
    const held: (() => void)[] = [];
    syncBatches = (req, res) => held.push(() => scripted(req, res));
    const impatient = newClient(5000, { maxInFlight: 1, maxItems: 100, maxWaitMs: 100 });
    try {
      const sent = impatient.messagesAfter(who, chatId, 0, 100, 'req-sent');
      await waitFor(() => expect(held).toHaveLength(1), 5000, 5);
      await expect(impatient.messagesAfter(who, chatId, 0, 100, 'req-queued')).rejects.toMatchObject({
        status: 504,
        code: 'upstream_timeout',
      });
      syncBatches = scripted;
      held[0]!();
      await expect(sent).resolves.toHaveLength(3);
      // The queue goes on after it: a sync asked now leaves and is answered, and nothing else was sent.
      await expect(impatient.messagesAfter(who, chatId, 2, 100, 'req-after')).resolves.toEqual([message(3)]);
      expect(bodies.map((b) => b.syncs.map((s) => s.requestId))).toEqual([['req-sent'], ['req-after']]);
    } finally {
      await impatient.close();
    }
  });

  test('a sync that left has the whole deadline for its answer, however long it waited in the queue', async () => {
    // Each batch is answered 250 ms after it arrives; one batch out at a time, so the second sync waits ~250 ms
    // in the queue and is answered ~500 ms after it was asked: past 400 ms in all, within 400 ms of leaving.
    let arrivals = 0;
    syncBatches = (req, res) => {
      arrivals += 1;
      setTimeout(() => scripted(req, res), 250);
    };
    const patient = newClient(400, { maxInFlight: 1, maxItems: 100 });
    try {
      const first = patient.messagesAfter(who, chatId, 0, 100, 'req-1st');
      await waitFor(() => expect(arrivals).toBe(1), 5000, 5);
      const asked = performance.now();
      const second = patient.messagesAfter(who, chatId, 1, 100, 'req-2nd');
      await expect(first).resolves.toHaveLength(3);
      await expect(second).resolves.toEqual([message(2), message(3)]);
      expect(performance.now() - asked).toBeGreaterThan(400);
      expect(bodies).toHaveLength(2);
    } finally {
      await patient.close();
    }
  });

  test.each([401, 404] as const)(
    'a chat-api from before sync batches (the route answers %i) is asked one GET per sync',
    async (status) => {
      syncBatches = (_req, res) => answer(res, status, { error: errorOf(status) });
      const upgrading = newClient();
      try {
        await expect(
          Promise.all([
            upgrading.messagesAfter(who, chatId, 0, 100, 'r-1'),
            upgrading.messagesAfter(who, chatId, 7, 20, 'r-2'),
          ]),
        ).resolves.toEqual([[], []]);
        expect(singleSyncs.sort()).toEqual([
          `/api/chats/${chatId}/messages?after=0&limit=100`,
          `/api/chats/${chatId}/messages?after=7&limit=20`,
        ]);
        // Once seen, that chat-api is asked one by one for a while: no batch request is tried first.
        syncBatches = scripted;
        await expect(upgrading.messagesAfter(who, chatId, 0, 100, 'r-3')).resolves.toEqual([]);
        expect(singleSyncs).toHaveLength(3);
        expect(bodies).toEqual([]);
      } finally {
        await upgrading.close();
      }
    },
  );
});
