import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { isInternalHeader, isLocalAddress, REQUEST_ID_HEADER, requestIdFrom } from '@cohort/common';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) belong to the client's connection, not to the upstream one.
 * `connection: close` from a client would otherwise defeat the upstream keep-alive pool.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer'];

/**
 * Removes every header a client must not be able to set (forwarded identities, `x-user-id`,
 * `x-internal-*`…). Runs before anything is authenticated or forwarded, so nothing downstream can
 * mistake a client's header for the gateway's.
 */
export function stripInternalHeaders(req: IncomingMessage): string[] {
  const removed: string[] = [];
  for (const name of Object.keys(req.headers)) {
    if (isInternalHeader(name)) {
      delete req.headers[name];
      removed.push(name);
    }
  }
  return removed;
}

function first(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  const value = s?.split(',')[0]?.trim();
  return value ? value : undefined;
}

function last(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v.join(',') : v;
  const value = s?.split(',').at(-1)?.trim();
  return value ? value : undefined;
}

/**
 * The client's address as the edge saw it. When the gateway is the edge (`trustProxy` false, embedded mode)
 * it is the socket's peer, whatever the client wrote in X-Forwarded-For. Behind a proxy (the cluster's nginx,
 * `trustProxy` true) it is the last address that proxy wrote, believed only when the peer is a local address
 * (the proxy itself) and exactly one hop deep: entries further left were written by the client.
 */
export function clientAddressOf(req: IncomingMessage, trustProxy: boolean): string | undefined {
  const peer = req.socket.remoteAddress;
  if (!trustProxy || !peer || !isLocalAddress(peer)) return peer;
  const told = last(req.headers['x-forwarded-for']) ?? first(req.headers['x-real-ip']);
  return told && isIP(told) ? told : peer;
}

/**
 * Prepares the headers of a request about to be proxied: hop-by-hop headers dropped (except the upgrade
 * handshake's), X-Forwarded-For and X-Real-IP overwritten with the client's address (never extended: what a
 * client wrote there would otherwise become the address the services' per-address limits key on, docs/security.md), and X-Forwarded-Proto/Host kept when the edge set them, else taken from this connection. Proto stays
 * `http`/`https` for websockets too, so the upstream's own-origin check compares like with like.
 */
export function prepareForwardedHeaders(req: IncomingMessage, trustProxy: boolean, upgrade = false): void {
  for (const name of HOP_BY_HOP) {
    if (upgrade && name === 'connection') continue;
    delete req.headers[name];
  }
  const client = clientAddressOf(req, trustProxy);
  if (client) {
    req.headers['x-forwarded-for'] = client;
    req.headers['x-real-ip'] = client;
  } else {
    delete req.headers['x-forwarded-for'];
    delete req.headers['x-real-ip'];
  }
  const encrypted = Boolean((req.socket as Partial<TLSSocket>).encrypted);
  req.headers['x-forwarded-proto'] =
    first(req.headers['x-forwarded-proto']) ?? (encrypted ? 'https' : 'http');
  const host = first(req.headers['x-forwarded-host']) ?? req.headers.host;
  if (host) req.headers['x-forwarded-host'] = host;
}

/** Request id for paths that bypass pino-http (websocket upgrades): accepted or generated, then forwarded. */
export function ensureRequestId(req: IncomingMessage): string {
  const id = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
  req.headers[REQUEST_ID_HEADER] = id;
  return id;
}
