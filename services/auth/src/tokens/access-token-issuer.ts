import { randomUUID } from 'node:crypto';
import { SignJWT, type JSONWebKeySet } from 'jose';
import {
  ACCESS_TOKEN_ALGORITHM,
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  type SigningKey,
} from '@cohort/common';

export interface IssuedAccessToken {
  token: string;
  tokenId: string;
  /** Epoch seconds. */
  expiresAt: number;
}

export interface AccessTokenIssuer {
  readonly ttlSeconds: number;
  issue(subject: { userId: string; sessionId: string }): Promise<IssuedAccessToken>;
  /** The public keys that verify what `issue` signs (served at /api/auth/jwks.json). */
  jwks(): JSONWebKeySet;
}

/** Signs access JWTs (ES256, `kid` = the key's thumbprint) with the claims every verifier requires. */
export function createAccessTokenIssuer(key: SigningKey, ttlSeconds: number): AccessTokenIssuer {
  if (key.alg !== ACCESS_TOKEN_ALGORITHM)
    throw new Error(`access tokens are signed with ${ACCESS_TOKEN_ALGORITHM}, got a ${key.alg} key`);
  const keySet: JSONWebKeySet = { keys: [key.publicJwk] };
  return {
    ttlSeconds,
    async issue({ userId, sessionId }) {
      const issuedAt = Math.floor(Date.now() / 1000);
      const expiresAt = issuedAt + ttlSeconds;
      const tokenId = randomUUID();
      const token = await new SignJWT({ sid: sessionId })
        .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid: key.kid, typ: 'JWT' })
        .setSubject(userId)
        .setJti(tokenId)
        .setIssuer(ACCESS_TOKEN_ISSUER)
        .setAudience(ACCESS_TOKEN_AUDIENCE)
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAt)
        .sign(key.privateKey);
      return { token, tokenId, expiresAt };
    },
    jwks: () => keySet,
  };
}
