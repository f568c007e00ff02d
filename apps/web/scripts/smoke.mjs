// A two-user walk through the client against a running backend (`npm start`, or `npm run cluster`), with
// screenshots. A development aid for the client's author; the end-to-end test of record lives at the repo root.
//   node scripts/smoke.mjs http://localhost:3000 [outDir]
import assert from 'node:assert/strict';
import { launchChromium, screenshotsInto } from './chromium.mjs';

const baseUrl = process.argv[2] ?? 'http://localhost:3000';
const shot = screenshotsInto(process.argv[3] ?? 'screenshots');
const browser = await launchChromium();
const step = (name) => console.log(`· ${name}`);
const stamp = Date.now().toString(36);

async function user(first, last, viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('401')) console.log(`[${first}]`, m.text());
  });
  page.on('pageerror', (err) => console.log(`[${first}] page error`, err.message));
  await page.goto(baseUrl);
  await page.getByTestId('switch-to-register').click();
  await page.getByTestId('first-name').fill(first);
  await page.getByTestId('last-name').fill(last);
  await page.getByTestId('email').fill(`${first.toLowerCase()}.${stamp}@example.com`);
  await page.getByTestId('password').fill('correct horse battery');
  await page.getByTestId('submit').click();
  await page.getByTestId('new-direct-chat').waitFor();
  return { context, page, email: `${first.toLowerCase()}.${stamp}@example.com` };
}

