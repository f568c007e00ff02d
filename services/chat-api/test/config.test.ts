import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ConfigError } from '@cohort/common';
import { REPO_ROOT } from '@cohort/testkit';
import { loadChatApiConfig as loadConfig } from '../src';

const valid = {
  MONGO_URL: 'mongodb://127.0.0.1:27017/chat',
  INTERNAL_JWKS: JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'abc', kid: 'k1' }] }),
  AUTH_URL: 'http://auth:3001/',
};

const issuesOf = (env: Record<string, string | undefined>): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  return [];
};

describe('configuration', () => {
  test('applies defaults: port 3002, no Redis, 120 messages per 10 s', () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({
      PORT: 3002,
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      AUTH_URL: 'http://auth:3001',
      SEND_RATE_LIMIT: { points: 120, durationSeconds: 10 },
    });
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.INTERNAL_JWKS.keys).toHaveLength(1);
    expect(Object.isFrozen(config)).toBe(true);
  });

  test('abuse limits default far above what a person does, and can be set', () => {
    expect(loadConfig(valid)).toMatchObject({
      CHAT_CREATE_RATE_LIMIT: { points: 30, durationSeconds: 600 },
      MEMBER_ADD_RATE_LIMIT: { points: 500, durationSeconds: 600 },
      MESSAGE_EDIT_RATE_LIMIT: { points: 60, durationSeconds: 60 },
    });
    expect(
      loadConfig({ ...valid, CHAT_CREATE_RATE_LIMIT: '5/60s', MESSAGE_EDIT_RATE_LIMIT: '' }),
    ).toMatchObject({
      CHAT_CREATE_RATE_LIMIT: { points: 5, durationSeconds: 60 },
      MESSAGE_EDIT_RATE_LIMIT: { points: 60, durationSeconds: 60 },
    });
  });

  test('names every missing variable', () => {
    const issues = issuesOf({});
    for (const name of ['MONGO_URL', 'INTERNAL_JWKS', 'AUTH_URL'])
      expect(issues.some((i) => i.startsWith(`${name}:`))).toBe(true);
  });

  test.each([
    ['MONGO_URL', 'postgres://x'],
    ['REDIS_URL', 'http://redis'],
    ['INTERNAL_JWKS', 'not json'],
    ['INTERNAL_JWKS', '{"keys":[]}'],
    ['AUTH_URL', 'auth'],
    ['PORT', '70000'],
    ['SEND_RATE_LIMIT', '120 per 10s'],
    ['SEND_RATE_LIMIT', '0/10s'],
    ['CHAT_CREATE_RATE_LIMIT', '30'],
    ['MEMBER_ADD_RATE_LIMIT', '-1/600s'],
    ['MESSAGE_EDIT_RATE_LIMIT', '60/0s'],
  ])('refuses %s=%s, naming it', (name, value) => {
    expect(
      issuesOf({ ...valid, [name]: value }).some((i) => i.startsWith(`${name}:`) || i.startsWith(`${name}.`)),
    ).toBe(true);
  });

  test('reads REDIS_URL and SEND_RATE_LIMIT; an empty REDIS_URL means none', () => {
    expect(loadConfig({ ...valid, REDIS_URL: 'redis://r:6379', SEND_RATE_LIMIT: '60/10s' })).toMatchObject({
      REDIS_URL: 'redis://r:6379',
      SEND_RATE_LIMIT: { points: 60, durationSeconds: 10 },
    });
    expect(loadConfig({ ...valid, REDIS_URL: '' }).REDIS_URL).toBeUndefined();
  });

  test('main.ts run without configuration exits 1 with a fatal line naming the variables', () => {
    const run = spawnSync(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', join(REPO_ROOT, 'services/chat-api/src/main.ts')],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '' },
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(run.status).toBe(1);
    const fatal = run.stdout.split('\n').find((line) => line.includes('"level":60'));
    expect(fatal).toContain('MONGO_URL');
    expect(fatal).toContain('INTERNAL_JWKS');
  });
});
