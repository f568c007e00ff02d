import { startTestMongo } from '@cohort/testkit';

/**
 * The benchmark's database in a process of its own, so the embedded store does not share an event loop
 * with the load generator. Prints `{"url": …}` once ready; stops on SIGTERM.
 */
async function main(): Promise<void> {
  const mongo = await startTestMongo('bench');
  process.stdout.write(`${JSON.stringify({ url: mongo.url })}\n`);
  const stop = () => {
    void mongo.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`store failed to start: ${String(err)}\n`);
  process.exit(1);
});
