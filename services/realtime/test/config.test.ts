import { ConfigError } from '@cohort/common';
import { loadRealtimeConfig } from '../src/config';

const base = {
  JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\\nabc\\n-----END PUBLIC KEY-----',
  INTERNAL_SIGNING_KEY: '-----BEGIN PRIVATE KEY-----\\nabc\\n-----END PRIVATE KEY-----',
  CHAT_API_URL: 'http://chat-api:3002',
};

describe('realtime configuration', () => {
  it('defaults to port 3003, the sharded adapter, embedded mode and a hostname-pid replica id', () => {
    const config = loadRealtimeConfig(base);
    expect(config).toMatchObject({ PORT: 3003, ADAPTER_MODE: 'sharded', ALLOWED_ORIGINS: [] });
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.REPLICA_ID).toMatch(new RegExp(`-${process.pid}$`));
    expect(config.JWT_PUBLIC_KEY).toContain('\nabc\n');
  });

  it('treats empty optional variables as unset', () => {
    expect(loadRealtimeConfig({ ...base, REDIS_URL: '', REPLICA_ID: '' }).REDIS_URL).toBeUndefined();
  });

  it('names every missing or bad variable', () => {
    const attempt = () => loadRealtimeConfig({ ADAPTER_MODE: 'fancy', PORT: 'x', REPLICA_ID: 'bad id!' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (err) {
      const text = (err as ConfigError).issues.join('\n');
      for (const name of ['ADAPTER_MODE', 'PORT', 'REPLICA_ID', 'INTERNAL_SIGNING_KEY', 'CHAT_API_URL'])
        expect(text).toContain(name);
    }
  });

  it('requires JWKS_URL or JWT_PUBLIC_KEY', () => {
    const { JWT_PUBLIC_KEY: _unused, ...rest } = base;
    expect(() => loadRealtimeConfig(rest)).toThrow(/JWKS_URL/);
    expect(loadRealtimeConfig({ ...rest, JWKS_URL: 'http://auth:3001/api/auth/jwks.json' }).JWKS_URL).toBe(
      'http://auth:3001/api/auth/jwks.json',
    );
  });

  it('caps sockets at 20 per user and events at 600 per 10 s per user by default, both settable', () => {
    expect(loadRealtimeConfig(base)).toMatchObject({
      MAX_SOCKETS_PER_USER: 20,
      USER_EVENT_RATE_LIMIT: { points: 600, durationSeconds: 10 },
    });
    expect(
      loadRealtimeConfig({ ...base, MAX_SOCKETS_PER_USER: '5', USER_EVENT_RATE_LIMIT: '100/60s' }),
    ).toMatchObject({ MAX_SOCKETS_PER_USER: 5, USER_EVENT_RATE_LIMIT: { points: 100, durationSeconds: 60 } });
    expect(() => loadRealtimeConfig({ ...base, USER_EVENT_RATE_LIMIT: '100 per minute' })).toThrow(
      /USER_EVENT_RATE_LIMIT/,
    );
    expect(() => loadRealtimeConfig({ ...base, MAX_SOCKETS_PER_USER: '0' })).toThrow(/MAX_SOCKETS_PER_USER/);
  });
});
