/** One live socket as presence sees it. */
export interface PresenceEntry {
  userId: string;
  socketId: string;
  /** The user's chats, so that an offline notice can still be addressed after the replica that held them died. */
  chatIds: string[];
}

/** The sockets one replica holds for one user, as its heartbeat re-asserts them. */
export interface PresenceUser {
  userId: string;
  socketIds: string[];
  chatIds: string[];
}

/** A user whose last socket vanished with a crashed replica. */
export interface OfflineUser {
  userId: string;
  chatIds: string[];
}

/**
 * Online state aggregated over every socket of a user on every replica. A user is online while any of their
 * sockets is alive anywhere; entries carry a TTL refreshed by `refresh`, so the sockets of a replica that
 * died without a word expire, and `sweep` reports the users that went offline with it.
 */
export interface PresenceStore {
  /** Records a socket; resolves true when it is the user's first live socket (they just came online). */
  add(entry: PresenceEntry): Promise<boolean>;
  /** Forgets a socket; resolves true when the user has no live socket left anywhere (they just went offline). */
  remove(userId: string, socketId: string): Promise<boolean>;
  /** Heartbeat: re-asserts every socket this replica holds, grouped by user. */
  refresh(users: readonly PresenceUser[]): Promise<void>;
  /** Claims replicas that stopped refreshing and removes their sockets. */
  sweep(): Promise<OfflineUser[]>;
  /** The subset of `userIds` online now. */
  online(userIds: readonly string[]): Promise<string[]>;
}

/** Single-process presence for the embedded mode (one replica: nothing to expire or sweep). */
export function createMemoryPresenceStore(): PresenceStore {
  const sockets = new Map<string, Set<string>>();
  return {
    async add({ userId, socketId }) {
      let set = sockets.get(userId);
      if (!set) {
        set = new Set();
        sockets.set(userId, set);
      }
      const first = set.size === 0;
      set.add(socketId);
      return first;
    },
    async remove(userId, socketId) {
      const set = sockets.get(userId);
      if (!set) return true;
      set.delete(socketId);
      if (set.size > 0) return false;
      sockets.delete(userId);
      return true;
    },
    async refresh() {},
    async sweep() {
      return [];
    },
    async online(userIds) {
      return userIds.filter((id) => (sockets.get(id)?.size ?? 0) > 0);
    },
  };
}
