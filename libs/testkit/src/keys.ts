import type { JSONWebKeySet } from 'jose';
import { generatePemKeyPair, publicJwkFromPem, type PemKeyPair } from '@cohort/common';

export interface TestKeys {
  /** ES256 pair auth signs access tokens with. */
  access: PemKeyPair;
  accessJwks: JSONWebKeySet;
  /** EdDSA pairs the gateway and realtime sign forwarded identities with. */
  gatewayIdentity: PemKeyPair;
  realtimeIdentity: PemKeyPair;
  /** What internal services trust: both forwarders' public keys. */
  internalJwks: JSONWebKeySet;
}

/** Fresh keys for one test run, as a deployment would configure them. */
export async function generateTestKeys(): Promise<TestKeys> {
  const access = generatePemKeyPair('ES256');
  const gatewayIdentity = generatePemKeyPair('EdDSA');
  const realtimeIdentity = generatePemKeyPair('EdDSA');
  return {
    access,
    accessJwks: { keys: [await publicJwkFromPem(access.publicKeyPem, 'ES256')] },
    gatewayIdentity,
    realtimeIdentity,
    internalJwks: {
      keys: [
        await publicJwkFromPem(gatewayIdentity.publicKeyPem, 'EdDSA'),
        await publicJwkFromPem(realtimeIdentity.publicKeyPem, 'EdDSA'),
      ],
    },
  };
}
