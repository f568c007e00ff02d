/**
 * Why a handshake was refused (docs/socket-events.md, docs/security.md): `unauthorized` (no, bad, expired or revoked
 * token, or a foreign Origin), `too_many_connections` (the user already holds `MAX_SOCKETS_PER_USER` sockets),
 * `unavailable` (we, not the client, are at fault: JWKS, denylist or chat-api unreachable) and `overloaded` (the
 * replica already has `MAX_CONCURRENT_HANDSHAKES` in progress and `HANDSHAKE_QUEUE` waiting, or this handshake waited
 * `HANDSHAKE_QUEUE_WAIT_MS` for its place).
 */
export type HandshakeRefusalCode = 'unauthorized' | 'unavailable' | 'too_many_connections' | 'overloaded';

/** What the client's `connect_error` carries besides the message (Socket.IO sends `err.data` along). */
export interface HandshakeRefusalData {
  code: HandshakeRefusalCode;
  /** True when the same handshake, tried again after a backoff, may succeed with nothing changed on the client. */
  retryable: boolean;
}

const RETRYABLE: Readonly<Record<HandshakeRefusalCode, boolean>> = {
  unauthorized: false,
  too_many_connections: false,
  unavailable: true,
  overloaded: true,
};

/** A refusal passed to Socket.IO's `next`: the client sees `connect_error` with `message` = code and this `data`. */
export class HandshakeRefusal extends Error {
  readonly data: HandshakeRefusalData;

  constructor(readonly code: HandshakeRefusalCode) {
    super(code);
    this.name = 'HandshakeRefusal';
    this.data = { code, retryable: RETRYABLE[code] };
  }
}

/**
 * One frozen refusal per code, made once: Socket.IO only reads `message` and `data`, and a reconnect storm refuses
 * tens of thousands of handshakes, whose stack captures showed in the survivors' profiles (2.3 % of their CPU).
 */
const REFUSALS: Readonly<Record<HandshakeRefusalCode, HandshakeRefusal>> = {
  unauthorized: Object.freeze(new HandshakeRefusal('unauthorized')),
  unavailable: Object.freeze(new HandshakeRefusal('unavailable')),
  too_many_connections: Object.freeze(new HandshakeRefusal('too_many_connections')),
  overloaded: Object.freeze(new HandshakeRefusal('overloaded')),
};

export const refusal = (code: HandshakeRefusalCode): HandshakeRefusal => REFUSALS[code];
