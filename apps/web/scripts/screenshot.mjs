// Visual check of the web client with Debian's Chromium (playwright-core, no browser download).
//   node scripts/screenshot.mjs [baseUrl] [outDir]     login and register pages (needs the backend: `npm start`,
//   or `vite preview`, which proxies /api to it)
// See scripts/smoke.mjs for a two-user walk through a running backend.
import { launchChromium, screenshotsInto } from './chromium.mjs';

const baseUrl = process.argv[2] ?? 'http://localhost:4173';
const shot = screenshotsInto(process.argv[3] ?? 'screenshots');
const browser = await launchChromium();

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
