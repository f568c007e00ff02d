import mongoose from 'mongoose';

/**
 * The store operations chat-api's mongoose makes on `collections` while `run` runs, as `collection.method`
 * (mongoose's query log; chat-api runs in the test's process).
 */
export async function storeCallsDuring(
  collections: readonly string[],
  run: () => Promise<unknown>,
): Promise<string[]> {
  const calls: string[] = [];
  mongoose.set('debug', (collection: string, method: string) => {
    if (collections.includes(collection)) calls.push(`${collection}.${method}`);
  });
  try {
    await run();
  } finally {
    mongoose.set('debug', false);
  }
  return calls;
}
