import SwaggerParser from '@apidevtools/swagger-parser';
import { Parser } from '@asyncapi/parser';
import request from 'supertest';
import { chatSendPayloadSchema } from '@cohort/common';
import { generateTestKeys } from '@cohort/testkit';
import { CONTRACT_OPERATIONS } from '../src';
import { bothCases } from '../src/docs/regex-flags';
import { startProbe, startTestGateway, type Probe, type TestGateway } from './helpers';

type Json = Record<string, unknown>;

describe('gateway: API documents', () => {
  let auth: Probe;
  let chatApi: Probe;
  let gateway: TestGateway;

  beforeAll(async () => {
    const keys = await generateTestKeys();
    [auth, chatApi] = await Promise.all([startProbe(), startProbe()]);
    gateway = await startTestGateway({ keys, authUrl: auth.url, chatApiUrl: chatApi.url });
  });

  afterAll(async () => {
    await gateway.close();
    await Promise.all([auth.close(), chatApi.close()]);
  });

  const api = () => request(gateway.url);

  describe('/api/openapi.json', () => {
    let doc: Json;
    beforeAll(async () => {
      const res = await api().get('/api/openapi.json');
      expect(res.status).toBe(200);
      doc = res.body as Json;
    });

    it('is a valid OpenAPI 3 document', async () => {
      // validate() dereferences in place: give it a copy.
      await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
      expect(String(doc.openapi)).toMatch(/^3\./);
    });

    it('documents every row of the HTTP contract', () => {
      const paths = doc.paths as Record<string, Record<string, unknown>>;
      const documented = Object.entries(paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m} ${path}`),
      );
      expect(documented.sort()).toEqual([...CONTRACT_OPERATIONS].sort());
    });

    it('describes request bodies from the schemas the services validate with', () => {
      const schemas = (doc.components as Json).schemas as Record<string, Json>;
      const send = schemas.SendMessageBody as {
        properties: Record<string, Json>;
        required: string[];
        additionalProperties: boolean;
      };
      expect(send.required.sort()).toEqual(['clientMsgId', 'text']);
      expect(send.properties.text).toMatchObject({ type: 'string', minLength: 1, maxLength: 4000 });
      expect(send.additionalProperties).toBe(false);
      expect(Object.keys(schemas)).toEqual(
        expect.arrayContaining([
          'RegisterBody',
          'LoginBody',
          'CreateChatBody',
          'User',
          'Chat',
          'ChatSummary',
          'Message',
          'Error',
        ]),
      );
    });

    it('writes usable patterns (a case-insensitive id regex spelled out, no trailing flags)', () => {
      const params = (
        (doc.paths as Json)['/api/chats/{chatId}'] as {
          get: { parameters: Array<{ name: string; schema: { pattern: string } }> };
        }
      ).get.parameters;
      const pattern = params.find((p) => p.name === 'chatId')?.schema.pattern ?? '';
      expect(new RegExp(pattern).test('665F1C2B9A1E4B3C2D1F0A9E')).toBe(true);
      expect(new RegExp(pattern).test('665f1c2b9a1e4b3c2d1f0a9e')).toBe(true);
      expect(new RegExp(pattern).test('not-an-id')).toBe(false);
      expect(pattern).toBe('^[0-9a-fA-F]{24}$');
      expect(bothCases('^ab[c-e\\d]$')).toBe('^[aA][bB][c-eC-E\\d]$');
    });

    it('marks session routes as requiring the cookie or a bearer token, and public ones as open', () => {
      const paths = doc.paths as Record<string, Record<string, { security?: unknown[] }>>;
      expect(paths['/api/chats']?.get?.security).toEqual([{ cookieAuth: [] }, { bearerAuth: [] }]);
      expect(paths['/api/auth/login']?.post?.security).toEqual([]);
    });
  });

  describe('/api/asyncapi.json', () => {
    let doc: Json;
    beforeAll(async () => {
      const res = await api().get('/api/asyncapi.json');
      expect(res.status).toBe(200);
      doc = res.body as Json;
    });

    it('is a valid AsyncAPI document', async () => {
      const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
      const errors = diagnostics.filter((d) => d.severity === 0);
      expect(errors).toEqual([]);
      expect(document).toBeDefined();
    });

    it('lists every Socket.IO event of the contract in the right direction', () => {
      const channel = (doc.channels as Record<string, Json>)['/'] as Record<
        string,
        { message: { oneOf: Array<{ $ref: string }> } }
      >;
      const names = (op: string) =>
        channel[op]?.message.oneOf.map(
          (m) =>
            ((doc.components as Json).messages as Record<string, { name: string }>)[
              m.$ref.split('/').pop() ?? ''
            ]?.name,
        );
      expect(names('publish')?.sort()).toEqual([
        'auth:refresh',
        'chat:read',
        'chat:send',
        'chat:sync',
        'chat:typing',
        'presence:get',
      ]);
      expect(names('subscribe')?.sort()).toEqual(
        [
          'auth:expired',
          'chat:added',
          'chat:deleted',
          'chat:new',
          'chat:read',
          'chat:removed',
          'chat:typing',
          'chat:updated',
          'presence',
        ].sort(),
      );
    });

    it('describes chat:send with the payload schema realtime validates with, and its ack', () => {
      const message = ((doc.components as Json).messages as Record<string, Json>)['client.chat.send'] as {
        payload: Json;
        'x-ack': { payload: Json };
      };
      expect(message.payload).toMatchObject({
        type: 'object',
        required: expect.arrayContaining(['chatId', 'text', 'clientMsgId']),
        additionalProperties: false,
      });
      expect(Object.keys(message.payload.properties as Json).sort()).toEqual(
        Object.keys(chatSendPayloadSchema.shape).sort(),
      );
      expect(JSON.stringify(message['x-ack'].payload)).toContain('"ok"');
    });
  });

  describe('/api/docs', () => {
    it('serves Swagger UI pointed at /api/openapi.json', async () => {
      const page = await api().get('/api/docs/');
      expect(page.status).toBe(200);
      expect(page.text).toContain('swagger-ui');
      const init = await api().get('/api/docs/swagger-ui-init.js');
      expect(init.status).toBe(200);
      expect(init.text).toContain('/api/openapi.json');
      const bundle = await api().get('/api/docs/swagger-ui-bundle.js');
      expect(bundle.status).toBe(200);
    });

    it('loads everything from this origin, as the CSP requires (no inline or external scripts)', async () => {
      const page = await api().get('/api/docs/');
      const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.length).toBeGreaterThan(0);
      for (const [, attrs, body] of scripts) {
        expect(body?.trim()).toBe('');
        expect(attrs).toMatch(/src="\.\//);
      }
    });
  });
});
