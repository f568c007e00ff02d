import { join } from 'node:path';
import { loadOrCreatePemKeyPair, publicJwkFromPem, type PemKeyPair } from '@cohort/common';

export interface EmbeddedKeys {
  access: PemKeyPair;
  gatewayIdentity: PemKeyPair;
  realtimeIdentity: PemKeyPair;
  assistantIdentity: PemKeyPair;
  /** The forwarders' public keys, as auth, chat-api and the assistant trust them. */
  internalJwks: string;
}

/** Signing keys generated on first start and kept (mode 0600) in the data directory. */
export async function loadEmbeddedKeys(dataDir: string): Promise<EmbeddedKeys> {
  const dir = join(dataDir, 'keys');
  const access = loadOrCreatePemKeyPair(join(dir, 'access-es256.json'), 'ES256');
  const gatewayIdentity = loadOrCreatePemKeyPair(join(dir, 'gateway-identity-ed25519.json'), 'EdDSA');
  const realtimeIdentity = loadOrCreatePemKeyPair(join(dir, 'realtime-identity-ed25519.json'), 'EdDSA');
  const assistantIdentity = loadOrCreatePemKeyPair(join(dir, 'assistant-identity-ed25519.json'), 'EdDSA');
  const internalJwks = JSON.stringify({
    keys: [
      await publicJwkFromPem(gatewayIdentity.publicKeyPem, 'EdDSA'),
      await publicJwkFromPem(realtimeIdentity.publicKeyPem, 'EdDSA'),
      await publicJwkFromPem(assistantIdentity.publicKeyPem, 'EdDSA'),
    ],
  });
  return { access, gatewayIdentity, realtimeIdentity, assistantIdentity, internalJwks };
}
