import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { io } from 'socket.io-client';
import { apiAs, registerUser, type TestUser } from '@cohort/testkit';
import { attackArb, createForger, type Attack, type Forger } from './support/forge';
import { startFaultCluster, type FaultCluster } from './support/cluster-kit';
import { report } from './support/report';
import { bySize } from './support/size';
import { openStore, type StoreProbe } from './support/store';

/**
 * Case 5: tampered tokens (fast-check) are refused at the gateway (401), at chat-api directly (401: it trusts
 * nothing but a forwarded identity signed by a forwarder's key) and at the Socket.IO handshake
 * (`connect_error` "unauthorized"): 100%, and nothing is written while they knock.
 */
const RUNS = bySize(500, 3000);
const ATTEMPT_TIMEOUT_MS = 5000;

let cluster: FaultCluster;
let store: StoreProbe;
let forger: Forger;
let user: TestUser;
let chatId: string;
let attackerServer: Server;
let attackerFetches = 0;

beforeAll(async () => {
  cluster = await startFaultCluster({ realtimeReplicas: 1, gateways: 1 });
  store = await openStore(cluster.mongoUrl);
  // The attacker's key server: a verifier that followed a token's jku/x5u header would come here.
  attackerServer = createServer((_req, res) => {
    attackerFetches += 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [] }));
  });
  await new Promise<void>((resolve) => attackerServer.listen(0, '127.0.0.1', () => resolve()));
  const address = attackerServer.address();
  if (address === null || typeof address === 'string') throw new Error('no attacker address');
  forger = createForger({
    accessPrivatePem: cluster.keys.access.privateKeyPem,
    accessKid: String(cluster.keys.accessJwks.keys[0]!.kid),
    identityPrivatePem: cluster.keys.gatewayIdentity.privateKeyPem,
    identityKid: String(cluster.keys.internalJwks.keys[0]!.kid),
    attackerJwksUrl: `http://127.0.0.1:${address.port}/jwks.json`,
  });
  user = await registerUser(cluster.url, 'victim');
  chatId = (await apiAs(cluster.url, user).createGroup('target', [])).id;
}, 90_000);

afterAll(async () => {
  await store?.close();
  await new Promise<void>((resolve) => (attackerServer ? attackerServer.close(() => resolve()) : resolve()));
  await cluster?.stop();
}, 60_000);

/** Outcomes per attack kind, for the report and for reading a failure. */
class Tally {
  tried = 0;
  refused = 0;
  readonly accepted: string[] = [];
  readonly byKind: Record<string, { tried: number; refused: number }> = {};
  record(kind: string, refused: boolean, detail: string) {
    this.tried += 1;
    const entry = (this.byKind[kind] ??= { tried: 0, refused: 0 });
    entry.tried += 1;
    if (refused) {
      this.refused += 1;
      entry.refused += 1;
    } else if (this.accepted.length < 20) this.accepted.push(detail);
  }
  figures() {
    return {
      tried: this.tried,
      refused: this.refused,
      refusedPct: this.tried ? Math.round((this.refused / this.tried) * 10_000) / 100 : 0,
      kinds: Object.keys(this.byKind).length,
      notRefused: this.accepted,
    };
  }
}

const PROTECTED = [
  { method: 'GET', path: () => '/api/chats' },
  { method: 'GET', path: () => '/api/auth/me' },
  { method: 'GET', path: () => '/api/users/search?q=victim' },
  { method: 'GET', path: () => `/api/chats/${chatId}/messages` },
  {
    method: 'POST',
    path: () => `/api/chats/${chatId}/messages`,
    body: () => ({ text: 'forged', clientMsgId: randomUUID() }),
  },
  { method: 'POST', path: () => '/api/chats', body: () => ({ type: 'group', title: 'forged' }) },
] as const;

interface Attempt {
  status: number | 'timeout' | 'network';
  body: string;
}

