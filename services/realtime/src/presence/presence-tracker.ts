import type { Logger } from '@cohort/common';
import type { BlockPartners } from '../block-partners';
import type { ConnectionQuota } from '../handshake/connection-quota';
import type { RealtimeMetrics } from '../metrics';
import { chatRoom, userRoom, type RealtimeServer, type RealtimeSocket } from '../socket-types';
import type { PresenceStore, PresenceUser } from './presence.store';
import { RENEWAL_SLICES, sliceOf } from './renewal';

export interface PresenceTrackerDeps {
  io: RealtimeServer;
  store: PresenceStore;
  /** The per-user socket cap, whose places the same heartbeat renews and the same sweep gives back. */
  connections?: Pick<ConnectionQuota, 'refresh' | 'forget'>;
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
 * The heartbeat says this replica is alive, renews one slice of its users' entries (all of them when the store had
 * lost this replica), retries the removals Redis did not take and sweeps the replicas that died.
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

  // By user: a user's sockets here are in the same chats, so their chat ids are read once.
  const usersHere = (slice: number | undefined): PresenceUser[] => {
    const users = new Map<string, PresenceUser>();
    for (const socket of sockets.values()) {
      const { userId } = socket.data;
      const user = users.get(userId);
      if (user) user.socketIds.push(socket.id);
      else if (slice === undefined || sliceOf(userId) === slice)
        users.set(userId, { userId, socketIds: [socket.id], chatIds: chatIdsOf(socket) });
    }
    return [...users.values()];
  };

  // Writes Redis did not take, retried by the next heartbeat: a user who came must not look offline, nor one who left
  // online, until their slice is renewed or their entry expires.
  const unadded = new Set<string>();
  const unremoved: { userId: string; socketId: string; chatIds: string[] }[] = [];

  const add = (socket: RealtimeSocket) => {
    const { userId } = socket.data;
    store.add({ userId, socketId: socket.id, chatIds: chatIdsOf(socket) }).then(
      (first) => {
        if (first) announce(userId, chatIdsOf(socket), true);
      },
      (err: unknown) => {
        logger.warn({ err, userId }, 'presence add failed: retried at the next heartbeat');
        unadded.add(socket.id);
      },
    );
  };
  const remove = (userId: string, socketId: string, chatIds: string[], partners: ReadonlySet<string>) => {
    store.remove(userId, socketId).then(
      (last) => {
        if (last) announce(userId, chatIds, false, partners);
      },
      (err: unknown) => {
        logger.warn({ err, userId }, 'presence remove failed: retried at the next heartbeat');
        unremoved.push({ userId, socketId, chatIds });
      },
    );
  };

  let turn = 0;
  const beat = async () => {
    const intact = await store.beat();
    const due = usersHere(intact ? turn : undefined);
    turn = (turn + 1) % RENEWAL_SLICES;
    await Promise.all([store.renew(due, !intact), connections?.refresh(due)]);
    for (const socketId of unadded) {
      unadded.delete(socketId);
      // A socket that left meanwhile is not added back: its removal is on its way.
      const socket = sockets.get(socketId);
      if (socket) add(socket);
    }
    for (const { userId, socketId, chatIds } of unremoved.splice(0))
      remove(userId, socketId, chatIds, blockPartners.of(userId));
    const swept = await store.sweep();
    for (const { userId, chatIds, offline } of swept.users) if (offline) announce(userId, chatIds, false);
    await connections?.forget(swept);
  };

  return {
    add,
    remove(socket) {
      if (draining) return;
      const { userId } = socket.data;
      const chatIds = chatIdsOf(socket);
      // Read now: the entry goes with the user's last socket here, before the store answers.
      remove(userId, socket.id, chatIds, blockPartners.of(userId));
    },
    start() {
      if (timer) return;
      const beatLogged = () =>
        beat().catch((err: unknown) => logger.warn({ err }, 'presence heartbeat failed'));
      // At once too: the replica is among the live ones before its first handshake, so should it die in that handshake
      // (before presence recorded anything), a survivor's sweep still claims it and the connection cap's list.
      void beatLogged();
      timer = setInterval(() => void beatLogged(), heartbeatMs);
      timer.unref();
    },
    drain() {
      draining = true;
      clearInterval(timer);
      timer = undefined;
    },
  };
}
