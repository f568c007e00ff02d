import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { importPKCS8, SignJWT, type JSONWebKeySet, type JWTPayload } from 'jose';
import {
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  closeHttpServer,
  generatePemKeyPair,
  type PemKeyPair,
  type TokenDenylist,
} from '@cohort/common';
import { testLogger, type TestKeys } from '@cohort/testkit';
import { loadGatewayConfig, startGateway, type RunningGateway } from '../src';

/** What a probe upstream saw of one request. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type ProbeHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/**
 * A tiny upstream for the gateway's own behaviour (fault injection and header probing): it records every
 * request and, unless a route says otherwise, answers 200 with what it received.
 */
export interface Probe {
  url: string;
  seen: SeenRequest[];
  route(path: string, handler: ProbeHandler): void;
  /** The last request whose path starts with `prefix`. */
  last(prefix?: string): SeenRequest | undefined;
  close(): Promise<void>;
}

export async function startProbe(): Promise<Probe> {
  const seen: SeenRequest[] = [];
  const routes = new Map<string, ProbeHandler>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const handler = routes.get(path);
      if (handler) return handler(req, res, body);
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('X-Powered-By', 'probe');
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    route: (path, handler) => routes.set(path, handler),
    last: (prefix = '/') => [...seen].reverse().find((r) => r.url.startsWith(prefix)),
    async close() {
      server.closeAllConnections();
      await closeHttpServer(server);
    },
  };
}

export interface TokenOptions {
  sub?: string;
  sid?: string;
  jti?: string;
  /** Seconds from now. */
  expiresIn?: number;
  issuer?: string;
  audience?: string;
  kid?: string;
  /** Another ES256 key (forgery). */
  key?: PemKeyPair;
  extra?: JWTPayload;
}

/** Signs an access token the way auth does (ES256, kid = JWK thumbprint, iss/aud/sub/sid/jti). */
export async function accessToken(keys: TestKeys, options: TokenOptions = {}): Promise<string> {
  const pem = options.key ?? keys.access;
  const key = await importPKCS8(pem.privateKeyPem, 'ES256');
  const kid = options.kid ?? keys.accessJwks.keys[0]?.kid ?? 'missing';
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: options.sid ?? randomUUID(), ...options.extra })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
    .setSubject(options.sub ?? '665f1c2b9a1e4b3c2d1f0a9e')
    .setJti(options.jti ?? randomUUID())
    .setIssuer(options.issuer ?? ACCESS_TOKEN_ISSUER)
    .setAudience(options.audience ?? ACCESS_TOKEN_AUDIENCE)
    .setIssuedAt(now - 10)
    .setExpirationTime(now + (options.expiresIn ?? 900))
    .sign(key);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned token (`alg: none`) with otherwise valid claims. */
export function unsignedToken(keys: TestKeys): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'none', typ: 'JWT', kid: keys.accessJwks.keys[0]?.kid };
  const payload = {
    sub: '665f1c2b9a1e4b3c2d1f0a9e',
    sid: 's',
    jti: 'j',
    iss: ACCESS_TOKEN_ISSUER,
    aud: ACCESS_TOKEN_AUDIENCE,
    iat: now,
    exp: now + 900,
  };
  return `${b64url(header)}.${b64url(payload)}.`;
}

/** The classic key-confusion forgery: HS256 with the verifier's public key as the HMAC secret. */
export async function hmacWithPublicKey(keys: TestKeys): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: 's' })
    .setProtectedHeader({ alg: 'HS256', kid: keys.accessJwks.keys[0]?.kid, typ: 'JWT' })
    .setSubject('665f1c2b9a1e4b3c2d1f0a9e')
    .setJti('j')
    .setIssuer(ACCESS_TOKEN_ISSUER)
    .setAudience(ACCESS_TOKEN_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + 900)
    .sign(new TextEncoder().encode(keys.access.publicKeyPem));
}

export const otherAccessKey = (): PemKeyPair => generatePemKeyPair('ES256');

export interface TestGatewayOptions {
  keys: TestKeys;
  authUrl: string;
  chatApiUrl: string;
  realtimeUrl?: string;
  /** Verify against a JWKS URL instead of the local public key; '' means the default (auth's). */
  jwksUrl?: string;
  env?: Record<string, string>;
  denylist?: TokenDenylist;
}

export interface TestGateway extends RunningGateway {
  url: string;
}

/** The real gateway, configured from an environment exactly as main.ts does, on a free loopback port. */
export async function startTestGateway(options: TestGatewayOptions): Promise<TestGateway> {
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    AUTH_URL: options.authUrl,
    CHAT_API_URL: options.chatApiUrl,
    INTERNAL_SIGNING_KEY: options.keys.gatewayIdentity.privateKeyPem,
    ...(options.jwksUrl === undefined
      ? { JWT_PUBLIC_KEY: options.keys.access.publicKeyPem }
      : options.jwksUrl
        ? { JWKS_URL: options.jwksUrl }
        : {}),
    ...(options.realtimeUrl ? { REALTIME_URL: options.realtimeUrl } : {}),
    ...options.env,
  };
  const config = loadGatewayConfig(env);
  const gateway = await startGateway({
    config,
    logger: testLogger('gateway'),
    ...(options.denylist ? { shared: { denylist: options.denylist } } : {}),
  });
  return Object.assign(gateway, { url: `http://127.0.0.1:${gateway.port}` });
}

export function jwksOf(...sets: JSONWebKeySet[]): JSONWebKeySet {
  return { keys: sets.flatMap((s) => s.keys) };
}
