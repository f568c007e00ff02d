import { randomUUID } from 'node:crypto';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { pinoHttp, type HttpLogger } from 'pino-http';
import type { Logger } from '../logger';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Loopback, link-local and private networks: where the edge and the services talk to each other. */
const LOCAL_NETWORKS = new BlockList();
for (const [net, prefix] of [
  ['127.0.0.0', 8],
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['169.254.0.0', 16],
] as const)
  LOCAL_NETWORKS.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const)
  LOCAL_NETWORKS.addSubnet(net, prefix, 'ipv6');

/** Whether `address` (IPv4, IPv6 or IPv4-mapped IPv6) is loopback or on a private or link-local network. */
export function isLocalAddress(address: string): boolean {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1];
  if (mapped) return LOCAL_NETWORKS.check(mapped, 'ipv4');
  if (isIPv4(address)) return LOCAL_NETWORKS.check(address, 'ipv4');
  if (isIPv6(address)) return LOCAL_NETWORKS.check(address, 'ipv6');
  return false;
}

/**
 * Express `trust proxy` for a service behind exactly one forwarder (the edge): the peer is believed about the
 * client only when it is local, and nothing further down X-Forwarded-For is (hop 0 is the socket's peer). With
 * "trust every local address", a client on a local network could name any address it likes and dodge the
 * per-address limits (docs/security.md).
 */
export function trustOneLocalHop(address: string, hop: number): boolean {
  return hop === 0 && isLocalAddress(address);
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A client-sent request id if it is sane, else a fresh UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && SAFE_REQUEST_ID.test(value) ? value : randomUUID();
}

/**
 * pino-http with the request id: accepted from `x-request-id` or generated, stored on `req.id`,
 * written back into the request headers (so proxies forward it) and echoed on the response.
 */
export function createHttpLogger(logger: Logger): HttpLogger | RequestHandler {
  // With request logging off (LOG_LEVEL above info) pino-http would still build a child logger and
  // serializers per request (11% of chat-api's CPU in the benchmark): keep only the request id, and create
  // the request's child logger when something actually logs.
  if (!logger.isLevelEnabled('info')) return requestIdOnly(logger);
  return pinoHttp({
    logger,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const id = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
      req.headers[REQUEST_ID_HEADER] = id;
      res.setHeader(REQUEST_ID_HEADER, id);
      return id;
    },
    customLogLevel(_req, res, err) {
      if (err || res.statusCode >= 500) return 'error';
      if (res.statusCode >= 400) return 'warn';
      return 'info';
    },
    autoLogging: {
      ignore: (req) => req.url === '/healthz' || req.url === '/metrics' || req.url === '/readyz',
    },
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        url: req.url,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
}

function requestIdOnly(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const id = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    req.headers[REQUEST_ID_HEADER] = id;
    res.setHeader(REQUEST_ID_HEADER, id);
    req.id = id;
    let child: Logger | undefined;
    Object.defineProperty(req, 'log', {
      configurable: true,
      get: () => (child ??= logger.child({ req: { id, method: req.method, url: req.url } })),
    });
    next();
  };
}
