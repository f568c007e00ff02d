import request from 'supertest';
import { createBaseApp } from '../src/http/base-app';
import { createMetrics } from '../src/http/metrics';
import { isLocalAddress, trustOneLocalHop } from '../src/http/request-context';
import { createLogger } from '../src/logger';

describe('isLocalAddress', () => {
  it.each([
    '127.0.0.1',
    '::1',
    '::ffff:127.0.0.1',
    '10.1.2.3',
    '172.20.0.5',
    '192.168.1.1',
    '169.254.0.9',
    'fd00::1',
    'fe80::1',
  ])('counts %s as local', (address) => expect(isLocalAddress(address)).toBe(true));
  it.each(['203.0.113.9', '8.8.8.8', '::ffff:8.8.8.8', '2001:db8::1', '172.32.0.1', 'not-an-ip', ''])(
    'does not count %s as local',
    (address) => expect(isLocalAddress(address)).toBe(false),
  );
  it('trusts a local peer as the first hop only', () => {
    expect(trustOneLocalHop('127.0.0.1', 0)).toBe(true);
    expect(trustOneLocalHop('127.0.0.1', 1)).toBe(false);
    expect(trustOneLocalHop('203.0.113.9', 0)).toBe(false);
  });
});

describe("a service's idea of the client address (req.ip)", () => {
  const app = createBaseApp({
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: createMetrics('test'),
  });
  app.get('/ip', (req, res) => {
    res.json({ ip: req.ip });
  });
  const ipFor = async (forwardedFor?: string) => {
    const req = request(app).get('/ip');
    if (forwardedFor) req.set('X-Forwarded-For', forwardedFor);
    return ((await req).body as { ip: string }).ip;
  };

  it('is the last X-Forwarded-For entry, written by the one local hop in front', async () => {
    expect(await ipFor('203.0.113.9')).toBe('203.0.113.9');
  });

  it('ignores whatever a client put before it, even local-looking addresses', async () => {
    expect(await ipFor('198.51.100.1, 10.0.0.7')).toBe('10.0.0.7');
    expect(await ipFor('198.51.100.1, 203.0.113.9')).toBe('203.0.113.9');
  });

  it('is the peer when nothing was forwarded', async () => {
    expect(await ipFor()).toMatch(/127\.0\.0\.1|::1/);
  });
});
