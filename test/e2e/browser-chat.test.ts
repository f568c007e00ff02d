import {
  messageText,
  openBrowser as launch,
  register as signUp,
  screenshot,
  send,
  startProduct,
  type Person,
  type Product,
} from './support/browser';

/**
 * Issue 8's end-to-end test: two real headless Chromium browsers against the product as `npm start`
 * runs it (the embedded launcher, in its own process). Screenshots are kept in artifacts/e2e/.
 */
let product: Product;
const people: Person[] = [];

const openBrowser = (email: string) => launch(email, people);
const register = (person: Person, firstName: string) => signUp(product.baseUrl, person, firstName);

beforeAll(async () => {
  product = await startProduct();
}, 120_000);

afterAll(async () => {
  for (const person of people) await person.browser.close();
  await product?.stop();
}, 60_000);

test('two people chat in real time, one catches up after a network drop, and markup shows as text', async () => {
  const stamp = Date.now();
  const alice = await openBrowser(`alice.${stamp}@example.com`);
  const bob = await openBrowser(`bob.${stamp}@example.com`);
  await register(alice, 'Alice');
  await register(bob, 'Bob');
  await screenshot(alice.page, '01-alice-signed-in');

  // Alice starts a direct chat with Bob by searching for him.
  await alice.page.getByTestId('new-direct-chat').click();
  await alice.page.getByTestId('user-search').fill(bob.email);
  await alice.page.getByTestId('user-result').first().click();
  await send(alice.page, 'Hello Bob!');
  await messageText(alice.page, 'Hello Bob!').waitFor();

  // Bob sees the new chat arrive live, opens it, and answers.
  await bob.page.getByTestId('chat-item').first().click();
  await messageText(bob.page, 'Hello Bob!').waitFor();
  await send(bob.page, 'Hi Alice, got it.');
  await messageText(alice.page, 'Hi Alice, got it.').waitFor();
  await screenshot(bob.page, '02-bob-conversation');

  // Bob's network drops; Alice keeps writing; Bob comes back and catches up without reloading.
  await bob.context.setOffline(true);
  await bob.page.getByTestId('reconnect-banner').waitFor({ timeout: 60_000 });
  await screenshot(bob.page, '03-bob-offline');
  await send(alice.page, 'Are you there?');
  await send(alice.page, 'Sent while you were away');
  await messageText(alice.page, 'Sent while you were away').waitFor();
  await bob.context.setOffline(false);
  await bob.page.getByTestId('reconnect-banner').waitFor({ state: 'hidden', timeout: 60_000 });
  await messageText(bob.page, 'Sent while you were away').waitFor();
  await expect(messageText(bob.page, 'Are you there?').count()).resolves.toBe(1);

  // Markup is shown as text, never interpreted.
  const hostile = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold?</b>';
  await send(alice.page, hostile);
  const shown = bob.page.getByTestId('message-text').filter({ hasText: '<script>' });
  await shown.waitFor();
  expect(await shown.textContent()).toBe(hostile);
  expect(await shown.locator('b, img, script').count()).toBe(0);
  expect(
    await bob.page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned),
  ).toBeUndefined();
  await screenshot(bob.page, '04-bob-caught-up');

  // Each message appears exactly once on Bob's screen, in order.
  const texts = await bob.page.getByTestId('message-text').allTextContents();
  expect(texts).toEqual([
    'Hello Bob!',
    'Hi Alice, got it.',
    'Are you there?',
    'Sent while you were away',
    hostile,
  ]);
}, 180_000);

test('blocking: the blocked person is told in plain words, and a retry goes through after the unblock', async () => {
  const stamp = Date.now();
  const carol = await openBrowser(`carol.${stamp}@example.com`);
  const dan = await openBrowser(`dan.${stamp}@example.com`);
  await register(carol, 'Carol');
  await register(dan, 'Dan');

  // Dan finds Carol by her exact email (the only way a stranger's email shows) and says hello.
  await dan.page.getByTestId('new-direct-chat').click();
  await dan.page.getByTestId('user-search').fill(carol.email);
  await dan.page.getByTestId('user-result').filter({ hasText: carol.email }).click();
  await send(dan.page, 'Hello Carol');
  await messageText(dan.page, 'Hello Carol').waitFor();

  // Carol opens the chat and blocks Dan from its header.
  await carol.page.getByTestId('chat-item').first().click();
  await messageText(carol.page, 'Hello Carol').waitFor();
  await carol.page.getByTestId('block-user').click();
  await carol.page.getByTestId('confirm-block').click();
  await carol.page.getByTestId('blocked-note').waitFor();
  await carol.page.getByTestId('unblock-user').waitFor();

  // Dan's next message fails with a readable reason, not a generic error.
  await send(dan.page, 'Are you ignoring me?');
  const refused = dan.page.getByTestId('message').filter({ hasText: 'Are you ignoring me?' });
  await dan.page.locator('[data-testid="message"][data-status="failed"]').waitFor();
  await expect(refused.textContent()).resolves.toContain("This person isn't accepting messages from you.");
  await screenshot(dan.page, '05-dan-blocked');

  // Carol's "Blocked users" list names Dan; she unblocks him there.
  await carol.page.getByTestId('blocked-users-button').click();
  const entry = carol.page.getByTestId('blocked-user');
  await entry.filter({ hasText: 'Dan Tester' }).waitFor();
  await screenshot(carol.page, '06-carol-blocked-list');
  await entry.getByTestId('unblock-user').click();
  await entry.waitFor({ state: 'detached' });
  await carol.page.keyboard.press('Escape');

  // Dan retries the same message: it is stored once and Carol sees it.
  await refused.getByTestId('retry-button').click();
  await dan.page.locator('[data-testid="message"][data-status="failed"]').waitFor({ state: 'detached' });
  await messageText(carol.page, 'Are you ignoring me?').waitFor();
  await expect(messageText(carol.page, 'Are you ignoring me?').count()).resolves.toBe(1);
}, 120_000);
