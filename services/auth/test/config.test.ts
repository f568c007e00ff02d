import { ConfigError } from '@cohort/common';
import { generateTestKeys, type TestKeys } from '@cohort/testkit';
import { loadAuthConfig } from '../src';

describe('auth configuration', () => {
  let keys: TestKeys;
  let valid: Record<string, string>;
  beforeAll(async () => {
    keys = await generateTestKeys();
    valid = {
      MONGO_URL: 'mongodb://127.0.0.1:27017/cohort',
      JWT_PRIVATE_KEY: keys.access.privateKeyPem.replace(/\n/g, '\\n'),
      INTERNAL_JWKS: JSON.stringify(keys.internalJwks),
    };
  });

  it('applies the documented defaults', () => {
    const config = loadAuthConfig(valid);
    expect(config).toMatchObject({
      PORT: 3001,
      BCRYPT_COST: 12,
      LOGIN_IP_LIMIT: 100,
      ACCESS_TOKEN_TTL_SECONDS: 900,
      ALLOWED_ORIGINS: [],
      NODE_ENV: 'development',
    });
    expect(config.REDIS_URL).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('turns \\n escapes in the private key back into a PEM', () => {
    expect(loadAuthConfig(valid).JWT_PRIVATE_KEY).toBe(keys.access.privateKeyPem);
  });

  it('parses INTERNAL_JWKS into a key set', () => {
    // The gateway's, realtime's and the assistant's public keys.
    expect(loadAuthConfig(valid).INTERNAL_JWKS.keys).toHaveLength(3);
  });

  it.each([
    ['MONGO_URL', undefined],
    ['MONGO_URL', 'http://example.com'],
    ['JWT_PRIVATE_KEY', undefined],
    ['INTERNAL_JWKS', undefined],
    ['INTERNAL_JWKS', 'not json'],
    ['INTERNAL_JWKS', '{"keys":[]}'],
    ['BCRYPT_COST', '3'],
    ['LOGIN_IP_LIMIT', '0'],
    ['REDIS_URL', 'not a url'],
  ])('refuses %s=%s with a message naming it', (name, value) => {
    const source: Record<string, string | undefined> = { ...valid, [name]: value };
    expect(() => loadAuthConfig(source)).toThrow(ConfigError);
    expect(() => loadAuthConfig(source)).toThrow(new RegExp(name));
  });
});
