// Visual check of the web client with Debian's Chromium (playwright-core, no browser download).
//   node scripts/screenshot.mjs [baseUrl] [outDir]     login and register pages (works against `vite preview`)
// See scripts/smoke.mjs for a two-user walk through a running backend.
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
} finally {
  await browser.close();
}
