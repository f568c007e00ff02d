import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { createMemoryDenylist, generatePemKeyPair, type TokenDenylist } from '@cohort/common';
import { freePort, generateTestKeys, testLogger, type TestKeys } from '@cohort/testkit';
import { loadRealtimeConfig } from '../src/config';
import { startRealtime, type RunningRealtime } from '../src/main';
import { client, refusal } from './helpers/clients';
import { objectId, signAccessToken } from './helpers/tokens';

// One embedded replica (no Redis). chat-api is deliberately unreachable: a handshake that gets past
// authentication is then refused `unavailable`, which tells it apart from an `unauthorized` refusal.
describe('handshake authentication', () => {
  let keys: TestKeys;
  let denylist: TokenDenylist;
  let replica: RunningRealtime;
  let url: string;

  beforeAll(async () => {
    keys = await generateTestKeys();
    denylist = createMemoryDenylist();
    const config = loadRealtimeConfig({
      PORT: '0',
      NODE_ENV: 'test',
      REPLICA_ID: 'rt-handshake',
      JWT_PUBLIC_KEY: keys.access.publicKeyPem,
      INTERNAL_SIGNING_KEY: keys.realtimeIdentity.privateKeyPem,
      CHAT_API_URL: `http://127.0.0.1:${await freePort()}`,
      CHAT_API_TIMEOUT_MS: '1000',
      ALLOWED_ORIGINS: 'https://app.example.test',
    });
    replica = await startRealtime({ config, logger: testLogger('realtime'), shared: { denylist } });
    url = `http://127.0.0.1:${replica.port}`;
  });

  afterAll(async () => {
    await replica.close();
  });

  const validToken = (overrides: Partial<Parameters<typeof signAccessToken>[1]> = {}) =>
    signAccessToken(keys, { userId: objectId(), ...overrides });

  it('refuses a handshake without a token', async () => {
    expect(await refusal(client(url))).toBe('unauthorized');
  });

  it('refuses a token that is not a JWT', async () => {
    expect(await refusal(client(url, { token: 'not-a-token' }))).toBe('unauthorized');
  });

  it('refuses a token signed with another key', async () => {
    const other = generatePemKeyPair('ES256');
    const token = await validToken({ privateKeyPem: other.privateKeyPem });
    expect(await refusal(client(url, { token }))).toBe('unauthorized');
  });

  it('refuses an unsigned (alg none) token', async () => {
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({
      sub: objectId(),
      sid: 's',
      jti: 'j',
      iat: now,
      exp: now + 600,
      iss: 'cohort-auth',
      aud: 'cohort',
    })}.`;
    expect(await refusal(client(url, { token }))).toBe('unauthorized');
  });

  it('refuses an HS256 token keyed with the public key (algorithm confusion)', async () => {
    const token = await new SignJWT({ sid: 's', jti: 'j' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(objectId())
      .setIssuer('cohort-auth')
      .setAudience('cohort')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(Buffer.from(keys.access.publicKeyPem));
    expect(await refusal(client(url, { token }))).toBe('unauthorized');
  });

  it('refuses an expired token', async () => {
    expect(await refusal(client(url, { token: await validToken({ expiresIn: -60 }) }))).toBe('unauthorized');
  });

  it('refuses a token issued for another audience', async () => {
    expect(await refusal(client(url, { token: await validToken({ audience: 'someone-else' }) }))).toBe(
      'unauthorized',
    );
  });

  it('refuses a token of a revoked session', async () => {
    const sessionId = randomBytes(8).toString('hex');
    await denylist.revoke(sessionId, Math.floor(Date.now() / 1000) + 900);
    expect(await refusal(client(url, { token: await validToken({ sessionId }) }))).toBe('unauthorized');
  });

  it('refuses a valid token sent from a foreign Origin (cross-site WebSocket hijacking)', async () => {
    const token = await validToken();
    expect(await refusal(client(url, { token, origin: 'https://evil.example' }))).toBe('unauthorized');
    expect(
      await refusal(
        client(url, { cookie: `token=${token}`, origin: 'https://evil.example', transports: ['polling'] }),
      ),
    ).toBe('unauthorized');
  });

  it('lets a valid token past authentication from an allowed origin, its own origin or no origin', async () => {
    const token = await validToken();
    // Past authentication the replica asks chat-api for the rooms; unreachable here, so: `unavailable`.
    expect(await refusal(client(url, { token }))).toBe('unavailable');
    expect(await refusal(client(url, { token, origin: 'https://app.example.test' }))).toBe('unavailable');
    expect(await refusal(client(url, { token, origin: `http://127.0.0.1:${replica.port}` }))).toBe(
      'unavailable',
    );
  });

  it('reads the token from the `token` cookie', async () => {
    const token = await validToken();
    expect(await refusal(client(url, { cookie: `theme=dark; token=${token}` }))).toBe('unavailable');
    expect(await refusal(client(url, { cookie: `token=${token}`, transports: ['polling'] }))).toBe(
      'unavailable',
    );
  });

  it('names the replica in an x-replica header on the polling handshake and on the websocket upgrade', async () => {
    const polling = await new Promise<string | string[] | undefined>((resolve, reject) => {
      httpRequest(`${url}/socket.io/?EIO=4&transport=polling`, (res) => {
        res.resume();
        resolve(res.headers['x-replica']);
      })
        .on('error', reject)
        .end();
    });
    expect(polling).toBe('rt-handshake');

    const upgrade = await new Promise<string | string[] | undefined>((resolve, reject) => {
      const req = httpRequest(`${url}/socket.io/?EIO=4&transport=websocket`, {
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
          'Sec-WebSocket-Version': '13',
        },
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve(res.headers['x-replica']);
      });
      req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    expect(upgrade).toBe('rt-handshake');
  });

  it('names the replica in /healthz', async () => {
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', service: 'realtime', replica: 'rt-handshake' });
  });
});
