import { randomUUID } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import { ACCESS_TOKEN_ALGORITHM, ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER } from '@cohort/common';
import type { TestKeys } from '@cohort/testkit';

export interface TokenOptions {
  userId: string;
  sessionId?: string;
  tokenId?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  audience?: string;
  issuer?: string;
  /** Sign with another private key (PKCS8 PEM) than the deployment's. */
  privateKeyPem?: string;
}

/** An access token in the production format (ES256, kid = JWK thumbprint, sub/sid/jti/iat/exp, iss, aud). */
export async function signAccessToken(keys: TestKeys, options: TokenOptions): Promise<string> {
  const key = await importPKCS8(options.privateKeyPem ?? keys.access.privateKeyPem, ACCESS_TOKEN_ALGORITHM);
  const kid = keys.accessJwks.keys[0]?.kid;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: options.sessionId ?? randomUUID(), jti: options.tokenId ?? randomUUID() })
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, ...(kid ? { kid } : {}) })
    .setSubject(options.userId)
    .setIssuer(options.issuer ?? ACCESS_TOKEN_ISSUER)
    .setAudience(options.audience ?? ACCESS_TOKEN_AUDIENCE)
    .setIssuedAt(now - (options.expiresIn !== undefined && options.expiresIn < 0 ? 600 : 0))
    .setExpirationTime(now + (options.expiresIn ?? 900))
    .sign(key);
}

/** A random 24-hex id, shaped like the ids auth and chat-api hand out. */
export function objectId(): string {
  return randomUUID().replace(/-/g, '').slice(0, 24);
}
