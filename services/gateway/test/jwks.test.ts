import request from 'supertest';
import type { JSONWebKeySet } from 'jose';
import { publicJwkFromPem } from '@cohort/common';
import { generateTestKeys, waitFor, type TestKeys } from '@cohort/testkit';
import {
  accessToken,
  otherAccessKey,
  startProbe,
  startTestGateway,
  type Probe,
  type TestGateway,
} from './support';

/** Verification against auth's JWKS endpoint (the default, JWKS_URL), with a key rotation. */
describe('gateway: keys from auth’s JWKS', () => {
  let keys: TestKeys;
  let auth: Probe;
  let chatApi: Probe;
  let gateway: TestGateway;
  let served: JSONWebKeySet;
  let jwksFetches = 0;

  beforeAll(async () => {
    keys = await generateTestKeys();
    served = keys.accessJwks;
    [auth, chatApi] = await Promise.all([startProbe(), startProbe()]);
    auth.route('/api/auth/jwks.json', (_req, res) => {
      jwksFetches++;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(served));
    });
    // No JWKS_URL / JWT_PUBLIC_KEY: the default is `${AUTH_URL}/api/auth/jwks.json`.
    gateway = await startTestGateway({ keys, authUrl: auth.url, chatApiUrl: chatApi.url, jwksUrl: '' });
  });

  afterAll(async () => {
    await gateway.close();
    await Promise.all([auth.close(), chatApi.close()]);
  });

  const get = (token: string) =>
    request(gateway.url).get('/api/chats').set('Authorization', `Bearer ${token}`);

  it('fetches the keys once and caches them', async () => {
    const token = await accessToken(keys);
    expect((await get(token)).status).toBe(200);
    expect((await get(token)).status).toBe(200);
    expect(jwksFetches).toBe(1);
  });

  it('picks up a rotated key: an unknown kid makes it refetch the JWKS', async () => {
    const next = otherAccessKey();
    const nextJwk = await publicJwkFromPem(next.publicKeyPem, 'ES256');
    const token = await accessToken(keys, { key: next, kid: nextJwk.kid });
    served = { keys: [...keys.accessJwks.keys, nextJwk] };
    // jose refetches on an unknown kid at most once per 5 s cooldown: poll until the new key is in use.
    await waitFor(
      async () => {
        const res = await get(token);
        if (res.status !== 200) throw new Error(`status ${res.status}`);
      },
      10_000,
      250,
    );
    expect(jwksFetches).toBeGreaterThanOrEqual(2);
  });

  it('still refuses a kid the JWKS does not have, without hammering auth', async () => {
    const before = jwksFetches;
    const token = await accessToken(keys, { kid: 'never-published' });
    for (let i = 0; i < 5; i++) expect((await get(token)).status).toBe(401);
    expect(jwksFetches - before).toBeLessThanOrEqual(1);
  });
});