async function call(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Attempt> {
  try {
    const res = await fetch(url, {
      method,
      headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return {
      status: err instanceof Error && err.name === 'TimeoutError' ? 'timeout' : 'network',
      body: String(err),
    };
  }
}

const isErrorShape = (body: string): boolean => {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    return typeof parsed.error?.code === 'string' && typeof parsed.error.message === 'string';
  } catch {
    return false;
  }
};

const carrierHeaders = (carrier: 'bearer' | 'cookie', token: string): Record<string, string> =>
  carrier === 'bearer' ? { authorization: `Bearer ${token}` } : { cookie: `token=${token}` };

const describe_ = (attack: Attack, extra: object = {}) =>
  JSON.stringify({ ...attack, ...extra }).slice(0, 400);

test('a correctly signed token is accepted everywhere it is presented (the control: every target can say yes)', async () => {
  const token = forger.valid('access', user.user.id);
  const viaGateway = await call(`${cluster.url}/api/chats`, 'GET', { authorization: `Bearer ${token}` });
  expect(viaGateway.status).toBe(200);
  const identity = forger.valid('identity', user.user.id);
  const direct = await call(`${cluster.chatApi.url}/api/chats`, 'GET', { 'x-cohort-identity': identity });
  expect(direct.status).toBe(200);
  const socket = io(cluster.url, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err) => reject(err));
    });
  } finally {
    socket.close();
  }
});

test('the gateway refuses every tampered access token with 401 in the error shape', async () => {
  const tally = new Tally();
  const before = await store.counts();
  try {
    await fc.assert(
      fc.asyncProperty(
        attackArb('access'),
        fc.constantFrom('bearer' as const, 'cookie' as const),
        fc.nat({ max: PROTECTED.length - 1 }),
        async (attack, carrier, endpointIndex) => {
          const endpoint = PROTECTED[endpointIndex]!;
          const token = forger.forge('access', attack, user.user.id);
          const res = await call(
            `${cluster.url}${endpoint.path()}`,
            endpoint.method,
            carrierHeaders(carrier, token),
            'body' in endpoint ? endpoint.body() : undefined,
          );
          const refused = res.status === 401 && isErrorShape(res.body);
          tally.record(
            attack.kind,
            refused,
            describe_(attack, { carrier, endpoint: endpoint.path(), status: res.status, token }),
          );
          return refused;
        },
      ),
      { numRuns: RUNS },
    );
  } finally {
    report('token-fuzz', { target: 'gateway', ...tally.figures(), attackerKeyFetches: attackerFetches });
  }
  expect(await store.counts()).toEqual(before);
  expect(attackerFetches).toBe(0);
}, 180_000);

/** What reaches chat-api without the gateway: forged identities, bearer tokens (even genuine ones), identity headers. */
type DirectAttempt =
  | { carrier: 'identity'; attack: Attack }
  | { carrier: 'bearer' | 'cookie'; attack: Attack | 'genuine' }
  | { carrier: 'spoofed-header'; header: string }
  | { carrier: 'genuine-bearer+forged-identity'; attack: Attack };

const directArb: fc.Arbitrary<DirectAttempt> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ carrier: fc.constant('identity' as const), attack: attackArb('identity') }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      carrier: fc.constantFrom('bearer' as const, 'cookie' as const),
      attack: fc.oneof(fc.constant('genuine' as const), attackArb('access')),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      carrier: fc.constant('spoofed-header' as const),
      header: fc.constantFrom(
        'x-user-id',
        'x-user',
        'x-forwarded-user',
        'x-auth-user-id',
        'x-internal-user',
        'x-cohort-user',
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      carrier: fc.constant('genuine-bearer+forged-identity' as const),
      attack: attackArb('identity'),
    }),
  },
);

