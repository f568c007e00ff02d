import type { Redis } from 'ioredis';
import type { ServerOptions } from 'socket.io';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { Logger } from '@cohort/common';

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
}: RedisAdapterOptions): AdapterFactory {
  const publisher = withGuardedCommands(pubClient, logger);
  const subscriber = withGuardedCommands(subClient, logger);
  return mode === 'sharded'
    ? createShardedAdapter(publisher, subscriber, { channelPrefix, subscriptionMode: 'dynamic' })
    : createAdapter(publisher, subscriber, { key: channelPrefix, publishOnSpecificResponseChannel: true });
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

/** A view of `client` whose pub/sub commands log their failures (at most once a second) instead of rejecting. */
function withGuardedCommands(client: Redis, logger: Logger): Redis {
  let lastLogged = 0;
  const guarded = new Map<PropertyKey, Command>();
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = (value as Command).bind(target);
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
