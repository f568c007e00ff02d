import { randomUUID } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import { generateTestKeys, type TestKeys } from '@cohort/testkit';
import {
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  createAccessTokenVerifier,
  type AccessTokenVerifier,
} from '../src/auth/access-token';
import { createCachedVerifier } from '../src/auth/cached-verifier';
import { createMemoryDenylist } from '../src/auth/denylist';

/** An access token signed the way auth signs them (ES256, kid, iss/aud/sub/sid/jti). */
async function accessToken(
  keys: TestKeys,
  options: { sub?: string; sid?: string; jti?: string; expiresIn?: number } = {},
): Promise<string> {
  const key = await importPKCS8(keys.access.privateKeyPem, 'ES256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: options.sid ?? randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: keys.accessJwks.keys[0]?.kid ?? 'missing', typ: 'JWT' })
    .setSubject(options.sub ?? '665f1c2b9a1e4b3c2d1f0a9e')
    .setJti(options.jti ?? randomUUID())
    .setIssuer(ACCESS_TOKEN_ISSUER)
    .setAudience(ACCESS_TOKEN_AUDIENCE)
    .setIssuedAt(now - 10)
    .setExpirationTime(now + (options.expiresIn ?? 900))
    .sign(key);
}

describe('verified-token cache', () => {
  let keys: TestKeys;
  let calls: number;
  let inner: AccessTokenVerifier;

  beforeAll(async () => {
    keys = await generateTestKeys();
  });

  beforeEach(() => {
    calls = 0;
    const real = createAccessTokenVerifier({ jwks: keys.accessJwks });
    inner = (token) => {
      calls++;
      return real(token);
    };
  });

  it('verifies a token’s signature once, then serves it from the cache', async () => {
    const verify = createCachedVerifier({ verify: inner, denylist: createMemoryDenylist() });
    const token = await accessToken(keys, { sub: 'u1' });
    expect((await verify(token)).userId).toBe('u1');
    expect((await verify(token)).userId).toBe('u1');
    expect(calls).toBe(1);
  });

  it('still consults the denylist on every request (jti and sid)', async () => {
    const denylist = createMemoryDenylist();
    const verify = createCachedVerifier({ verify: inner, denylist });
    const token = await accessToken(keys, { jti: 'j-1', sid: 's-1' });
    await verify(token);
    await denylist.revoke('s-1', Math.floor(Date.now() / 1000) + 600);
    await expect(verify(token)).rejects.toMatchObject({ status: 401 });
  });

  it('refuses a cached token once it has expired', async () => {
    let clock = Date.now();
    const verify = createCachedVerifier({
      verify: inner,
      denylist: createMemoryDenylist(),
      now: () => clock,
      maxAgeMs: 3_600_000,
    });
    const token = await accessToken(keys, { expiresIn: 30 });
    await verify(token);
    clock += 36_000;
    await expect(verify(token)).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('re-verifies the signature after maxAgeMs', async () => {
    let clock = Date.now();
    const verify = createCachedVerifier({
      verify: inner,
      denylist: createMemoryDenylist(),
      now: () => clock,
      maxAgeMs: 1000,
    });
    const token = await accessToken(keys);
    await verify(token);
    clock += 1500;
    await verify(token);
    expect(calls).toBe(2);
  });

  it('never caches a refusal', async () => {
    const verify = createCachedVerifier({ verify: inner, denylist: createMemoryDenylist() });
    await expect(verify('garbage')).rejects.toMatchObject({ status: 401 });
    await expect(verify('garbage')).rejects.toMatchObject({ status: 401 });
    expect(calls).toBe(2);
  });

  it('stays within maxEntries', async () => {
    const verify = createCachedVerifier({ verify: inner, denylist: createMemoryDenylist(), maxEntries: 2 });
    const [a, b, c] = await Promise.all([accessToken(keys), accessToken(keys), accessToken(keys)]);
    for (const t of [a, b, c, a]) await verify(t as string);
    expect(calls).toBe(4);
  });
});
