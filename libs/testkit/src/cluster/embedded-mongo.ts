// Runs the embedded MongoDB-compatible store as its own process, so several service processes can share it
// (the local cluster). Logs `{port}` 'listening' like the services do.
import { startEmbeddedMongo } from '@cohort/mongo-embedded';
import { createLogger } from '@cohort/common';

async function main(): Promise<void> {
  const logger = createLogger({ service: 'mongo-embedded', level: process.env.LOG_LEVEL ?? 'info' });
  const server = await startEmbeddedMongo({
    port: Number(process.env.PORT ?? 0),
    host: '127.0.0.1',
    ...(process.env.DATA_DIR ? { dataDir: process.env.DATA_DIR } : {}),
    // Credentials, as a real deployment's database requires: no other local user can read or write the data.
    ...(process.env.STORE_USERNAME && process.env.STORE_PASSWORD
      ? { auth: { username: process.env.STORE_USERNAME, password: process.env.STORE_PASSWORD } }
      : {}),
  });
  logger.info({ port: server.port, dataDir: process.env.DATA_DIR ?? null }, 'listening');
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
