// `npm run cluster`: the docker-compose topology as local processes (real nginx and redis-server from
// Debian packages). Ctrl-C stops everything.
import { resolve } from 'node:path';
import { startCluster } from '@cohort/testkit';

async function main(): Promise<void> {
  const cluster = await startCluster({
    port: Number(process.env.CLUSTER_PORT ?? 8080),
    realtimeReplicas: Number(process.env.REALTIME_REPLICAS ?? 3),
    gateways: Number(process.env.GATEWAY_REPLICAS ?? 2),
    assistantReplicas: Number(process.env.ASSISTANT_REPLICAS ?? 2),
    ...(process.env.MONGO_URL
      ? { mongoUrl: process.env.MONGO_URL }
      : { dataDir: resolve(process.env.DATA_DIR ?? '.data/cluster') }),
  });
  const summary = {
    url: cluster.url,
    redis: cluster.redis.url,
    mongo: cluster.mongoUrl,
    auth: cluster.auth.url,
    chatApi: cluster.chatApi.url,
    realtime: cluster.realtime.map((r) => r.url),
    assistants: cluster.assistants.map((a) => a.url),
    gateways: cluster.gateways.map((g) => g.url),
  };
  process.stdout.write(`${JSON.stringify({ msg: 'cluster ready', ...summary })}\n`);
  process.stdout.write(`\n  cohortGPT cluster is up: open ${cluster.url}\n  (Ctrl-C stops it)\n\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping the cluster…\n`);
    void cluster.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`cluster failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
