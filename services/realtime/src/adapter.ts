import type { Redis } from 'ioredis';
import type { ServerOptions } from 'socket.io';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { pipelineReplies, redisRoundTrips, type Logger } from '@cohort/common';

export type AdapterMode = 'classic' | 'sharded';
export type AdapterFactory = NonNullable<ServerOptions['adapter']>;

export interface RedisAdapterOptions {
  mode: AdapterMode;
  /** Publishes (may be shared with other commands). */
  pubClient: Redis;
  /** A dedicated connection: it enters subscriber mode. */
  subClient: Redis;
  logger: Logger;
  channelPrefix?: string;
  /**
   * Sharded mode: rooms that get no channel of their own (broadcasts naming one of them alone go on the namespace's
   * channel, which every replica receives). For rooms every replica's delivery to which is decided locally: the user
   * rooms (the bus reaches every replica, `except()` is applied by each receiver), so a connecting user's first socket
   * on a replica costs no SSUBSCRIBE, nor its last an SUNSUBSCRIBE.
   */
  withoutChannel?: (room: string) => boolean;
}

/**
 * The Socket.IO Redis adapter in one of its two modes:
 *  - `classic`: PUBLISH on per-room channels, every replica PSUBSCRIBEs to all of them (each replica receives
 *    every broadcast, whether or not it has a socket in the room);
 *  - `sharded`: Redis 7 SPUBLISH with dynamic subscriptions, one channel per room, and a replica SSUBSCRIBEs only
 *    to rooms it has members in.
 * Both adapters issue some commands without handling the returned promise, so a Redis outage would surface as an
 * unhandled rejection (which our process handlers treat as fatal): those commands go through a guard that logs.
 */
export function createRedisAdapter({
  mode,
  pubClient,
  subClient,
  logger,
  channelPrefix = 'cohort:sio',
  withoutChannel,
}: RedisAdapterOptions): AdapterFactory {
  const publisher = withGuardedCommands(pubClient, logger, gatheredPublishes(pubClient));
  const subscriber = withGuardedCommands(subClient, logger);
  if (mode === 'classic')
    return createAdapter(publisher, subscriber, {
      key: channelPrefix,
      publishOnSpecificResponseChannel: true,
    });
  const sharded = createShardedAdapter(publisher, subscriber, { channelPrefix, subscriptionMode: 'dynamic' });
  return withoutChannel ? onNamespaceChannel(sharded, withoutChannel) : sharded;
}

type ShardedFactory = ReturnType<typeof createShardedAdapter>;
type Method = (arg: unknown) => unknown;

/** A method of `target` bound to it, or undefined when it has none by that name. */
function boundMethod(target: object, name: string): Method | undefined {
  const value: unknown = Reflect.get(target, name);
  return typeof value === 'function' ? (value as Method).bind(target) : undefined;
}

/** The rooms a cluster message names (`opts.rooms` of a broadcast, a join, a fetch…), if any. */
function roomsOf(message: unknown): unknown {
  const data: unknown =
    typeof message === 'object' && message !== null ? Reflect.get(message, 'data') : undefined;
  const opts: unknown = typeof data === 'object' && data !== null ? Reflect.get(data, 'opts') : undefined;
  return typeof opts === 'object' && opts !== null ? Reflect.get(opts, 'rooms') : undefined;
}

/**
 * The sharded adapter with the `withoutChannel` rooms handled as its `static` mode handles every room: no SSUBSCRIBE
 * when one is created here, and a message naming one of them alone is published on the namespace's channel (without
 * this, `io.to(userRoom)` would go to a channel nobody subscribes to). The adapter has no option for it: its two
 * private methods that decide (8.3, pinned by the lock file) are wrapped on each instance, and a version without them
 * fails at start rather than silently (test/adapter.test.ts checks both behaviours against a real Redis).
 */
function onNamespaceChannel(
  factory: ShardedFactory,
  withoutChannel: (room: string) => boolean,
): AdapterFactory {
  // Socket.IO calls the factory with `new` (as the adapters' own factories are written): not an arrow function.
  return function shardedWithoutChannels(nsp: Parameters<ShardedFactory>[0]) {
    const adapter = factory(nsp);
    const separate = boundMethod(adapter, 'shouldUseASeparateNamespace');
    const compute = boundMethod(adapter, 'computeChannel');
    const channel: unknown = Reflect.get(adapter, 'channel');
    if (!separate || !compute || typeof channel !== 'string')
      throw new Error(
        '@socket.io/redis-adapter: the sharded adapter changed; see onNamespaceChannel in adapter.ts',
      );
    Reflect.set(adapter, 'shouldUseASeparateNamespace', (room: unknown) =>
      typeof room === 'string' && withoutChannel(room) ? false : separate(room),
    );
    Reflect.set(adapter, 'computeChannel', (message: unknown) => {
      const rooms = roomsOf(message);
      const only: unknown = Array.isArray(rooms) && rooms.length === 1 ? rooms[0] : undefined;
      return typeof only === 'string' && withoutChannel(only) ? channel : compute(message);
    });
    return adapter;
  };
}

// The adapters call these without handling the returned promise.
const GUARDED = new Set<PropertyKey>([
  'publish',
  'spublish',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
]);

type Command = (...args: unknown[]) => unknown;

/**
 * The adapter's publishes queued with the other commands of the same turn of the event loop (`redisRoundTrips`):
 * a handshake's `online` announcements, a turn's broadcasts, were a socket write each. They keep their order among
 * themselves (one queue), which is all the adapter relies on.
 */
function gatheredPublishes(client: Redis): ReadonlyMap<PropertyKey, Command> {
  const roundTrips = redisRoundTrips(client);
  const publishing = (name: 'publish' | 'spublish'): Command => {
    const own = client[name].bind(client) as Command;
    return async (...args) => {
      const [channel, message] = args;
      // Anything but (channel, message) goes the client's own way.
      if (
        args.length !== 2 ||
        typeof channel !== 'string' ||
        !(typeof message === 'string' || Buffer.isBuffer(message))
      )
        return own(...args);
      const [reply] = pipelineReplies(await roundTrips.send((pipeline) => pipeline[name](channel, message)));
      return reply;
    };
  };
  return new Map<PropertyKey, Command>([
    ['publish', publishing('publish')],
    ['spublish', publishing('spublish')],
  ]);
}

/**
 * A view of `client` whose pub/sub commands log their failures (at most once a second) instead of rejecting; the
 * commands in `replaced` are sent by them instead of by the client's own methods.
 */
function withGuardedCommands(
  client: Redis,
  logger: Logger,
  replaced: ReadonlyMap<PropertyKey, Command> = new Map(),
): Redis {
  let lastLogged = 0;
  const guarded = new Map<PropertyKey, Command>();
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = replaced.get(property) ?? (value as Command).bind(target);
      if (!GUARDED.has(property)) return method;
      let wrapped = guarded.get(property);
      if (!wrapped) {
        wrapped = async (...args: unknown[]) => {
          try {
            return await method(...args);
          } catch (err) {
            const now = Date.now();
            if (now - lastLogged > 1000) {
              lastLogged = now;
              logger.warn(
                {
                  err: { message: err instanceof Error ? err.message : String(err) },
                  command: String(property),
                },
                'adapter redis command failed',
              );
            }
            return undefined;
          }
        };
        guarded.set(property, wrapped);
      }
      return wrapped;
    },
  });
}
