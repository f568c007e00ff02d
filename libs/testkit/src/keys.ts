import type { JSONWebKeySet } from 'jose';
import { generatePemKeyPair, publicJwkFromPem, type PemKeyPair } from '@cohort/common';

export interface TestKeys {
  /** ES256 pair auth signs access tokens with. */
  access: PemKeyPair;
  accessJwks: JSONWebKeySet;
  /** EdDSA pairs the gateway, realtime and the assistant sign forwarded identities with. */
  gatewayIdentity: PemKeyPair;
  realtimeIdentity: PemKeyPair;
  assistantIdentity: PemKeyPair;
  /** What internal services trust: the forwarders' public keys. */
  internalJwks: JSONWebKeySet;
}

/** Fresh keys for one test run, as a deployment would configure them. */
export async function generateTestKeys(): Promise<TestKeys> {
  const access = generatePemKeyPair('ES256');
  const gatewayIdentity = generatePemKeyPair('EdDSA');
  const realtimeIdentity = generatePemKeyPair('EdDSA');
  const assistantIdentity = generatePemKeyPair('EdDSA');
  return {
    access,
    accessJwks: { keys: [await publicJwkFromPem(access.publicKeyPem, 'ES256')] },
    gatewayIdentity,
    realtimeIdentity,
    assistantIdentity,
    internalJwks: {
      keys: [
        await publicJwkFromPem(gatewayIdentity.publicKeyPem, 'EdDSA'),
        await publicJwkFromPem(realtimeIdentity.publicKeyPem, 'EdDSA'),
        await publicJwkFromPem(assistantIdentity.publicKeyPem, 'EdDSA'),
      ],
    },
  };
}
