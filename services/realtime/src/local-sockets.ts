import type { RealtimeSocket } from './socket-types';

/** A key's sockets: most sessions (one tab) and handshakes have one, which then needs no Set of its own. */
type Sockets = RealtimeSocket | Set<RealtimeSocket>;

/**
 * This replica's own sockets by session and by user, including sockets still in the handshake (between the
 * membership fetch and `connection`), so bus events reach them without asking other replicas anything.
 */
export class LocalSockets {
  private readonly bySession = new Map<string, Sockets>();
  private readonly handshaking = new Map<string, Sockets>();

  addSession(socket: RealtimeSocket, sessionId: string): void {
    add(this.bySession, sessionId, socket);
  }

  removeSession(socket: RealtimeSocket, sessionId: string): void {
    remove(this.bySession, sessionId, socket);
  }

  session(sessionId: string): RealtimeSocket[] {
    return list(this.bySession.get(sessionId));
  }

  /** Every session with a socket here, with those sockets. */
  sessions(): [string, RealtimeSocket[]][] {
    return [...this.bySession].map(([id, sockets]) => [id, list(sockets)]);
  }

  startHandshake(socket: RealtimeSocket, userId: string): void {
    add(this.handshaking, userId, socket);
  }

  endHandshake(socket: RealtimeSocket, userId: string): void {
    remove(this.handshaking, userId, socket);
  }

  /** Sockets of `userId` still in the handshake. */
  handshakingOf(userId: string): RealtimeSocket[] {
    return list(this.handshaking.get(userId));
  }
}

function list(sockets: Sockets | undefined): RealtimeSocket[] {
  if (sockets === undefined) return [];
  return sockets instanceof Set ? [...sockets] : [sockets];
}

function add(map: Map<string, Sockets>, key: string, socket: RealtimeSocket): void {
  const sockets = map.get(key);
  if (sockets === undefined) map.set(key, socket);
  else if (sockets instanceof Set) sockets.add(socket);
  else if (sockets !== socket) map.set(key, new Set([sockets, socket]));
}

function remove(map: Map<string, Sockets>, key: string, socket: RealtimeSocket): void {
  const sockets = map.get(key);
  if (sockets === socket) {
    map.delete(key);
  } else if (sockets instanceof Set && sockets.delete(socket)) {
    if (sockets.size === 1) for (const only of sockets) map.set(key, only);
  }
}
