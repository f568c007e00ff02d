import { OpenAPIRegistry, OpenApiGeneratorV3, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import {
  errorBodySchema,
  HTTP_ROUTES,
  openApiPath,
  type ErrorResponse,
  type HttpRoute,
  type SuccessResponse,
} from '@cohort/common';
import { fixRegexFlagPatterns } from './regex-flags';

/** Every operation of the route table as `method /openapi/{path}` (what the document's paths hold). */
export const CONTRACT_OPERATIONS: readonly string[] = HTTP_ROUTES.map(
  (route) => `${route.method} ${openApiPath(route.path)}`,
);

type Responses = RouteConfig['responses'];
type ResponseObject = Responses[string];

const SESSION_COOKIES = {
  'Set-Cookie': {
    description:
      '`token` (access JWT, httpOnly, SameSite=Lax, ~15 min) and the opaque refresh cookie (httpOnly, Path=/api/auth)',
    schema: { type: 'string' as const },
  },
};
const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' as const } },
};

const ACCESS_NOTE: Record<HttpRoute['auth'], string> = {
  public: '',
  session: '',
  'optional-session':
    'The gateway forwards the identity when the access token is valid and forwards the request without one otherwise. ',
  'refresh-cookie': 'Authenticated by the refresh cookie (sent only to /api/auth), not by the access token. ',
};

function successResponse(spec: SuccessResponse): ResponseObject {
  return {
    description: spec.description,
    ...(spec.body ? { content: { 'application/json': { schema: spec.body } } } : {}),
    ...(spec.cookies ? { headers: SESSION_COOKIES } : {}),
  };
}

function errorResponse(spec: ErrorResponse): ResponseObject {
  const codes = spec.codes.map((code) => `\`${code}\``).join(', ');
  return {
    description: `${spec.description}. Codes: ${codes}`,
    content: { 'application/json': { schema: errorBodySchema } },
    ...(spec.retryAfter ? { headers: RETRY_AFTER } : {}),
  };
}

function security(route: HttpRoute): Record<string, string[]>[] {
  if (route.auth === 'session') return [{ cookieAuth: [] }, { bearerAuth: [] }];
  if (route.auth === 'optional-session') return [{ cookieAuth: [] }, { bearerAuth: [] }, {}];
  if (route.auth === 'refresh-cookie') return [{ refreshCookie: [] }];
  return [];
}

/**
 * Builds the OpenAPI 3 document of the public HTTP API from the route table in libs/common (HTTP_ROUTES): the
 * same request schemas the services validate with, and the statuses and bodies the conformance test checks live.
 */
export function buildOpenApiDocument(): ReturnType<OpenApiGeneratorV3['generateDocument']> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'cookieAuth', {
    type: 'apiKey',
    in: 'cookie',
    name: 'token',
    description: 'The access JWT set by register/login/refresh',
  });
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'The same access JWT, for non-browser clients',
  });
  registry.registerComponent('securitySchemes', 'refreshCookie', {
    type: 'apiKey',
    in: 'cookie',
    name: 'refresh_token',
    description: 'The opaque refresh token set by register/login/refresh',
  });

  for (const route of HTTP_ROUTES) {
    const responses: Responses = {};
    for (const [status, spec] of Object.entries(route.success)) responses[status] = successResponse(spec);
    for (const [status, spec] of Object.entries(route.errors)) responses[status] = errorResponse(spec);
    const { params, query, body } = route.request;
    registry.registerPath({
      method: route.method,
      path: openApiPath(route.path),
      operationId: route.operationId,
      tags: [route.tag],
      summary: route.summary,
      description: `${ACCESS_NOTE[route.auth]}${route.description ?? ''}`.trim() || undefined,
      security: security(route),
      request: {
        ...(params ? { params } : {}),
        ...(query ? { query } : {}),
        ...(body ? { body: { required: true, content: { 'application/json': { schema: body } } } } : {}),
      },
      responses,
    });
  }

  const generator = new OpenApiGeneratorV3(registry.definitions);
  const document = generator.generateDocument({
    openapi: '3.0.3',
    info: {
      title: 'cohortGPT API',
      version: '1.0.0',
      description:
        'The public HTTP API behind the gateway, generated from the route table in libs/common ' +
        '(`contracts/http-routes.ts`). Errors are `{ "error": { "code", "message" } }`. Every response echoes ' +
        '`x-request-id` (generated when absent). The Socket.IO contract is described by /api/asyncapi.json.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'auth', description: 'Sessions (served by the auth service)' },
      { name: 'users', description: 'User directory (auth service)' },
      { name: 'blocking', description: 'Blocking other users (chat-api)' },
      { name: 'chats', description: 'Chats and members (chat-api)' },
      { name: 'messages', description: 'Messages and read markers (chat-api)' },
      { name: 'docs', description: 'These documents (the gateway)' },
    ],
  });
  fixRegexFlagPatterns(document);
  return document;
}
