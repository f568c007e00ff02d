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

/** A user who had sockets on a replica that died, as the sweep removed them. */
export interface SweptUser {
  userId: string;
  /** The dead replica's sockets of this user (their places in the connection quota go with them). */
  socketIds: string[];
  /** The user's chats, so that an offline notice can be addressed. */
  chatIds: string[];
  /** No live socket of the user is left anywhere: they went offline with the replica. */
  offline: boolean;
}

/** What a sweep claimed: the replicas found dead, and the users whose sockets went with them. */
export interface Sweep {
  /** Instance ids of the replicas this sweep claimed (their other per-replica records can go too). */
  replicas: string[];
  users: SweptUser[];
}

/**
 * Online state aggregated over every socket of a user on every replica. A user is online while any of their
 * sockets is alive anywhere. A replica says it is alive with `beat`; when one stops (it died without a word), a
 * survivor's `sweep` removes its sockets and reports the users that went offline with it. Socket entries also
 * carry a long expiry, renewed a slice at a time (presence/renewal.ts), for what no sweep reaches.
 */
export interface PresenceStore {
  /** Records a socket; resolves true when it is the user's first live socket (they just came online). */
  add(entry: PresenceEntry): Promise<boolean>;
  /** Forgets a socket; resolves true when the user has no live socket left anywhere (they just went offline). */
  remove(userId: string, socketId: string): Promise<boolean>;
  /**
   * Heartbeat: this replica is alive. Resolves false when the store had no record of it (Redis lost its data, or
   * the other replicas swept this one after it stalled): every socket here must then be renewed, with `all`.
   */
  beat(): Promise<boolean>;
  /**
   * Renews the entries of these users' sockets here: one slice of the users each heartbeat; with `all`, `users` is
   * every user here and replaces what the store knows of this replica.
   */
  renew(users: readonly PresenceUser[], all: boolean): Promise<void>;
  /** Claims replicas that stopped beating and removes their sockets. */
  sweep(): Promise<Sweep>;
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
    async beat() {
      return true;
    },
    async renew() {},
    async sweep() {
      return { replicas: [], users: [] };
    },
    async online(userIds) {
      return userIds.filter((id) => (sockets.get(id)?.size ?? 0) > 0);
    },
  };
}