test('chat-api refuses with 401 every request without a genuine forwarded identity, bearer tokens included', async () => {
  const tally = new Tally();
  const before = await store.counts();
  const uid = user.user.id;
  try {
    await fc.assert(
      fc.asyncProperty(directArb, fc.nat({ max: 2 }), async (attempt, endpointIndex) => {
        let headers: Record<string, string>;
        switch (attempt.carrier) {
          case 'identity':
            headers = { 'x-cohort-identity': forger.forge('identity', attempt.attack, uid) };
            break;
          case 'bearer':
          case 'cookie': {
            const token =
              attempt.attack === 'genuine' ? user.token : forger.forge('access', attempt.attack, uid);
            headers = carrierHeaders(attempt.carrier, token);
            break;
          }
          case 'spoofed-header':
            headers = { [attempt.header]: uid, authorization: `Bearer ${user.token}` };
            break;
          case 'genuine-bearer+forged-identity':
            headers = {
              authorization: `Bearer ${user.token}`,
              'x-cohort-identity': forger.forge('identity', attempt.attack, uid),
            };
            break;
        }
        const [method, path, body] = [
          ['GET', '/api/chats', undefined],
          ['GET', '/internal/memberships', undefined],
          ['POST', `/api/chats/${chatId}/messages`, { text: 'forged', clientMsgId: randomUUID() }],
        ][endpointIndex] as [string, string, unknown];
        const res = await call(`${cluster.chatApi.url}${path}`, method, headers, body);
        const refused = res.status === 401 && isErrorShape(res.body);
        const kind =
          attempt.carrier === 'spoofed-header'
            ? `header:${attempt.header}`
            : `${attempt.carrier}:${typeof attempt.attack === 'string' ? attempt.attack : attempt.attack.kind}`;
        tally.record(
          kind,
          refused,
          JSON.stringify({ attempt, path, status: res.status, headers }).slice(0, 600),
        );
        return refused;
      }),
      { numRuns: RUNS },
    );
  } finally {
    report('token-fuzz', { target: 'chat-api', ...tally.figures() });
  }
  expect(await store.counts()).toEqual(before);
}, 180_000);

/** One handshake through nginx: resolves with the connect_error message, or 'connected'. */
function handshake(token: string, carrier: 'auth' | 'bearer' | 'cookie'): Promise<string> {
  const socket = io(cluster.url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: ATTEMPT_TIMEOUT_MS,
    query: { cid: randomUUID() },
    ...(carrier === 'auth' ? { auth: { token } } : {}),
    ...(carrier === 'bearer' ? { extraHeaders: { authorization: `Bearer ${token}` } } : {}),
    ...(carrier === 'cookie' ? { extraHeaders: { cookie: `token=${token}` } } : {}),
  });
  return new Promise<string>((resolve) => {
    const timer = setTimeout(() => finish('hang'), ATTEMPT_TIMEOUT_MS + 1000);
    function finish(outcome: string) {
      clearTimeout(timer);
      socket.close();
      resolve(outcome);
    }
    socket.once('connect', () => finish('connected'));
    socket.once('connect_error', (err) => finish(err.message));
  });
}

test('the Socket.IO handshake refuses every tampered token with connect_error "unauthorized"', async () => {
  const tally = new Tally();
  try {
    await fc.assert(
      fc.asyncProperty(
        attackArb('access'),
        fc.constantFrom('auth' as const, 'bearer' as const, 'cookie' as const),
        async (attack, carrier) => {
          const token = forger.forge('access', attack, user.user.id);
          const outcome = await handshake(token, carrier);
          const refused = outcome === 'unauthorized';
          tally.record(attack.kind, refused, describe_(attack, { carrier, outcome, token }));
          return refused;
        },
      ),
      { numRuns: RUNS },
    );
  } finally {
    report('token-fuzz', {
      target: 'socket-handshake',
      ...tally.figures(),
      attackerKeyFetches: attackerFetches,
    });
  }
  expect(attackerFetches).toBe(0);
  expect(cluster.realtime.every((r) => r.child.exitCode === null)).toBe(true);
}, 180_000);
