import type { RealtimeSocket } from '../socket-types';

// What a socket's `handshake.auth` holds once verified (one shared empty object).
const NO_AUTH = Object.freeze({});
const CREDENTIAL_HEADER = /^(cookie|authorization)$/i;

/**
 * Once verified, the claims are all a socket needs: Socket.IO and Engine.IO keep the handshake (its `auth`, and
 * the request with its headers) for the connection's whole life, so the ~0.8 KiB token it came with, in `auth`
 * or in the cookie, would stay in memory as long.
 */
export function forgetCredentials(socket: RealtimeSocket): void {
  socket.handshake.auth = NO_AUTH;
  const { headers } = socket.handshake;
  // Assigned rather than deleted: a deleted property would turn the headers object into a larger dictionary.
  if (headers.cookie !== undefined) headers.cookie = undefined;
  if (headers.authorization !== undefined) headers.authorization = undefined;
  const raw = socket.request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) if (CREDENTIAL_HEADER.test(raw[i]!)) raw[i + 1] = '';
}
