import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { REPO_ROOT, registerUser, spawnNodeProcess, type ServiceProcess } from '@cohort/testkit';

const ENTRY = join(REPO_ROOT, 'apps/embedded/src/main.ts');

function startLauncher(dataDir: string, port = '0'): Promise<ServiceProcess> {
  return spawnNodeProcess({
    entry: ENTRY,
    label: 'embedded',
    env: { PORT: port, DATA_DIR: dataDir, BCRYPT_COST: '4', LOG_LEVEL: 'warn', NODE_ENV: 'development' },
    startTimeoutMs: 60_000,
  });
}

describe('npm start (embedded launcher)', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'cohort-launcher-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps accounts, chats and signing keys across a restart', async () => {
    let app = await startLauncher(dataDir);
    const user = await registerUser(app.url, 'keeper');
    const created = await fetch(`${app.url}/api/chats`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'group', title: 'persists' }),
    });
    expect(created.status).toBe(201);
    await app.stop();
    expect(app.child.exitCode).toBe(0);
    expect(existsSync(join(dataDir, 'keys', 'access-es256.json'))).toBe(true);

    app = await startLauncher(dataDir);
    // The token issued before the restart still verifies: the keys were kept, not regenerated.
    const chats = await fetch(`${app.url}/api/chats`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(chats.status).toBe(200);
    const body = (await chats.json()) as { chats: Array<{ title: string }> };
    expect(body.chats.map((c) => c.title)).toEqual(['persists']);
    const login = await fetch(`${app.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.user.email, password: user.password }),
    });
    expect(login.status).toBe(200);
    await app.stop();
  }, 120_000);

  it('refuses a busy port with a message that names it', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', ENTRY], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', PORT: String(port), DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    blocker.close();
    expect(code).toBe(1);
    expect(output).toContain(`Port ${port} is already in use`);
  }, 60_000);
});
