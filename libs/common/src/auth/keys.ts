import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, exportJWK, importPKCS8, importSPKI, type JWK, type KeyLike } from 'jose';

/** ES256 signs access tokens (docs/security.md); EdDSA signs the short internal identity assertions. */
export type SigningAlgorithm = 'ES256' | 'EdDSA';

export interface SigningKey {
  alg: SigningAlgorithm;
  kid: string;
  privateKey: KeyLike;
  publicJwk: JWK;
}

export interface PemKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** Generates a fresh PEM key pair for `alg` (PKCS8 private, SPKI public). */
export function generatePemKeyPair(alg: SigningAlgorithm): PemKeyPair {
  const { privateKey, publicKey } =
    alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Imports a PKCS8 PEM private key; `kid` defaults to the RFC 7638 thumbprint of its public half. */
export async function importSigningKey(
  privateKeyPem: string,
  alg: SigningAlgorithm,
  kid?: string,
): Promise<SigningKey> {
  const privateKey = await importPKCS8(privateKeyPem, alg, { extractable: true });
  const full = await exportJWK(privateKey);
  const publicJwk: JWK = { kty: full.kty, crv: full.crv, x: full.x, ...(full.y ? { y: full.y } : {}) };
  const keyId = kid ?? (await calculateJwkThumbprint(publicJwk));
  return { alg, kid: keyId, privateKey, publicJwk: { ...publicJwk, kid: keyId, alg, use: 'sig' } };
}

/** Public JWK for a SPKI PEM, with its thumbprint as `kid` unless one is given. */
export async function publicJwkFromPem(
  publicKeyPem: string,
  alg: SigningAlgorithm,
  kid?: string,
): Promise<JWK> {
  const key = await importSPKI(publicKeyPem, alg, { extractable: true });
  const jwk = await exportJWK(key);
  const keyId = kid ?? (await calculateJwkThumbprint(jwk));
  return { ...jwk, kid: keyId, alg, use: 'sig' };
}

/**
 * Loads a PEM key pair kept at `path`, creating it (mode 0600) on first use.
 * Used by the embedded mode, which keeps its generated keys in the data directory.
 */
export function loadOrCreatePemKeyPair(path: string, alg: SigningAlgorithm): PemKeyPair {
  if (existsSync(path)) {
    return JSON.parse(readFileSync(path, 'utf8')) as PemKeyPair;
  }
  const pair = generatePemKeyPair(alg);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(pair), { mode: 0o600 });
  return pair;
}
