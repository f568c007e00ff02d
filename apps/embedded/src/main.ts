// `npm start`: the whole product on one machine, no Docker, MongoDB, Redis or nginx needed.
import { ConfigError, createLogger } from '@cohort/common';
import { loadEmbeddedConfig } from './config';
import { startEmbedded } from './embedded';

async function main(): Promise<void> {
  const logger = createLogger({ service: 'embedded', level: 'info' });
  let config;
  try {
    config = loadEmbeddedConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.fatal(err.message);
      process.exit(1);
    }
    throw err;
  }
  let running;
  try {
    running = await startEmbedded(config, logger);
  } catch (err) {
    logger.fatal({ err }, err instanceof Error ? err.message : 'failed to start');
    process.exit(1);
  }
  const { url, port, shutdown } = running;
  logger.info({ port, url, dataDir: config.DATA_DIR }, 'listening');
  process.stdout.write(
    `\n  cohortGPT is running: open ${url}\n  data: ${config.DATA_DIR}   (Ctrl-C stops it)\n\n`,
  );

  const stop = (signal: string) => {
    void shutdown(signal).then((result) => {
      logger.info({ ok: result.ok }, 'stopped');
      process.exit(result.ok ? 0 : 1);
    });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    stop('uncaughtException');
  });
}

void main();
