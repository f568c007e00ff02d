import type { Page } from 'playwright-core';
import {
  createGroupWith,
  messageRow,
  messageText,
  openBrowser,
  register,
  screenshot,
  send,
  startProduct,
  type Person,
  type Product,
} from './support/browser';

/**
 * Issue 17's two-browser test: two people in a group reply, react, mention, rename and search, and a hostile
 * message renders inert. Both browsers drive the product as `npm start` runs it (the embedded launcher).
 */
let product: Product;
const people: Person[] = [];

beforeAll(async () => {
  product = await startProduct();
}, 120_000);

afterAll(async () => {
  for (const person of people) await person.browser.close();
  await product?.stop();
}, 60_000);

/** Sends through the page's own session (same origin, cookies): filler history, fast. */
async function postMessages(page: Page, chatId: string, texts: string[]): Promise<void> {
  const failed = await page.evaluate(
    async ({ chatId, texts }) => {
      for (const [i, text] of texts.entries()) {
        const res = await fetch(`/api/chats/${chatId}/messages`, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text, clientMsgId: `filler-${Date.now()}-${i}` }),
        });
        if (!res.ok) return `${res.status} ${await res.text()}`;
      }
      return null;
    },
    { chatId, texts },
  );
  expect(failed).toBeNull();
}

