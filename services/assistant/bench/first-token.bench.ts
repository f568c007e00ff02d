/**
 * The assistant's own overhead, measured against the OpenAI-compatible fake streaming at a fixed token rate:
 * first token through the assistant (message stored → first `ai:delta` on the bus) ÷ first token from the provider
 * directly (SDK call → first chunk), the events per answer after coalescing, lost/duplicated deltas, and the
 * assistant's CPU per published delta. Prints figures; asserts nothing about speed.
 *
 *   npm run bench -w @cohort/assistant            (ANSWERS=20 TOKENS=200 TOKEN_MS=10 to change the load)
 */
import { directFirstChunkMs } from '@cohort/testkit';
import { joinDeltas, startStack } from '../test/support/stack';

const ANSWERS = Number(process.env.ANSWERS ?? 20);
const TOKENS = Number(process.env.TOKENS ?? 200);
const TOKEN_MS = Number(process.env.TOKEN_MS ?? 10);

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function main() {
  const stack = await startStack();
  try {
    const text = Array.from({ length: TOKENS }, (_, i) => `t${i}`).join(' ');
    stack.fake.setScript({ text, chunkDelayMs: TOKEN_MS });
    await stack.startAssistant('bench', { AI_COALESCE_MS: '50' });

    // The provider alone, through the same SDK.
    const direct = await directFirstChunkMs(stack.fake.baseUrl, 10);

    // One at a time: auth bounds concurrent password hashing per address.
    const users = [];
    for (let i = 0; i < ANSWERS; i++) users.push(await stack.register(`u${i}`));
    const chats = await Promise.all(users.map((u) => stack.createAssistantChat(u)));
    const cpuBefore = process.cpuUsage();
    const deltasBefore = stack.deltas.length;
    const started = performance.now();
    const asked = await Promise.all(
      users.map(async (user, i) => {
        const question = await stack.send(user, chats[i]!.id, `question ${i}`);
        // The trigger leaves chat-api right after the message is stored, just before this answer.
        return { user, chatId: chats[i]!.id, question, storedAt: performance.now() };
      }),
    );
    const answers = await Promise.all(
      asked.map(async ({ user, chatId, question, storedAt }) => {
        const answer = await stack.answerTo(user, chatId, question.id, 120_000);
        return { answer, firstDelay: (stack.firstDeltaAt.get(question.id) ?? NaN) - storedAt };
      }),
    );
    const elapsed = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const published = stack.deltas.length - deltasBefore;
    let duplicates = 0;
    let gaps = 0;
    let mismatched = 0;
    for (const { answer } of answers) {
      const joined = joinDeltas(stack.deltas, answer.ai!.streamId);
      duplicates += joined.duplicates;
      gaps += joined.gaps;
      if (joined.text !== answer.text) mismatched++;
    }
    const firstThrough = answers.map((a) => a.firstDelay);
    console.log(`assistant bench: ${ANSWERS} concurrent answers of ${TOKENS} tokens at ${TOKEN_MS} ms/token`);
    console.log(
      `  provider first token (direct, SDK):   p50 ${fmt(percentile(direct, 50))}  p99 ${fmt(percentile(direct, 99))}`,
    );
    console.log(
      `  first delta through the assistant:   p50 ${fmt(percentile(firstThrough, 50))}  p99 ${fmt(percentile(firstThrough, 99))}` +
        `  (ratio p50 ${(percentile(firstThrough, 50) / percentile(direct, 50)).toFixed(2)})`,
    );
    console.log(
      `  ai:delta events: ${published} for ${ANSWERS * TOKENS} provider tokens (${(published / ANSWERS).toFixed(1)} per answer)`,
    );
    console.log(`  lost (gaps): ${gaps}  duplicated: ${duplicates}  stored ≠ streamed: ${mismatched}`);
    console.log(
      `  test process CPU (assistant + bus client + fake): ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms over ${fmt(elapsed)}` +
        ` = ${((cpu.user + cpu.system) / Math.max(1, published)).toFixed(0)} µs per delta`,
    );
  } finally {
    await stack.close();
  }
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
