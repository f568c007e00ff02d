#!/usr/bin/env node
// Makes a fresh clone runnable: installs npm dependencies when missing or stale, and (with --for-tests)
// the Debian packages the test suites drive for real (redis-server, nginx, chromium) when they are absent.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const forTests = process.argv.includes('--for-tests');
const forWeb = process.argv.includes('--web');

function run(cmd, args, extraEnv = {}) {
  console.log(`[setup] ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...extraEnv } });
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

// npm dependencies: install when node_modules is missing or older than the lockfile.
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
if (!existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000)) {
  // `npm ci` rejects locks written without other platforms' optional packages (ENVIRONMENT.md): use install.
  run('npm', ['install', '--no-audit', '--no-fund'], {
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1',
    MONGOMS_DISABLE_POSTINSTALL: '1',
    MONGOMS_RUNTIME_DOWNLOAD: 'false',
  });
}

if (forTests) {
  const wanted = [
    ['redis-server', 'redis-server'],
    ['nginx', 'nginx'],
    ['chromium', 'chromium'],
    ['docker-compose', 'docker-compose'],
  ].filter(([bin]) => !has(bin) && !existsSync(`/usr/sbin/${bin}`));
  if (wanted.length > 0) {
    const packages = wanted.map(([, pkg]) => pkg);
    const isRoot = process.getuid?.() === 0;
    if (isRoot && has('apt-get')) {
      const env = { DEBIAN_FRONTEND: 'noninteractive' };
      run('apt-get', ['update', '-qq'], env);
      // docker-compose (v1, only to validate the compose file) without its recommends: they pull the docker engine.
      const lean = packages.filter((p) => p === 'docker-compose');
      const full = packages.filter((p) => p !== 'docker-compose');
      if (full.length > 0) run('apt-get', ['install', '-y', '-qq', ...full], env);
      if (lean.length > 0) run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...lean], env);
    } else {
      console.error(
        `[setup] the tests need ${packages.join(', ')}. Install them with:\n  sudo apt-get update && sudo apt-get install -y ${packages.join(' ')}`,
      );
      process.exit(1);
    }
  }
}

// The web client: build it when its bundle is missing or older than its sources. Tests need it too: nginx and the
// gateway serve it, and the browser test drives it.
if (forWeb || forTests) {
  const webDir = join(root, 'apps', 'web');
  const built = join(webDir, 'dist', 'index.html');
  const newest = (dir) => {
    let latest = 0;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
    }
    return latest;
  };
  const sourcesChanged = () =>
    Math.max(newest(join(webDir, 'src')), statSync(join(webDir, 'index.html')).mtimeMs) >
    statSync(built).mtimeMs;
  if (existsSync(join(webDir, 'src')) && (!existsSync(built) || sourcesChanged())) {
    run('npm', ['run', 'build', '-w', '@cohort/web']);
  }
}
