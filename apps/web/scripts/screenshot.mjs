// Visual check of the web client with Debian's Chromium (playwright-core, no browser download).
//   node scripts/screenshot.mjs [baseUrl] [outDir]          login page only (works against `vite preview`)
//   FLOW=1 node scripts/screenshot.mjs http://localhost:3000  two users register, chat, and screenshots of it all
// This is a look-and-feel helper, not the end-to-end test (that one lives at the repo root).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const baseUrl = process.argv[2] ?? 'http://localhost:4173';
const outDir = resolve(process.argv[3] ?? 'screenshots');
mkdirSync(outDir, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
  ],
});

const shot = async (page, name) => {
  const path = join(outDir, `${name}.png`);
  await page.screenshot({ path });
  console.log('screenshot', path);
};

try {
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const page = await desktop.newPage();
  page.on('console', (m) => m.type() === 'error' && console.log('[browser]', m.text()));
  await page.goto(baseUrl);
  await page.getByTestId('submit').waitFor();
  await shot(page, 'login');
  await page.getByTestId('switch-to-register').click();
  await shot(page, 'register');

  if (process.env.FLOW) {
    const stamp = Date.now().toString(36);
    const register = async (p, first, last) => {
      await p.goto(baseUrl);
      await p.getByTestId('switch-to-register').click();
      await p.getByTestId('first-name').fill(first);
      await p.getByTestId('last-name').fill(last);
      await p.getByTestId('email').fill(`${first.toLowerCase()}.${stamp}@example.com`);
      await p.getByTestId('password').fill('correct horse battery');
      await p.getByTestId('submit').click();
      await p.getByTestId('new-direct-chat').waitFor();
    };
    await register(page, 'Ada', 'Lovelace');
    const other = await (await browser.newContext({ viewport: { width: 390, height: 780 } })).newPage();
    other.on('console', (m) => m.type() === 'error' && console.log('[browser 2]', m.text()));
    await register(other, 'Grace', 'Hopper');

    await page.getByTestId('new-direct-chat').click();
    await page.getByTestId('user-search').fill(`grace.${stamp}`);
    await shot(page, 'search');
    await page.getByTestId('user-result').first().click();
    const input = page.getByTestId('message-input');
    await input.fill('Hi Grace! Did you see the new compiler?');
    await input.press('Enter');
    await other.getByTestId('chat-item').first().waitFor();
    await shot(other, 'phone-list');
    await other.getByTestId('chat-item').first().click();
    await other.getByTestId('message').first().waitFor();
    await other.getByTestId('message-input').fill('I did. It found a bug in my program: a real moth! 🦋');
    await other.getByTestId('send-button').click();
    await page.getByTestId('message-text').getByText('a real moth').waitFor();
    await input.fill('<script>alert("xss")</script>');
    await input.press('Enter');
    await other.getByTestId('message-text').getByText('<script>alert("xss")</script>').waitFor();
    await input.fill('Multi-line works too:\n- Enter sends\n- Shift+Enter adds a line');
    await input.press('Enter');
    await other.getByTestId('message-text').getByText('Shift+Enter adds a line', { exact: false }).waitFor();
    await shot(page, 'conversation');
    await shot(other, 'phone-conversation');
  }
} finally {
  await browser.close();
}
