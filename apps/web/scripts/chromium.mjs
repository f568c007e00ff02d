// Shared by the development scripts: Debian's Chromium through playwright-core (no browser download), with
// the flags this machine's closed network needs, and a screenshot helper writing into `outDir`.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export async function launchChromium() {
  return chromium.launch({
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
}

/** Returns `shot(page, name)`, which saves `<outDir>/<name>.png` (outDir is created). */
export function screenshotsInto(dir) {
  const outDir = resolve(dir);
  mkdirSync(outDir, { recursive: true });
  return async (page, name) => {
    const path = join(outDir, `${name}.png`);
    await page.screenshot({ path });
    console.log('screenshot', path);
  };
}
