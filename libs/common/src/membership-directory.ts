import type { Redis } from 'ioredis';
import { membershipsSchema, type Memberships } from './contracts';
import type { Logger } from './logger';
import { redisHealth } from './redis';
import { redisRoundTrips } from './redis-round-trips';

/**
 * A user's memberships answer (the chats whose rooms their sockets join, their block partners) kept in Redis, so a
 * returning user's handshake is answered by one Redis read instead of a request to chat-api and its store queries
 * (a reconnect storm is all returning users). chat-api owns it: it fills entries from the store when it answers a
 * lookup, and wraps every change to memberships or blocks in `change`. realtime only reads.
 *
 * An entry is never older than the store, whatever the interleaving (docs/security.md, "Membership directory"):
 * - `change` deletes the users' entries and bumps their version before the write and again after it, and keeps a
 *   pending count while the write runs;
 * - a fill is refused unless the version it read before the store reads is still current and nothing is pending,
 *   so a lookup that read the store before a change cannot store what it read;
 * - if chat-api dies between its write and the second step, the pending count expires after `pendingMs` with no
 *   entry in place, and the next lookup reads the store;
 * - with Redis away from chat-api the change itself goes on, as it did before the directory. When the second step
 *   could not be taken either, the directory's epoch is bumped as soon as Redis answers again, and so it is at every
 *   chat-api start (one may have died owing a bump): entries carry the epoch they were filled under, and a reader
 *   takes only the current epoch's.
 * Each user's keys share one hash tag, so every script touches one slot (Redis Cluster).
 */
export interface MembershipDirectory {
  /** The entries held for `userIds` (a user left out: none held). Redis failing or unusable: an empty map. */
  read(userIds: readonly string[]): Promise<Map<string, Memberships>>;
  /** Taken before the store reads a fill comes from; undefined when Redis is unusable (then nothing is filled). */
  versions(userIds: readonly string[]): Promise<DirectoryVersions | undefined>;
  /** Stores what the store answered, for the users whose version is unchanged and nothing pending. Never rejects. */
  fill(entries: ReadonlyMap<string, Memberships>, versions: DirectoryVersions): Promise<void>;
  /** Runs `write`, a change to these users' memberships or blocks, between the two invalidation steps. */
  change<T>(userIds: readonly string[], write: () => Promise<T>): Promise<T>;
  /** Makes every entry filled so far unreadable (chat-api's start). Never rejects: retried until Redis takes it. */
  invalidateAll(): Promise<void>;
  /** Stops the retry timer. */
  close(): void;
}

/** What a fill needs from before its store reads: the directory's epoch and each user's version. */
export interface DirectoryVersions {
  epoch: string;
  byUser: ReadonlyMap<string, string>;
}

export interface MembershipDirectoryOptions {
  redis: Redis;
  logger: Logger;
  /** How long a filled entry is kept (chat-api's setting); 0 or absent fills nothing: a reader (realtime) leaves it out. */
  ttlMs?: number;
  /** How long a change's pending mark outlives a chat-api that died in the middle of it. */
  pendingMs?: number;
  /** How often an epoch bump Redis did not take is tried again. */
  retryMs?: number;
  prefix?: string;
}