test('two people in a group reply, react, mention, rename and search; hostile text stays inert', async () => {
  const stamp = Date.now();
  const alice = await openBrowser(`alice.conv.${stamp}@example.com`, people);
  const bob = await openBrowser(`bob.conv.${stamp}@example.com`, people);
  await register(product.baseUrl, alice, 'Alice');
  await register(product.baseUrl, bob, 'Bob');

  // Alice makes a group with Bob.
  await createGroupWith(alice.page, 'Book club', bob.email);
  const chatId = await alice.page.getByTestId('chat-item').first().getAttribute('data-chat-id');
  expect(chatId).toMatch(/^[0-9a-f]{24}$/);

  // An old message to find later, buried under more than a page of history.
  await send(alice.page, 'The zeppelin chapter is next');
  await messageText(alice.page, 'The zeppelin chapter is next').waitFor();
  await postMessages(
    alice.page,
    chatId!,
    Array.from({ length: 60 }, (_, i) => `filler ${i + 1}`),
  );
  await send(alice.page, 'Welcome to the book club');
  await messageText(alice.page, 'Welcome to the book club').waitFor();

  // ── reply: Bob answers Alice's message; Alice sees the quote and jumps to the original ──
  await bob.page.getByTestId('chat-item').filter({ hasText: 'Book club' }).click();
  const welcome = messageRow(bob.page, 'Welcome to the book club');
  await welcome.waitFor();
  await welcome.hover();
  await welcome.getByTestId('reply-button').click();
  await bob.page.getByTestId('reply-preview').filter({ hasText: 'Welcome to the book club' }).waitFor();
  await send(bob.page, 'Count me in');
  await expect(bob.page.getByTestId('reply-preview').count()).resolves.toBe(0);
  const reply = messageRow(alice.page, 'Count me in');
  await reply.waitFor();
  await expect(reply.getByTestId('reply-quote').textContent()).resolves.toContain('Welcome to the book club');
  await reply.getByTestId('reply-quote').click();
  await alice.page
    .locator('[data-testid="message"].highlighted')
    .filter({ hasText: 'Welcome to the book club' })
    .waitFor();
  await screenshot(alice.page, '11-reply');

  // ── react: Alice reacts to Bob's reply; Bob sees the count and who reacted ──
  await reply.hover();
  await reply.getByTestId('react-button').click();
  await alice.page.getByTestId('reaction-option').filter({ hasText: '👍' }).click();
  const bobsReply = messageRow(bob.page, 'Count me in');
  const thumbs = bobsReply.locator('[data-testid="reaction"][data-emoji="👍"]');
  await thumbs.waitFor();
  await expect(thumbs.getByTestId('reaction-count').textContent()).resolves.toBe('1');
  await expect(thumbs.getAttribute('title')).resolves.toBe('Alice Tester');
  // Bob adds his own: 2 on both screens; Alice's chip shows it as hers.
  await thumbs.click();
  const alicesThumbs = reply.locator('[data-testid="reaction"][data-emoji="👍"]');
  await alice.page.waitForFunction(
    `document.querySelector('[data-testid="reaction"][data-emoji="👍"] [data-testid="reaction-count"]')?.textContent === '2'`,
  );
  await expect(alicesThumbs.getAttribute('aria-pressed')).resolves.toBe('true');
  await expect(thumbs.getAttribute('title')).resolves.toBe('Alice Tester and You');
  await screenshot(bob.page, '12-reaction');

  // ── mention: Bob is elsewhere (reloaded, no chat open); Alice @-completes him ──
  await bob.page.reload();
  await bob.page.getByTestId('chat-item').first().waitFor();
  await alice.page.getByTestId('message-input').fill('');
  await alice.page.getByTestId('message-input').pressSequentially('Please bring snacks @Bo');
  await alice.page.getByTestId('mention-option').filter({ hasText: 'Bob Tester' }).click();
  await expect(alice.page.getByTestId('message-input').inputValue()).resolves.toBe(
    'Please bring snacks @Bob Tester ',
  );
  await alice.page.getByTestId('message-input').press('Enter');
  await messageText(alice.page, 'Please bring snacks').waitFor();
  const bobsItem = bob.page.getByTestId('chat-item').filter({ hasText: 'Book club' });
  await bobsItem.getByTestId('mention-badge').waitFor();
  await screenshot(bob.page, '13-mention-badge');

  // ── catch me up: Bob has unread messages; the summary (extractive here: no model) quotes them ──
  await bob.page.getByTestId('catch-up').click();
  await bob.page.getByTestId('catch-up-summary').filter({ hasText: 'snacks' }).waitFor();
  await screenshot(bob.page, '13b-catch-up');
  await bob.page.getByRole('button', { name: 'Open the chat' }).click();
  await bob.page.getByTestId('message-input').waitFor();
  const mention = messageRow(bob.page, 'Please bring snacks').locator('.mention.me');
  await expect(mention.textContent()).resolves.toBe('@Bob Tester');
  await expect(bobsItem.getByTestId('mention-badge').count()).resolves.toBe(0);

  // ── rename: Alice (the owner) renames the group; Bob's header follows ──
  await alice.page.getByTestId('rename-button').click();
  await alice.page.getByTestId('rename-input').fill('Book club 2026');
  await alice.page.getByTestId('rename-save').click();
  await bob.page.getByTestId('chat-title').filter({ hasText: 'Book club 2026' }).waitFor();
  await expect(bob.page.getByTestId('rename-button').count()).resolves.toBe(0);

  // ── search: Bob (after a reload, only the newest page held) finds the old message and lands on it ──
  await bob.page.reload();
  await bob.page.getByTestId('chat-item').first().waitFor();
  await bob.page.getByTestId('message-search').fill('zeppelin');
  const hit = bob.page.getByTestId('search-result').first();
  await hit.waitFor();
  await expect(hit.textContent()).resolves.toContain('Book club 2026');
  await expect(hit.textContent()).resolves.toContain('The zeppelin chapter is next');
  await hit.click();
  const found = bob.page
    .locator('[data-testid="message"].highlighted')
    .filter({ hasText: 'The zeppelin chapter is next' });
  await found.waitFor();
  await expect(found.isVisible()).resolves.toBe(true);
  await screenshot(bob.page, '14-search-result');

  // ── hostile text: HTML, a javascript: link and a huge code block render inert ──
  const code = 'const x = "a long line of code that goes on and on and on";\n'.repeat(55);
  const hostile =
    '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = 2</script> ' +
    '[click me](javascript:window.__pwned=3) <a href="javascript:window.__pwned=4">raw</a>\n\n' +
    '```\n' +
    code +
    '```';
  expect(hostile.length).toBeLessThan(4000);
  await send(alice.page, hostile);
  const shown = messageRow(bob.page, 'click me');
  await shown.waitFor();
  await expect(shown.locator('img, script, iframe').count()).resolves.toBe(0);
  // The refused link is plain text: clicking it runs nothing.
  await shown.locator('p', { hasText: 'click me' }).click();
  await expect(shown.locator('pre.code-block').count()).resolves.toBe(1);
  // Runs in the page (a string: this project's test types have no DOM).
  const layout = await bob.page.evaluate<Record<string, unknown>>(`(() => {
    const pre = document.querySelector('pre.code-block');
    return {
      pwned: window.__pwned,
      jsLinks: document.querySelectorAll('a[href^="javascript" i]').length,
      preScrolls: pre.scrollHeight > pre.clientHeight,
      pageOverflow: document.documentElement.scrollWidth > window.innerWidth,
    };
  })()`);
  expect(layout).toEqual({ pwned: undefined, jsLinks: 0, preScrolls: true, pageOverflow: false });
  await screenshot(bob.page, '15-hostile-inert');
}, 240_000);

test('without a model, an assistant chat answers with how to configure one', async () => {
  const dave = await openBrowser(`dave.conv.${Date.now()}@example.com`, people);
  await register(product.baseUrl, dave, 'Dave');
  await dave.page.getByTestId('ask-assistant').click();
  await dave.page.getByTestId('assistant-disabled').waitFor();
  await send(dave.page, 'Hello?');
  const failed = dave.page.locator('[data-testid="ai-status"][data-status="failed"]');
  await failed.waitFor({ timeout: 30_000 });
  expect(await failed.textContent()).toContain('AI_BASE_URL');
  await screenshot(dave.page, '16-assistant-not-configured');
}, 120_000);
