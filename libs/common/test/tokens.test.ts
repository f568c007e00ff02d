import { SignJWT, UnsecuredJWT, exportJWK } from 'jose';
import { createHmac } from 'node:crypto';
import {
  createAccessTokenVerifier,
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  extractAccessToken,
} from '../src/auth/access-token';
import { createMemoryDenylist } from '../src/auth/denylist';
import { createIdentitySigner, createIdentityVerifier } from '../src/auth/internal-identity';
import { generatePemKeyPair, importSigningKey, type SigningKey } from '../src/auth/keys';

async function signAccess(
  key: SigningKey,
  { aud = ACCESS_TOKEN_AUDIENCE, iss = ACCESS_TOKEN_ISSUER } = {},
  exp = '15m',
) {
  return new SignJWT({ sid: 'session-1' })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setSubject('user-1')
    .setJti('token-1')
    .setIssuer(iss)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(key.privateKey);
}

describe('access token verifier', () => {
  let key: SigningKey;
  let other: SigningKey;
  beforeAll(async () => {
    key = await importSigningKey(generatePemKeyPair('ES256').privateKeyPem, 'ES256');
    other = await importSigningKey(generatePemKeyPair('ES256').privateKeyPem, 'ES256');
  });

  it('accepts a valid token and returns its claims', async () => {
    const verify = createAccessTokenVerifier({ jwks: { keys: [key.publicJwk] } });
    const claims = await verify(await signAccess(key));
    expect(claims).toMatchObject({ userId: 'user-1', sessionId: 'session-1', tokenId: 'token-1' });
  });

  it.each([
    [
      'signed by another key with the same kid',
      async () => {
        const forged: SigningKey = { ...other, kid: key.kid };
        return signAccess(forged);
      },
    ],
    ['with an unknown kid', async () => signAccess(other)],
    ['expired', async () => signAccess(key, {}, '-1m')],
    [
      'with alg none',
      async () =>
        new UnsecuredJWT({ sid: 's', jti: 'j' })
          .setSubject('user-1')
          .setIssuer(ACCESS_TOKEN_ISSUER)
          .setAudience(ACCESS_TOKEN_AUDIENCE)
          .setIssuedAt()
          .setExpirationTime('5m')
          .encode(),
    ],
    [
      'HS256-signed with the public key as secret (algorithm confusion)',
      async () => {
        const secret = JSON.stringify(
          await exportJWK(key.privateKey).then((j) => ({ kty: j.kty, crv: j.crv, x: j.x, y: j.y })),
        );
        const header = Buffer.from(JSON.stringify({ alg: 'HS256', kid: key.kid })).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        const payload = Buffer.from(
          JSON.stringify({
            sub: 'user-1',
            sid: 's',
            jti: 'j',
            iat: now,
            exp: now + 300,
            iss: ACCESS_TOKEN_ISSUER,
            aud: ACCESS_TOKEN_AUDIENCE,
          }),
        ).toString('base64url');
        const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
        return `${header}.${payload}.${sig}`;
      },
    ],
    ['for another audience', async () => signAccess(key, { aud: 'someone-else' })],
    ['from another issuer', async () => signAccess(key, { iss: 'evil' })],
    ['truncated', async () => (await signAccess(key)).slice(0, -10)],
  ])('refuses a token %s with 401', async (_name, make) => {
    const verify = createAccessTokenVerifier({ jwks: { keys: [key.publicJwk] } });
    await expect(verify(await make())).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('refuses a token whose jti or session was revoked', async () => {
    const denylist = createMemoryDenylist();
    const verify = createAccessTokenVerifier({ jwks: { keys: [key.publicJwk] }, denylist });
    const token = await signAccess(key);
    await verify(token);
    await denylist.revoke('session-1', Math.floor(Date.now() / 1000) + 60);
    await expect(verify(token)).rejects.toMatchObject({ status: 401 });
  });

  it('reads the bearer header before the cookie', () => {
    expect(extractAccessToken({ authorization: 'Bearer abc', cookie: 'token=def' })).toEqual({
      token: 'abc',
      via: 'bearer',
    });
    expect(extractAccessToken({ cookie: 'a=1; token=def; b=2' })).toEqual({ token: 'def', via: 'cookie' });
    expect(extractAccessToken({})).toBeNull();
  });
});

describe('forwarded identity', () => {
  it('round-trips an identity signed by a trusted forwarder', async () => {
    const gateway = await importSigningKey(generatePemKeyPair('EdDSA').privateKeyPem, 'EdDSA');
    const sign = createIdentitySigner(gateway, 'gateway');
    const verify = createIdentityVerifier({ keys: [gateway.publicJwk] });
    const header = await sign.sign({
      userId: 'u1',
      sessionId: 's1',
      tokenId: 't1',
      issuedAt: 1,
      expiresAt: 2_000_000_000,
    });
    await expect(verify(header)).resolves.toEqual({
      userId: 'u1',
      sessionId: 's1',
      tokenId: 't1',
      tokenExpiresAt: 2_000_000_000,
      forwardedBy: 'gateway',
    });
  });

  it('refuses an identity signed by an untrusted key, and a missing one', async () => {
    const trusted = await importSigningKey(generatePemKeyPair('EdDSA').privateKeyPem, 'EdDSA');
    const rogue = await importSigningKey(generatePemKeyPair('EdDSA').privateKeyPem, 'EdDSA');
    const verify = createIdentityVerifier({ keys: [trusted.publicJwk] });
    const header = await createIdentitySigner({ ...rogue, kid: trusted.kid }, 'gateway').sign({
      userId: 'u1',
      sessionId: 's1',
      tokenId: 't1',
      issuedAt: 1,
      expiresAt: 2_000_000_000,
    });
    await expect(verify(header)).rejects.toMatchObject({ status: 401 });
    await expect(verify(undefined)).rejects.toMatchObject({ status: 401 });
    await expect(verify('x-user-id: admin')).rejects.toMatchObject({ status: 401 });
  });
});

describe('forwarded identity cache', () => {
  const claims = { userId: 'u1', sessionId: 's1', tokenId: 't1', issuedAt: 1, expiresAt: 2_000_000_000 };

  it('answers a repeated assertion from its cache, and stops trusting it once it expires', async () => {
    const gateway = await importSigningKey(generatePemKeyPair('EdDSA').privateKeyPem, 'EdDSA');
    let now = Date.now();
    const verify = createIdentityVerifier({ keys: [gateway.publicJwk] }, () => now);
    const header = await createIdentitySigner(gateway, 'gateway').sign(claims);
    await expect(verify(header)).resolves.toMatchObject({ userId: 'u1' });
    await expect(verify(header)).resolves.toMatchObject({ userId: 'u1' });
    now += 61_000; // past the assertion's 60-second life: the cache must not outlive it
    await expect(verify(header)).rejects.toMatchObject({ status: 401 });
  });

  it('never caches a refusal: a tampered copy of a cached assertion is still refused', async () => {
    const gateway = await importSigningKey(generatePemKeyPair('EdDSA').privateKeyPem, 'EdDSA');
    const verify = createIdentityVerifier({ keys: [gateway.publicJwk] });
    const header = await createIdentitySigner(gateway, 'gateway').sign(claims);
    await verify(header);
    const [h, p, sig] = header.split('.') as [string, string, string];
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'admin' }),
    ).toString('base64url');
    await expect(verify(`${h}.${forgedPayload}.${sig}`)).rejects.toMatchObject({ status: 401 });
  });
});
