import { createAccessTokenVerifier, type AccessTokenVerifier } from './access-token';
import { createCachedVerifier } from './cached-verifier';
import type { TokenDenylist } from './denylist';
import { createIdentitySigner, type IdentitySigner } from './internal-identity';
import { importSigningKey, publicJwkFromPem } from './keys';

/** Where auth's public keys come from, as the services that accept users' tokens configure it. */
export interface AccessKeySource {
  /** auth's `/api/auth/jwks.json`; wins when both are set. */
  JWKS_URL?: string | undefined;
  JWT_PUBLIC_KEY?: string | undefined;
}

/**
 * The users' access-token verifier of the gateway and realtime: keys from auth's JWKS or an inline public key;
 * a token's signature is verified once (a reconnecting client or another tab reuses it), its expiry and the
 * denylist on every use.
 */
export async function createUserTokenVerifier(
  source: AccessKeySource,
  denylist: TokenDenylist,
): Promise<AccessTokenVerifier> {
  if (!source.JWKS_URL && !source.JWT_PUBLIC_KEY) throw new Error('set JWKS_URL or JWT_PUBLIC_KEY');
  const jwks = source.JWKS_URL
    ? new URL(source.JWKS_URL)
    : { keys: [await publicJwkFromPem(source.JWT_PUBLIC_KEY ?? '', 'ES256')] };
  return createCachedVerifier({ verify: createAccessTokenVerifier({ jwks }), denylist });
}

/** Signs the identities a service forwards on a user's behalf, with its own Ed25519 key (`INTERNAL_SIGNING_KEY`). */
export async function createForwardingSigner(pem: string, forwarder: string): Promise<IdentitySigner> {
  return createIdentitySigner(await importSigningKey(pem, 'EdDSA'), forwarder);
}
