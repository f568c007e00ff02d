// TEST ONLY (see Dockerfile): starts the embedded store on every interface of its container, so the compose
// services reach it as `mongo:27017`. Logs one JSON line when listening; stops on SIGTERM/SIGINT.
'use strict';
const { startEmbeddedMongo } = require('@cohort/mongo-embedded');

async function main() {
  const server = await startEmbeddedMongo({
    port: Number(process.env.PORT || 27017),
    host: '0.0.0.0',
    ...(process.env.DATA_DIR ? { dataDir: process.env.DATA_DIR } : {}),
  });
  process.stdout.write(
    `${JSON.stringify({ service: 'mongo-embedded', port: server.port, msg: 'listening' })}\n`,
  );
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : String(error)}\n`);
  process.exit(1);
});
