import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Parser } from '@asyncapi/parser';
import request from 'supertest';
import {
  chatSendPayloadSchema,
  ERROR_CODES,
  HTTP_ROUTES,
  renderContractDocs,
  routeKey,
  SOCKET_CLIENT_EVENTS,
} from '@cohort/common';
import { generateTestKeys } from '@cohort/testkit';
import { CONTRACT_OPERATIONS } from '../src';
import { bothCases } from '../src/docs/regex-flags';
import { startProbe, startTestGateway, type Probe, type TestGateway } from './support';

type Json = Record<string, unknown>;

const REPO_ROOT = join(__dirname, '..', '..', '..');
const PRETTIER = require.resolve('prettier/bin/prettier.cjs');

/** Every route of the product contract (HTTP API and the blocking routes), as OpenAPI spells it: the table must hold at least these. */
const CONTRACT_ROUTES_REQUIRED = [
  'post /api/auth/register',
  'post /api/auth/login',
  'post /api/auth/refresh',
  'post /api/auth/logout',
  'get /api/auth/me',
  'get /api/auth/jwks.json',
  'get /api/users/search',
  'post /api/chats',
  'get /api/chats',
  'get /api/chats/{chatId}',
  'post /api/chats/{chatId}/members',
  'delete /api/chats/{chatId}/members/{userId}',
  'get /api/chats/{chatId}/messages',
  'post /api/chats/{chatId}/messages',
  'patch /api/chats/{chatId}/messages/{messageId}',
  'delete /api/chats/{chatId}/messages/{messageId}',
  'post /api/chats/{chatId}/read',
  'put /api/users/{userId}/block',
  'delete /api/users/{userId}/block',
  'get /api/users/blocked',
];

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
      expect(documented).toEqual(expect.arrayContaining(CONTRACT_ROUTES_REQUIRED));
    });

    it('declares what chat-api answers to adding a member: 201 (added) or 200 (already one), both with {chat}', () => {
      const responses = (doc.paths as Record<string, Record<string, { responses: Record<string, Json> }>>)[
        '/api/chats/{chatId}/members'
      ]?.post?.responses;
      for (const status of ['200', '201']) {
        expect(JSON.stringify(responses?.[status]?.content)).toContain('"chat"');
      }
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
        'ai:resume',
        'ai:stop',
        'auth:refresh',
        'chat:read',
        'chat:send',
        'chat:sync',
        'chat:typing',
        'presence:get',
      ]);
      expect(names('subscribe')?.sort()).toEqual(
        [
          'ai:delta',
          'auth:expired',
          'chat:added',
          'chat:changed',
          'chat:deleted',
          'chat:new',
          'chat:reactions',
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

  describe('the contract tables', () => {
    it('name only error codes of the catalogue, each under a status the catalogue gives it', () => {
      const wrong = HTTP_ROUTES.flatMap((route) =>
        Object.entries(route.errors).flatMap(([status, spec]) =>
          spec.codes
            .filter((code) => !(ERROR_CODES[code].statuses as readonly number[]).includes(Number(status)))
            .map((code) => `${routeKey(route)} ${status} ${code}`),
        ),
      );
      expect(wrong).toEqual([]);
    });

    it('give every route a unique operation id and every client event a summary', () => {
      const ids = HTTP_ROUTES.map((r) => r.operationId);
      expect(new Set(ids).size).toBe(ids.length);
      for (const spec of Object.values(SOCKET_CLIENT_EVENTS)) expect(spec.summary.length).toBeGreaterThan(0);
    });
  });

  describe('docs/', () => {
    it.each(Object.entries(renderContractDocs()))(
      'docs/%s is what `npm run docs:generate` writes from the tables',
      (file, content) => {
        const path = join(REPO_ROOT, 'docs', file);
        const committed = readFileSync(path, 'utf8');
        // The generator formats with prettier; its CLI here, since its API needs ESM that jest's VM lacks.
        const rendered = execFileSync(process.execPath, [PRETTIER, '--stdin-filepath', path], {
          input: content,
          encoding: 'utf8',
        });
        // Not toEqual on the whole page: the diff of a stale page should name the first differing line.
        const first = rendered.split('\n').findIndex((line, i) => line !== committed.split('\n')[i]);
        expect({ stale: first === -1 ? undefined : committed.split('\n')[first] }).toEqual({
          stale: undefined,
        });
        expect(committed).toBe(rendered);
      },
    );

    it('docs/configuration.md lists, in each service’s section, every variable its config reads', () => {
      const doc = readFileSync(join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8');
      const sections = new Map(
        doc.split(/^## /m).map((part) => [part.split('\n')[0]?.trim() ?? '', part] as const),
      );
      const sources: Record<string, string> = {
        'Every service': 'libs/common/src/config.ts',
        auth: 'services/auth/src/config.ts',
        'chat-api': 'services/chat-api/src/config.ts',
        gateway: 'services/gateway/src/config.ts',
        realtime: 'services/realtime/src/config.ts',
        assistant: 'services/assistant/src/config.ts',
        'embedded (`npm start`)': 'apps/embedded/src/config.ts',
      };
      const missing: string[] = [];
      for (const [section, file] of Object.entries(sources)) {
        const source = readFileSync(join(REPO_ROOT, file), 'utf8');
        // The schema's keys: the only upper-case object keys these files hold.
        const variables = [...source.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1] ?? '');
        expect(variables.length).toBeGreaterThan(0);
        const text = sections.get(section) ?? '';
        for (const name of variables)
          if (!new RegExp(`^\\|\\s*\`${name}\`\\s*\\|`, 'm').test(text)) missing.push(`${section}: ${name}`);
      }
      expect(missing).toEqual([]);
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
