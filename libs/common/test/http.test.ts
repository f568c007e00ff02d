import mongoose from 'mongoose';
import request from 'supertest';
import { z } from 'zod';
import { AppError } from '../src/errors';
import { createBaseApp } from '../src/http/base-app';
import { errorHandler, isStoreUnavailableError, notFoundHandler } from '../src/http/error-handler';
import { createMetrics } from '../src/http/metrics';
import { createOpsRouter } from '../src/http/ops-routes';
import { originCheck } from '../src/http/origin-check';
import { parseOrThrow } from '../src/http/validate';
import { createLogger } from '../src/logger';

const logger = createLogger({ service: 'test', level: 'silent' });

function buildApp(readiness: Record<string, () => Promise<unknown>> = {}) {
  const metrics = createMetrics('test');
  const app = createBaseApp({ logger, metrics });
  app.use(
    createOpsRouter({ service: 'test', registry: metrics.registry, readiness, info: { replica: 'r1' } }),
  );
  app.use(originCheck(['https://allowed.example']));
  app.post('/things', (req, res) => {
    const body = parseOrThrow(z.strictObject({ name: z.string().min(1) }), req.body);
    res.status(201).json({ name: body.name });
  });
  app.get('/limited', () => {
    throw AppError.tooManyRequests(7.2);
  });
  app.get('/boom', () => {
    throw new Error('secret internal detail');
  });
  app.get('/async-boom', async () => {
    await Promise.resolve();
    throw new AppError(409, 'email_taken', 'Email already registered');
  });
  app.get('/store-down', async () => {
    await Promise.resolve();
    throw new mongoose.mongo.MongoNotConnectedError('Client must be connected before running operations');
  });
  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  return app;
}

