// Writes the files an overlay's secretGenerator reads (never committed): fresh signing keys, the JWKS of the
// forwarders' public keys chat-api and auth trust, and the two connection strings.
//   node --conditions=source --import tsx deploy/k8s/write-secrets.ts deploy/k8s/overlays/prod/secrets \
//     'redis://:PASSWORD@redis-master.redis.svc:6379' 'mongodb://USER:PASSWORD@cohort-mongo-svc.mongodb.svc:27017/cohort?replicaSet=cohort-mongo&authSource=admin'
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePemKeyPair, publicJwkFromPem } from '@cohort/common';

export async function writeSecrets(dir: string, redisUrl: string, mongoUrl: string): Promise<void> {
  const access = generatePemKeyPair('ES256');
  const forwarders = {
    gateway: generatePemKeyPair('EdDSA'),
    realtime: generatePemKeyPair('EdDSA'),
    assistant: generatePemKeyPair('EdDSA'),
  };
  const internalJwks = {
    keys: await Promise.all(
      Object.values(forwarders).map((pair) => publicJwkFromPem(pair.publicKeyPem, 'EdDSA')),
    ),
  };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const write = (name: string, value: string) => writeFileSync(join(dir, name), value, { mode: 0o600 });
  write('jwt-private-key.pem', access.privateKeyPem);
  for (const [name, pair] of Object.entries(forwarders))
    write(`${name}-internal-signing-key.pem`, pair.privateKeyPem);
  write('internal-jwks.json', JSON.stringify(internalJwks));
  write('redis-url', redisUrl);
  write('mongo-url', mongoUrl);
}

if (require.main === module) {
  const [dir, redisUrl, mongoUrl] = process.argv.slice(2);
  if (!dir || !redisUrl || !mongoUrl) {
    process.stderr.write('usage: write-secrets.ts <secrets directory> <REDIS_URL> <MONGO_URL>\n');
    process.exit(2);
  }
  void writeSecrets(dir, redisUrl, mongoUrl).then(() => process.stdout.write(`wrote ${dir}\n`));
}
