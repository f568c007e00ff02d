import { z } from 'zod';
import { ConfigError, baseEnvSchema, env, loadConfig } from '../src/config';

const schema = baseEnvSchema.extend({ PORT: env.port(3000), MONGO_URL: env.url(), ORIGINS: env.list() });

describe('loadConfig', () => {
  it('returns a frozen, typed config with defaults applied', () => {
    const config = loadConfig(schema, { MONGO_URL: 'mongodb://localhost/x', ORIGINS: 'http://a, http://b,' });
    expect(config).toEqual({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      SHUTDOWN_READY_DELAY_MS: 0,
      PORT: 3000,
      MONGO_URL: 'mongodb://localhost/x',
      ORIGINS: ['http://a', 'http://b'],
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads SHUTDOWN_READY_DELAY_MS as milliseconds, refusing a negative one', () => {
    const base = { MONGO_URL: 'mongodb://x/y' };
    expect(loadConfig(schema, { ...base, SHUTDOWN_READY_DELAY_MS: '2000' }).SHUTDOWN_READY_DELAY_MS).toBe(
      2000,
    );
    expect(() => loadConfig(schema, { ...base, SHUTDOWN_READY_DELAY_MS: '-1' })).toThrow(
      /SHUTDOWN_READY_DELAY_MS/,
    );
  });

  it('refuses a missing variable, naming it', () => {
    expect(() => loadConfig(schema, {})).toThrow(ConfigError);
    expect(() => loadConfig(schema, {})).toThrow(/MONGO_URL/);
  });

  it('refuses a bad value, naming the variable and the value', () => {
    const attempt = () => loadConfig(schema, { MONGO_URL: 'mongodb://x/y', PORT: 'eighty' });
    expect(attempt).toThrow(/PORT: .*\(got "eighty"\)/);
  });

  it('lists every bad variable at once', () => {
    try {
      loadConfig(schema, { PORT: '99999', LOG_LEVEL: 'loud' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const names = (err as ConfigError).issues.map((i) => i.split(':')[0]);
      expect(names).toEqual(expect.arrayContaining(['PORT', 'LOG_LEVEL', 'MONGO_URL']));
    }
  });

  it('turns escaped newlines of a PEM variable into real ones', () => {
    const pem = loadConfig(z.object({ KEY: env.pem() }), {
      KEY: '-----BEGIN X-----\\nabc\\n-----END X-----',
    }).KEY;
    expect(pem).toBe('-----BEGIN X-----\nabc\n-----END X-----');
  });
});