describe('error mapping', () => {
  const app = buildApp();

  it('maps an AppError to its status and the contract error shape', async () => {
    const res = await request(app).get('/async-boom');
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ error: { code: 'email_taken', message: 'Email already registered' } });
  });

  it('sets the headers an AppError carries (Retry-After rounded up)', async () => {
    const res = await request(app).get('/limited');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('8');
  });

  it('hides unknown errors behind a 500 with an errorId', async () => {
    const res = await request(app).get('/boom');
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('internal_error');
    expect(res.body.error.errorId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(res.body)).not.toContain('secret internal detail');
  });

  it('answers a store that cannot be reached with a retryable 503 store_unavailable, not a 500', async () => {
    const res = await request(app).get('/store-down');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: { code: 'store_unavailable', message: expect.any(String) } });
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('tells the driver connection and selection errors from other store errors', () => {
    const { mongo } = mongoose;
    const refused = new mongo.MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017');
    expect(isStoreUnavailableError(refused)).toBe(true);
    expect(isStoreUnavailableError(new mongo.MongoNotConnectedError('not connected'))).toBe(true);
    expect(isStoreUnavailableError(new mongo.MongoTopologyClosedError())).toBe(true);
    const selection = Object.assign(new Error('Server selection timed out after 5000 ms'), {
      name: 'MongoServerSelectionError',
    });
    expect(isStoreUnavailableError(selection)).toBe(true);
    // A bulk write (insertMany) reports a refused connection in its errorResponse.
    const bulk = Object.assign(new Error('connect ECONNREFUSED'), {
      name: 'MongoBulkWriteError',
      errorResponse: refused,
    });
    expect(isStoreUnavailableError(bulk)).toBe(true);
    expect(isStoreUnavailableError(Object.assign(new Error('wrapped'), { cause: refused }))).toBe(true);
    const primaryGone = Object.assign(new Error('not primary'), { name: 'MongoServerError', code: 10107 });
    expect(isStoreUnavailableError(primaryGone)).toBe(true);
    // Ordinary refusals stay what they are.
    const duplicate = Object.assign(new Error('E11000 duplicate key'), {
      name: 'MongoServerError',
      code: 11000,
    });
    expect(isStoreUnavailableError(duplicate)).toBe(false);
    expect(isStoreUnavailableError(new Error('boom'))).toBe(false);
    expect(isStoreUnavailableError(undefined)).toBe(false);
  });

  it('answers unknown paths with a JSON 404', async () => {
    const res = await request(app).get('/api/nope');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('refuses an operator object where a string belongs with a 400 naming the field', async () => {
    const res = await request(app)
      .post('/things')
      .send({ name: { $gt: '' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    expect(res.body.error.message).toMatch(/^name: /);
  });

  it('maps malformed JSON and oversized bodies to 400 and 413', async () => {
    const bad = await request(app).post('/things').set('content-type', 'application/json').send('{"name":');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_json');
    const big = await request(app)
      .post('/things')
      .send({ name: 'x'.repeat(70_000) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
  });
});

describe('base app headers and request ids', () => {
  const app = buildApp();

  it('sends nosniff and no X-Powered-By', async () => {
    const res = await request(app).get('/healthz');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('echoes a sane x-request-id and generates one when absent or unsafe', async () => {
    const echoed = await request(app).get('/healthz').set('x-request-id', 'abc-123');
    expect(echoed.headers['x-request-id']).toBe('abc-123');
    const generated = await request(app).get('/healthz');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const unsafe = await request(app).get('/healthz').set('x-request-id', 'bad id with spaces; and $(stuff)');
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('ops routes', () => {
  it('serves /healthz with the extra info', async () => {
    const res = await request(buildApp()).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', service: 'test', replica: 'r1' });
  });

  it('serves Prometheus text on /metrics, including request latency once a request was made', async () => {
    const app = buildApp();
    await request(app).post('/things').send({ name: 'a' });
    const res = await request(app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.text).toMatch(/http_request_duration_seconds_count\{.*route="\/things".*status="201".*\} 1/);
    expect(res.text).toContain('process_resident_memory_bytes');
  });

  it('reports 503 on /readyz when a dependency check fails, naming it', async () => {
    const app = buildApp({
      mongo: async () => 'ok',
      redis: async () => Promise.reject(new Error('ECONNREFUSED')),
    });
    const res = await request(app).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.checks).toEqual({ mongo: 'ok', redis: 'ECONNREFUSED' });
  });

  it('reports ready when every check passes', async () => {
    const res = await request(buildApp({ mongo: async () => undefined })).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ready');
  });
});

describe('origin check (CSRF)', () => {
  const app = buildApp();

  it('refuses a cookie-authenticated POST from a foreign origin with 403 csrf', async () => {
    const res = await request(app)
      .post('/things')
      .set('origin', 'https://evil.example')
      .set('cookie', 'token=x')
      .send({ name: 'a' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('csrf');
  });

  it('allows listed origins, the request’s own origin, and requests without Origin', async () => {
    const listed = await request(app)
      .post('/things')
      .set('origin', 'https://allowed.example')
      .send({ name: 'a' });
    expect(listed.status).toBe(201);
    const own = await request(app)
      .post('/things')
      .set('host', 'chat.example:8080')
      .set('origin', 'http://chat.example:8080')
      .set('cookie', 'token=x')
      .send({ name: 'a' });
    expect(own.status).toBe(201);
    const none = await request(app).post('/things').set('cookie', 'token=x').send({ name: 'a' });
    expect(none.status).toBe(201);
  });

  it('lets bearer-only requests through (not cookie-driven)', async () => {
    const res = await request(app)
      .post('/things')
      .set('origin', 'https://evil.example')
      .set('authorization', 'Bearer abc')
      .send({ name: 'a' });
    expect(res.status).toBe(201);
  });
});

describe('request ids with request logging off', () => {
  it('still accepts or generates the id and puts it on every line logged for the request', async () => {
    const lines: string[] = [];
    const quiet = createLogger({
      service: 'test',
      level: 'warn',
      destination: { write: (line: string) => void lines.push(line) },
    });
    const metrics = createMetrics('quiet');
    const app = createBaseApp({ logger: quiet, metrics });
    app.get('/boom', () => {
      throw new Error('kaboom');
    });
    app.use(errorHandler(quiet));
    const echoed = await request(app).get('/boom').set('x-request-id', 'req-42');
    expect(echoed.headers['x-request-id']).toBe('req-42');
    expect(echoed.status).toBe(500);
    const logged = lines.map((l) => JSON.parse(l) as { req?: { id?: string }; msg: string });
    expect(logged.find((l) => l.msg === 'unhandled error')?.req?.id).toBe('req-42');
    const generated = await request(app).get('/nothing');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
