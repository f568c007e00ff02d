import { spawnService, type ServiceProcess } from '@cohort/testkit';
import type { FaultCluster } from './cluster-kit';

/**
 * Starts a service process again as startCluster did (same environment, same port), for restarts under load:
 * the process it replaces must be gone first. The caller stops what this returns.
 */
const common = (cluster: FaultCluster) => ({
  NODE_ENV: 'production',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  REDIS_URL: cluster.redis.url,
  ...cluster.env,
});

export function respawnAuth(cluster: FaultCluster, port: number): Promise<ServiceProcess> {
  return spawnService({
    service: 'auth',
    env: {
      ...common(cluster),
      MONGO_URL: cluster.mongoUrl,
      JWT_PRIVATE_KEY: cluster.keys.access.privateKeyPem,
      INTERNAL_JWKS: JSON.stringify(cluster.keys.internalJwks),
      CHAT_API_URL: cluster.chatApi.url,
      PORT: String(port),
    },
  });
}

export function respawnGateway(cluster: FaultCluster, label: string, port: number): Promise<ServiceProcess> {
  return spawnService({
    service: 'gateway',
    label,
    env: {
      ...common(cluster),
      HOST: '127.0.0.1',
      TRUST_PROXY: 'true',
      AUTH_URL: cluster.auth.url,
      CHAT_API_URL: cluster.chatApi.url,
      JWKS_URL: `${cluster.auth.url}/api/auth/jwks.json`,
      INTERNAL_SIGNING_KEY: cluster.keys.gatewayIdentity.privateKeyPem,
      PORT: String(port),
    },
  });
}
