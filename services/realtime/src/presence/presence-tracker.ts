import type { Logger } from '@cohort/common';
import type { BlockPartners } from '../block-partners';
import type { ConnectionQuota } from '../handshake/connection-quota';
import type { RealtimeMetrics } from '../metrics';
import { chatRoom, userRoom, type RealtimeServer, type RealtimeSocket } from '../socket-types';
import type { PresenceStore, PresenceUser } from './presence.store';

export interface PresenceTrackerDeps {
  io: RealtimeServer;
  store: PresenceStore;
  /** The per-user socket cap, whose places the same heartbeat keeps alive. */
  connections?: Pick<ConnectionQuota, 'refresh'>;
  /** Users who never get the announcing user's presence (docs/security.md "Blocking"). */
  blockPartners: BlockPartners;
  metrics: RealtimeMetrics;
  logger: Logger;
  /** How often this replica re-asserts its sockets and sweeps dead replicas. */
  heartbeatMs: number;
}

export interface PresenceTracker {
  /** A socket connected: its user comes online in their chats if it is their first socket anywhere. */
  add(socket: RealtimeSocket): void;
  /** A socket is disconnecting (its rooms still joined): its user goes offline if it was their last socket. */
  remove(socket: RealtimeSocket): void;
  /** Starts the heartbeat and the dead-replica sweep. */
  start(): void;
  /**
   * Graceful drain: stop refreshing, and leave this replica's entries in place so clients reconnecting elsewhere
   * stay online without a flicker; the sweep of the other replicas reports those who do not come back.
   */
  drain(): void;
}

const chatIdsOf = (socket: RealtimeSocket): string[] =>
  [...socket.rooms].filter((room) => room.startsWith('chat:')).map((room) => room.slice('chat:'.length));

/**
 * Presence: `presence {userId, online}` goes to the rooms of the user's chats when their first socket on any
 * replica connects and when their last one leaves (several tabs, several replicas: one online, one offline).
 * The announcement crosses replicas through the adapter; it is rare next to messages, so it is off the hot path.
 * The heartbeat re-asserts the sockets of the namespace: presence keeps no per-socket state of its own.
 */
export function createPresenceTracker({
  io,
  store,
  connections,
  blockPartners,
  metrics,
  logger,
  heartbeatMs,
}: PresenceTrackerDeps): PresenceTracker {
  const sockets = io.of('/').sockets;
  let draining = false;
  let timer: NodeJS.Timeout | undefined;

  // The partners are those this replica knows for the user: the replica holding the user's socket announces, and
  // the adapter applies except() by user room on every replica, so the partners' sockets anywhere are skipped.
  // A sweep (the user's replica died) knows none: that offline notice reaches everyone in the chats.
  const announce = (
    userId: string,
    chatIds: readonly string[],
    online: boolean,
    partners: ReadonlySet<string> = blockPartners.of(userId),
  ) => {
    if (chatIds.length === 0) return;
    const except = [userRoom(userId), ...[...partners].map(userRoom)];
    io.to(chatIds.map(chatRoom)).except(except).emit('presence', { userId, online });
    metrics.eventsOut.inc({ event: 'presence' });
  };

  const beat = async () => {
    // By user: a user's sockets here are in the same chats, so their chat ids are read once.
    const users = new Map<string, PresenceUser>();
    for (const socket of sockets.values()) {
      const { userId } = socket.data;
      const user = users.get(userId);
      if (user) user.socketIds.push(socket.id);
      else users.set(userId, { userId, socketIds: [socket.id], chatIds: chatIdsOf(socket) });
    }
    const list = [...users.values()];
    await Promise.all([store.refresh(list), connections?.refresh(list)]);
    for (const { userId, chatIds } of await store.sweep()) announce(userId, chatIds, false);
  };

  return {
    add(socket) {
      const { userId } = socket.data;
      store.add({ userId, socketId: socket.id, chatIds: chatIdsOf(socket) }).then(
        (first) => {
          if (first) announce(userId, chatIdsOf(socket), true);
        },
        (err: unknown) => logger.warn({ err, userId }, 'presence add failed'),
      );
    },
    remove(socket) {
      if (draining) return;
      const { userId } = socket.data;
      const chatIds = chatIdsOf(socket);
      // Read now: the entry goes with the user's last socket here, before the store answers.
      const partners = blockPartners.of(userId);
      store.remove(userId, socket.id).then(
        (last) => {
          if (last) announce(userId, chatIds, false, partners);
        },
        (err: unknown) => logger.warn({ err, userId }, 'presence remove failed'),
      );
    },
    start() {
      if (timer) return;
      timer = setInterval(() => {
        beat().catch((err: unknown) => logger.warn({ err }, 'presence heartbeat failed'));
      }, heartbeatMs);
      timer.unref();
    },
    drain() {
      draining = true;
      clearInterval(timer);
      timer = undefined;
    },
  };
}
