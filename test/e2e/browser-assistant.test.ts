import { startOpenAiFake, type OpenAiFake } from '@cohort/testkit';
import {
  createGroupWith,
  messageText,
  openBrowser,
  register,
  screenshot,
  send,
  startClusterProduct,
  startProduct,
  type Person,
  type Product,
} from './support/browser';

/**
 * Issue 16's browser test, on both ways to run the product: `npm start` (embedded, one process) and `npm run
 * cluster` (3 realtime replicas behind nginx's sticky routing, 2 assistant replicas, Redis). The assistant is
 * pointed at a local OpenAI-compatible fake (the only stand-in: it plays the external provider). One person
 * asks in a group with @cohortgpt and the other watches the answer stream; a reload mid-answer (a new socket,
 * on the cluster possibly another replica) shows the whole answer once; Stop keeps what was written.
 */
const ANSWER =
  'A **zeppelin** is a rigid airship. It has a metal frame, gas cells inside, and engines ' +
  'that push it along. They were used for travel and for war in the early twentieth century.';

const ways: Array<[string, string, (env: Record<string, string>) => Promise<Product>]> = [
  ['npm start (embedded)', 'embedded', startProduct],
  ['npm run cluster (3 realtime, 2 assistant replicas)', 'cluster', startClusterProduct],
];

describe.each(ways)('%s', (_way, label, start) => {
  let fake: OpenAiFake;
  let product: Product;
  // Kept so that a start still running when beforeAll times out is stopped once it is up.
  let starting: Promise<Product> | undefined;
  const people: Person[] = [];

  beforeAll(async () => {
    fake = await startOpenAiFake({ text: ANSWER, chunkDelayMs: 150 });
    starting = start({ AI_BASE_URL: fake.baseUrl, AI_MODEL: 'fake-model' });
    product = await starting;
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(people.map((person) => person.browser.close()));
    await starting?.then((started) => started.stop()).catch(() => undefined);
    await fake?.close();
  }, 60_000);

  test('in a group, one person asks @cohortgpt and the other watches the answer stream, also across a reload', async () => {
    const stamp = Date.now();
    const alice = await openBrowser(`alice.ai.${stamp}@example.com`, people);
    const bob = await openBrowser(`bob.ai.${stamp}@example.com`, people);
    await register(product.baseUrl, alice, 'Alice');
    await register(product.baseUrl, bob, 'Bob');

    // Alice makes a group with Bob and adds the assistant from the members dialog.
    await createGroupWith(alice.page, 'Airships', bob.email);
    await alice.page.getByTestId('members-button').click();
    await alice.page.getByTestId('add-assistant').click();
    await alice.page.getByText('cohortGPT Assistant was added.').waitFor();
    await alice.page.keyboard.press('Escape');
    await bob.page.getByTestId('chat-item').filter({ hasText: 'Airships' }).click();

    // Alice asks, completing the assistant's handle.
    await alice.page.getByTestId('message-input').pressSequentially('@coh');
    await alice.page.getByTestId('mention-option').filter({ hasText: 'cohortGPT' }).click();
    await alice.page.getByTestId('message-input').pressSequentially('what is a zeppelin?');
    await alice.page.getByTestId('message-input').press('Enter');
    await messageText(bob.page, 'what is a zeppelin?').waitFor();

    // Bob sees the answer grow before it is complete, then the stored answer replaces the bubble.
    const streaming = bob.page.getByTestId('ai-streaming-text');
    await streaming.filter({ hasText: 'rigid' }).waitFor();
    expect(await streaming.textContent()).not.toContain('twentieth century');
    await screenshot(bob.page, `21-answer-streaming-${label}`);
    const stored = bob.page.locator('[data-testid="message"].assistant [data-testid="message-text"]');
    await stored.filter({ hasText: 'twentieth century' }).waitFor({ timeout: 30_000 });
    await bob.page.getByTestId('ai-streaming').waitFor({ state: 'detached' });
    expect(await stored.count()).toBe(1);
    expect(await stored.locator('strong').textContent()).toBe('zeppelin');
    await screenshot(bob.page, `22-answer-stored-${label}`);

    // Bob reloads in the middle of the next answer: it resumes and shows the whole answer, once.
    await send(alice.page, '@cohortgpt tell me again');
    await bob.page.getByTestId('ai-streaming-text').filter({ hasText: 'rigid' }).waitFor();
    await bob.page.reload();
    await bob.page.getByTestId('chat-item').filter({ hasText: 'Airships' }).click();
    const resumed = bob.page.getByTestId('ai-streaming-text');
    await resumed.filter({ hasText: 'A zeppelin is a rigid' }).waitFor();
    await stored.nth(1).waitFor({ timeout: 30_000 });
    await bob.page.getByTestId('ai-streaming').waitFor({ state: 'detached' });
    const plain = ANSWER.replace(/\*\*/g, '');
    expect(await stored.allTextContents()).toEqual([plain, plain]);

    // Bob's network drops in the middle of a third answer: after the reconnect he has the whole answer, once.
    await send(alice.page, '@cohortgpt once more');
    await bob.page.getByTestId('ai-streaming-text').filter({ hasText: 'rigid' }).waitFor();
    await bob.context.setOffline(true);
    await bob.page.getByTestId('reconnect-banner').waitFor({ timeout: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await bob.context.setOffline(false);
    await bob.page.getByTestId('reconnect-banner').waitFor({ state: 'hidden', timeout: 60_000 });
    await stored.nth(2).waitFor({ timeout: 30_000 });
    await bob.page.getByTestId('ai-streaming').waitFor({ state: 'detached' });
    expect(await stored.allTextContents()).toEqual([plain, plain, plain]);
  }, 180_000);

  test('a personal assistant chat answers, can be stopped, and keeps its answers after a reload', async () => {
    const stamp = Date.now();
    const carol = await openBrowser(`carol.ai.${stamp}@example.com`, people);
    await register(product.baseUrl, carol, 'Carol');
    const { page } = carol;

    await page.getByTestId('ask-assistant').click();
    await page.getByTestId('message-input').waitFor();
    await send(page, 'What is a zeppelin?');
    const stored = page.locator('[data-testid="message"].assistant [data-testid="message-text"]');
    await stored.filter({ hasText: 'twentieth century' }).waitFor({ timeout: 30_000 });

    // A slow answer, stopped part-way: the stored answer keeps what was written and says it was stopped.
    fake.setScript({ text: ANSWER, chunkDelayMs: 400 });
    await send(page, 'And again, slowly');
    await page.getByTestId('ai-streaming-text').filter({ hasText: 'zeppelin' }).waitFor();
    await page.getByTestId('stop-answer').click();
    await page.locator('[data-testid="ai-status"][data-status="stopped"]').waitFor({ timeout: 30_000 });
    await page.getByTestId('ai-streaming').waitFor({ state: 'detached' });
    await screenshot(page, `23-answer-stopped-${label}`);

    await page.reload();
    await page.getByTestId('chat-item').first().click();
    await stored.filter({ hasText: 'twentieth century' }).waitFor();
    await page.locator('[data-testid="ai-status"][data-status="stopped"]').waitFor();
    expect(await stored.count()).toBe(2);
  }, 120_000);
});
