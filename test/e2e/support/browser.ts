import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT, spawnNodeProcess, startCluster, type ServiceProcess } from '@cohort/testkit';

/** Shared by the browser tests: the embedded product in its own process, and headless Chromium people. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = join(REPO_ROOT, 'artifacts', 'e2e');
const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Person {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  email: string;
}

export interface Product {
  baseUrl: string;
  stop(): Promise<void>;
}

function ensureWebClientBuilt(): void {
  mkdirSync(ARTIFACTS, { recursive: true });
  if (!existsSync(join(REPO_ROOT, 'apps/web/dist/index.html'))) {
    execFileSync('npm', ['run', 'build', '-w', '@cohort/web'], { cwd: REPO_ROOT, stdio: 'ignore' });
  }
}

/**
 * `npm run cluster`'s topology (the same `startCluster`): real nginx serving the built client and routing
 * sockets by their sticky `cid` over 3 realtime replicas, real redis-server, 2 assistant replicas, 2 gateways,
 * auth, chat-api and the embedded store, each its own process.
 */
export async function startClusterProduct(env: Record<string, string> = {}): Promise<Product> {
  ensureWebClientBuilt();
  const cluster = await startCluster({
    port: 0,
    realtimeReplicas: 3,
    assistantReplicas: 2,
    env: { BCRYPT_COST: '4', ...env },
  });
  return { baseUrl: cluster.url, stop: () => cluster.stop() };
}

/** Builds the web client when dist/ is missing, then starts `npm start`'s embedded launcher on a free port. */
export async function startProduct(env: Record<string, string> = {}): Promise<Product> {
  ensureWebClientBuilt();
  const dataDir = mkdtempSync(join(tmpdir(), 'cohort-e2e-'));
  let app: ServiceProcess | undefined;
  try {
    app = await spawnNodeProcess({
      entry: join(REPO_ROOT, 'apps/embedded/src/main.ts'),
      label: 'embedded',
      env: {
        PORT: '0',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        BCRYPT_COST: '4',
        NODE_ENV: 'development',
        ...env,
      },
      startTimeoutMs: 60_000,
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const running = app;
  return {
    baseUrl: `http://127.0.0.1:${running.port}`,
    async stop() {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function openBrowser(email: string, people: Person[]): Promise<Person> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const person = { browser, context, page, email };
  people.push(person);
  return person;
}

export async function register(baseUrl: string, person: Person, firstName: string): Promise<void> {
  const { page } = person;
  await page.goto(baseUrl);
  await page.getByTestId('switch-to-register').click();
  await page.getByTestId('email').fill(person.email);
  await page.getByTestId('password').fill('correct-horse-battery-9');
  await page.getByTestId('first-name').fill(firstName);
  await page.getByTestId('last-name').fill('Tester');
  await page.getByTestId('submit').click();
  await page.getByTestId('logout').waitFor();
}

/** Through the page's UI: a new group with one other person, found by email; resolves once it is open. */
export async function createGroupWith(page: Page, title: string, memberEmail: string): Promise<void> {
  await page.getByTestId('new-group-chat').click();
  await page.getByTestId('group-title').fill(title);
  await page.getByTestId('user-search').fill(memberEmail);
  await page.getByTestId('user-result').first().click();
  await page.getByTestId('create-group').click();
  await page.getByTestId('message-input').waitFor();
}

export async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('message-input').fill(text);
  await page.getByTestId('message-input').press('Enter');
}

export function messageText(page: Page, text: string) {
  return page.getByTestId('message-text').filter({ hasText: text });
}

export function messageRow(page: Page, text: string) {
  return page.getByTestId('message').filter({ has: messageText(page, text) });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}
