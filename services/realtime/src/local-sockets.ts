import type { RealtimeSocket } from './socket-types';

/**
 * This replica's own sockets by session and by user, including sockets still in the handshake (between the
 * membership fetch and `connection`), so bus events reach them without asking other replicas anything.
 */
export class LocalSockets {
  private readonly bySession = new Map<string, Set<RealtimeSocket>>();
  private readonly handshaking = new Map<string, Set<RealtimeSocket>>();

  addSession(socket: RealtimeSocket, sessionId: string): void {
    add(this.bySession, sessionId, socket);
  }

  removeSession(socket: RealtimeSocket, sessionId: string): void {
    remove(this.bySession, sessionId, socket);
  }

  session(sessionId: string): RealtimeSocket[] {
    return [...(this.bySession.get(sessionId) ?? [])];
  }

  /** Every session with a socket here, with those sockets. */
  sessions(): [string, RealtimeSocket[]][] {
    return [...this.bySession].map(([id, set]) => [id, [...set]]);
  }

  startHandshake(socket: RealtimeSocket, userId: string): void {
    add(this.handshaking, userId, socket);
  }

  endHandshake(socket: RealtimeSocket, userId: string): void {
    remove(this.handshaking, userId, socket);
  }

  /** Sockets of `userId` still in the handshake. */
  handshakingOf(userId: string): RealtimeSocket[] {
    return [...(this.handshaking.get(userId) ?? [])];
  }
}

function add<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
}

function remove<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