try {
  step('register two users');
  const ada = await user('Ada', 'Lovelace', { width: 1280, height: 800 });
  const grace = await user('Grace', 'Hopper', { width: 390, height: 780 });

  step('duplicate registration shows the server message');
  const probe = await browser.newPage();
  await probe.goto(baseUrl);
  await probe.getByTestId('switch-to-register').click();
  await probe.getByTestId('first-name').fill('Ada');
  await probe.getByTestId('last-name').fill('Again');
  await probe.getByTestId('email').fill(ada.email);
  await probe.getByTestId('password').fill('correct horse battery');
  await probe.getByTestId('submit').click();
  await probe.getByRole('alert').waitFor();
  console.log('  error shown:', await probe.getByRole('alert').textContent());
  await probe.close();

  step('Ada opens a direct chat with Grace and says hello');
  await ada.page.getByTestId('new-direct-chat').click();
  await ada.page.getByTestId('user-search').fill(`grace.${stamp}`);
  await ada.page.getByTestId('user-result').first().click();
  await ada.page.getByTestId('message-input').fill('Hi Grace! Did you see the new compiler?');
  await ada.page.getByTestId('message-input').press('Enter');
  await ada.page.locator('[data-testid="message"][data-seq="1"]').waitFor();

  step('Grace sees the chat appear live with an unread badge, opens it, answers');
  const item = grace.page.getByTestId('chat-item').first();
  await item.waitFor();
  await grace.page.getByTestId('unread-badge').waitFor();
  await shot(grace.page, 'phone-list');
  await item.click();
  await grace.page.getByTestId('message-input').fill('I did. It found a bug in my program: a real moth!');
  await grace.page.getByTestId('send-button').click();
  await ada.page.getByTestId('message-text').getByText('a real moth').waitFor();

  step('typing indicator');
  await ada.page.getByTestId('message-input').pressSequentially('typing', { delay: 30 });
  await grace.page.locator('.subtitle.typing').waitFor();
  await ada.page.getByTestId('message-input').fill('');

  step('a <script> message is text');
  await ada.page.getByTestId('message-input').fill('<script>window.__pwned = 1</script><b>bold?</b>');
  await ada.page.getByTestId('message-input').press('Enter');
  await grace.page
    .getByTestId('message-text')
    .getByText('<script>window.__pwned = 1</script><b>bold?</b>')
    .waitFor();
  assert.equal(await grace.page.evaluate(() => window.__pwned), undefined);

  step('Grace goes offline, Ada writes twice, Grace comes back and catches up');
  await grace.context.setOffline(true);
  await grace.page.getByTestId('reconnect-banner').waitFor();
  await grace.page.getByTestId('message-input').fill('Written on the train, offline');
  await grace.page.getByTestId('message-input').press('Enter');
  await grace.page.locator('[data-testid="message"][data-status="pending"]').waitFor();
  await shot(grace.page, 'phone-offline');
  await ada.page.getByTestId('message-input').fill('Are you there?');
  await ada.page.getByTestId('message-input').press('Enter');
  await ada.page
    .getByTestId('message-input')
    .fill('Multi-line works too:\n- Enter sends\n- Shift+Enter adds a line');
  await ada.page.getByTestId('message-input').press('Enter');
  await ada.page.locator('[data-testid="message"][data-seq="5"]').waitFor();
  await grace.context.setOffline(false);
  await grace.page.locator('[data-testid="message"][data-seq="5"]').waitFor({ timeout: 15_000 });
  await grace.page.getByTestId('reconnect-banner').waitFor({ state: 'hidden' });
  await ada.page.getByTestId('message-text').getByText('Written on the train, offline').waitFor();
  await grace.page.locator('[data-testid="message"][data-seq="6"]').waitFor();
  const seqs = await grace.page.getByTestId('message').evaluateAll((els) => els.map((e) => e.dataset.seq));
  assert.deepEqual(seqs, ['1', '2', '3', '4', '5', '6']);

  step('Ada edits and deletes her own messages; Grace sees both live');
  const adaMsg = ada.page.locator('[data-testid="message"][data-seq="4"]');
  await adaMsg.hover();
  await adaMsg.getByRole('button', { name: 'Edit message' }).click();
  await ada.page.getByTestId('edit-input').fill('Are you there? (edited)');
  await ada.page.getByTestId('edit-input').press('Enter');
  await grace.page.getByTestId('message-text').getByText('Are you there? (edited)').waitFor();
  const first = ada.page.locator('[data-testid="message"][data-seq="1"]');
  await first.hover();
  await first.getByRole('button', { name: 'Delete message' }).click();
  await first.getByRole('button', { name: 'Delete', exact: true }).click();
  await grace.page.locator('[data-testid="message"][data-seq="1"]').getByText('message deleted').waitFor();
  await ada.page.getByText('Seen').waitFor();
  await shot(ada.page, 'conversation');
  await shot(grace.page, 'phone-conversation');

  step('history: 120 more messages, loaded on scroll up');
  const chatId = await ada.page.getByTestId('chat-item').first().getAttribute('data-chat-id');
  await ada.page.evaluate(async (id) => {
    for (let i = 1; i <= 120; i++) {
      const body = JSON.stringify({ text: `bulk ${i}`, clientMsgId: `bulk-${i}-${Date.now()}` });
      for (;;) {
        const res = await fetch(`/api/chats/${id}/messages`, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json' },
          body,
        });
        if (res.status !== 429) break;
        // The per-user send limit (60 per 10 s): wait as told.
        await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
      }
    }
  }, chatId);
  await grace.page.reload();
  await grace.page.getByTestId('chat-item').first().click();
  await grace.page.getByTestId('message-text').getByText('bulk 120').waitFor();
  const before = await grace.page.getByTestId('message').count();
  await grace.page.getByRole('log').evaluate((el) => (el.scrollTop = 0));
  await grace.page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="message"]').length > n,
    before,
  );
  console.log(
    '  messages shown before/after scrolling up:',
    before,
    await grace.page.getByTestId('message').count(),
  );

  step('Ada creates a group with Grace; it appears for Grace');
  await ada.page.getByTestId('new-group-chat').click();
  await ada.page.getByTestId('group-title').fill('Compiler club');
  await ada.page.getByTestId('user-search').fill(`grace.${stamp}`);
  await ada.page.getByTestId('user-result').first().click();
  await ada.page.getByTestId('create-group').click();
  await ada.page.getByRole('heading', { name: 'Compiler club' }).waitFor();
  await ada.page.getByTestId('message-input').fill('Welcome to the club');
  await ada.page.getByTestId('message-input').press('Enter');
  await grace.page.getByRole('button', { name: 'Back to chats' }).click();
  await grace.page.getByTestId('chat-item').getByText('Compiler club').waitFor();
  step('the owner adds a third person, who sees the group appear');
  const linus = await user('Linus', 'Torvalds', { width: 1024, height: 700 });
  await ada.page.getByTestId('members-button').click();
  await ada.page.getByTestId('user-search').fill(`linus.${stamp}`);
  await ada.page.getByTestId('user-result').first().click();
  await ada.page.getByRole('status').getByText('Linus Torvalds was added.').waitFor();
  await shot(ada.page, 'members');
  await ada.page.keyboard.press('Escape');
  await linus.page.getByTestId('chat-item').getByText('Compiler club').waitFor();
  await linus.page.getByTestId('chat-item').first().click();
  await linus.page.getByTestId('message-text').getByText('Welcome to the club').waitFor();
  await shot(ada.page, 'group');
  await shot(grace.page, 'phone-list-2');
  step('log out, stay logged out after a reload, log back in');
  await ada.page.getByTestId('logout').click();
  await ada.page.getByTestId('submit').waitFor();
  await ada.page.reload();
  await ada.page.getByTestId('submit').waitFor();
  await ada.page.getByTestId('email').fill(ada.email);
  await ada.page.getByTestId('password').fill('wrong password');
  await ada.page.getByTestId('submit').click();
  console.log('  error shown:', await ada.page.getByRole('alert').textContent());
  await ada.page.getByTestId('password').fill('correct horse battery');
  await ada.page.getByTestId('submit').click();
  await ada.page.getByTestId('chat-item').getByText('Compiler club').waitFor();
  console.log('smoke: all steps passed');
} finally {
  await browser.close();
}
