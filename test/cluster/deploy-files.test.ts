import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  NGINX_DIR,
  REPO_ROOT,
  renderCohortConf,
  renderDockerConf,
  renderStandaloneNginxConf,
} from '@cohort/testkit';

const SERVICES = ['auth', 'chat-api', 'gateway', 'realtime'];

describe('deployment files', () => {
  it('nginx/docker.conf is the template rendered for the compose network (run npm run nginx:render)', () => {
    expect(readFileSync(join(NGINX_DIR, 'docker.conf'), 'utf8')).toBe(renderDockerConf());
  });

  it('nginx accepts the rendered configuration (nginx -t)', () => {
    const prefix = mkdtempSync(join(tmpdir(), 'cohort-nginx-t-'));
    for (const dir of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, dir));
    const conf = renderStandaloneNginxConf(
      prefix,
      renderCohortConf({
        listen: '127.0.0.1:1',
        realtime: ['127.0.0.1:2', '127.0.0.1:3'],
        gateways: ['127.0.0.1:4'],
        webRoot: prefix,
      }),
    );
    writeFileSync(join(prefix, 'nginx.conf'), conf);
    const nginx = ['/usr/sbin/nginx', 'nginx'].find((bin) => spawnSync(bin, ['-v']).status === 0) ?? 'nginx';
    const result = spawnSync(nginx, ['-t', '-p', prefix, '-c', join(prefix, 'nginx.conf')], {
      encoding: 'utf8',
    });
    expect(result.stderr).toContain('test is successful');
  });

  it('sticks Socket.IO on a client id or the session cookie, never on the client address alone', () => {
    const conf = renderDockerConf();
    expect(conf).toMatch(/hash \$cohort_sticky_key consistent;/);
    expect(conf).toMatch(/map \$arg_cid \$cohort_sticky_cid/);
    expect(conf).not.toMatch(/ip_hash/);
  });

  it('docker-compose.yml validates with docker-compose config (keys from npm run keys)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cohort-compose-'));
    const envFile = join(dir, '.env');
    const keys = execFileSync(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'scripts/generate-keys.ts'],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      },
    );
    writeFileSync(envFile, keys);
    const result = spawnSync(
      'docker-compose',
      ['--env-file', envFile, '-f', 'docker-compose.yml', 'config', '-q'],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      },
    );
    if (result.error)
      throw new Error(
        `docker-compose is not installed (npm run setup / .ci/run installs it): ${result.error.message}`,
      );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('docker-compose.yml: Redis requires the generated password and every service connects with it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cohort-compose-'));
    const envFile = join(dir, '.env');
    const keys = execFileSync(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'scripts/generate-keys.ts'],
      { cwd: REPO_ROOT, encoding: 'utf8' },
    );
    writeFileSync(envFile, keys);
    const password = /^REDIS_PASSWORD=(\S+)$/m.exec(keys)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const rendered = spawnSync(
      'docker-compose',
      ['--env-file', envFile, '-f', 'docker-compose.yml', 'config'],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      },
    );
    expect(rendered.status).toBe(0);
    expect(rendered.stdout).toContain(`--requirepass`);
    const urls = rendered.stdout.match(/REDIS_URL: \S+/g) ?? [];
    // auth, chat-api, 2 gateways, 3 realtime replicas and 2 assistants.
    expect(urls).toHaveLength(9);
    for (const url of urls) expect(url).toBe(`REDIS_URL: redis://:${password}@redis:6379`);
  });

  it('docker-compose.yml refuses to start without keys, saying how to make them', () => {
    const result = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('npm run keys');
  });

  it.each(SERVICES)(
    '%s has a multi-stage Dockerfile that runs as a non-root user with a healthcheck',
    (name) => {
      const dockerfile = readFileSync(join(REPO_ROOT, 'services', name, 'Dockerfile'), 'utf8');
      expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
      expect(dockerfile).toMatch(/^USER node$/m);
      expect(dockerfile).toMatch(/^HEALTHCHECK /m);
      // Only its own service is copied: a change elsewhere does not rebuild it.
      for (const other of SERVICES.filter((s) => s !== name))
        expect(dockerfile).not.toContain(`services/${other}`);
    },
  );
});