// KEYS: entry, version, pending. ARGV: pending ms, version ms.
const BEGIN = `
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
return 1`;
// KEYS: entry, version, pending. ARGV: version ms, '1' when BEGIN counted this change as pending.
const END = `
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
if ARGV[2] == '1' and redis.call('DECR', KEYS[3]) <= 0 then redis.call('DEL', KEYS[3]) end
return 1`;
// KEYS: entry, version, pending. ARGV: version read before the store reads, entry (epoch|JSON), entry ms.
const FILL = `
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

export function createMembershipDirectory({
  redis,
  logger,
  ttlMs = 0,
  pendingMs = 60_000,
  retryMs = 500,
  prefix = 'cohort:directory:',
}: MembershipDirectoryOptions): MembershipDirectory {
  const health = redisHealth(redis);
  const roundTrips = redisRoundTrips(redis);
  const epochKey = `${prefix}epoch`;
  const keys = (userId: string) => {
    const base = `${prefix}{${userId}}:`;
    return [`${base}entry`, `${base}version`, `${base}pending`] as const;
  };
  // A version outlives any entry filled under it; one that expired reads as '0', which only refuses more fills.
  const versionMs = ttlMs + pendingMs;

  const step = async (script: string, userIds: readonly string[], args: Array<string | number>) => {
    if (!health.usable()) throw new Error('Redis unusable');
    const pipeline = redis.pipeline();
    for (const userId of userIds) pipeline.eval(script, 3, ...keys(userId), ...args);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err !== null);
    if (failed?.[0] || results.length !== userIds.length)
      throw failed?.[0] ?? new Error('no answer from Redis');
  };

  // An epoch bump owed to the readers (a change not recorded, or the start): tried until Redis takes it.
  let retry: NodeJS.Timeout | undefined;
  const bumpEpoch = async (): Promise<void> => {
    try {
      if (!health.usable()) throw new Error('Redis unusable');
      await redis.incr(epochKey);
      clearInterval(retry);
      retry = undefined;
    } catch (err) {
      if (retry) return;
      logger.warn({ err }, 'membership directory: epoch not bumped yet; retrying');
      retry = setInterval(() => void bumpEpoch(), retryMs);
      retry.unref();
    }
  };
  /**
   * GET of the epoch, then one GET per key, in one round trip (shared with this turn's other commands: a handshake's
   * connection cap); undefined when Redis is unusable or fails.
   */
  const readWithEpoch = async (keysToRead: readonly string[]) => {
    if (!health.usable()) return undefined;
    try {
      const results = await roundTrips.send((pipeline) => {
        pipeline.get(epochKey);
        for (const key of keysToRead) pipeline.get(key);
      });
      const [epochErr, epoch] = results[0] ?? [new Error('no answer from Redis')];
      if (epochErr) throw epochErr;
      return {
        epoch: typeof epoch === 'string' ? epoch : '0',
        values: keysToRead.map((_, i) => {
          const [err, value] = results[i + 1] ?? [new Error('no answer')];
          return err ? null : typeof value === 'string' ? value : undefined;
        }),
      };
    } catch (err) {
      logger.warn({ err }, 'membership directory unreadable: lookups go to chat-api');
      return undefined;
    }
  };

  return {
    async read(userIds) {
      const held = new Map<string, Memberships>();
      if (userIds.length === 0) return held;
      const found = await readWithEpoch(userIds.map((userId) => keys(userId)[0]));
      if (!found) return held;
      const current = `${found.epoch}|`;
      userIds.forEach((userId, i) => {
        const value = found.values[i];
        if (typeof value !== 'string' || !value.startsWith(current)) return;
        try {
          const parsed = membershipsSchema.safeParse(JSON.parse(value.slice(current.length)));
          if (parsed.success) held.set(userId, parsed.data);
        } catch {
          // Not JSON: treated as not held (the lookup goes to chat-api, whose fill replaces it).
        }
      });
      return held;
    },
    async versions(userIds) {
      if (userIds.length === 0 || ttlMs <= 0) return undefined;
      const found = await readWithEpoch(userIds.map((userId) => keys(userId)[1]));
      if (!found) return undefined;
      const byUser = new Map<string, string>();
      userIds.forEach((userId, i) => {
        const value = found.values[i];
        if (value !== null) byUser.set(userId, value ?? '0');
      });
      return { epoch: found.epoch, byUser };
    },
    async fill(entries, { epoch, byUser }) {
      if (ttlMs <= 0) return;
      const pipeline = redis.pipeline();
      let count = 0;
      for (const [userId, entry] of entries) {
        const version = byUser.get(userId);
        if (version === undefined) continue;
        pipeline.eval(FILL, 3, ...keys(userId), version, `${epoch}|${JSON.stringify(entry)}`, ttlMs);
        count += 1;
      }
      if (count === 0) return;
      // An entry not filled only costs its user's next handshake a lookup.
      await pipeline
        .exec()
        .catch((err: unknown) => logger.debug({ err }, 'membership directory fill failed'));
    },
    async change(userIds, write) {
      const users = [...new Set(userIds)];
      if (users.length === 0) return write();
      // Redis away from this process: the change goes on as it did before the directory; the second step catches up.
      const marked = await step(BEGIN, users, [pendingMs, versionMs]).then(
        () => true,
        (err: unknown) => {
          logger.warn({ err, users: users.length }, 'membership directory: change begins unrecorded');
          return false;
        },
      );
      try {
        return await write();
      } finally {
        // After the write, so no fill can slip in after the epoch: entries other processes may have filled from
        // before the write are retired as soon as Redis takes the bump.
        await step(END, users, [versionMs, marked ? '1' : '0']).catch((err: unknown) => {
          logger.warn(
            { err, users: users.length },
            'membership directory: change not recorded; retiring every entry',
          );
          void bumpEpoch();
        });
      }
    },
    invalidateAll: bumpEpoch,
    close() {
      clearInterval(retry);
      retry = undefined;
    },
  };
}
