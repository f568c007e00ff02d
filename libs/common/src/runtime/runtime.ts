import type { Server } from 'node:http';
import type { Connection } from 'mongoose';
import type { Redis, RedisOptions } from 'ioredis';
import { createLogger, type Logger } from '../logger';
import { connectMongo, pingMongo } from '../mongo';
import { closeRedis, createRedisClient, pingRedis, redisHealth } from '../redis';
import { createShutdown, type ShutdownResult, type ShutdownStep } from '../shutdown';
import type { ReadinessCheck } from '../http/ops-routes';
import type { EventBus } from '../bus/event-bus';
import { createMemoryBus } from '../bus/memory-bus';
import { createRedisBus } from '../bus/redis-bus';
import { createMemoryDenylist, type TokenDenylist } from '../auth/denylist';
import { createReplicatedDenylist } from '../auth/replicated-denylist';
import { listenHttp, type ListenOptions } from './http-listener';

/** Infrastructure one process shares among the services it composes (embedded `npm start`). */
export interface SharedInfrastructure {
  bus?: EventBus;
  denylist?: TokenDenylist;
}

export interface RuntimeOptions {
  service: string;
  logger: Logger;
  /** `REDIS_URL`; unset means in-process infrastructure (embedded mode, single-process tests). */
  redisUrl?: string | undefined;
  /** Options of the Redis command connection (auto-pipelining, say). */
  redisOptions?: RedisOptions | undefined;
  /** Injected infrastructure wins over what the runtime would open itself. */
  shared?: SharedInfrastructure | undefined;
  /** Bound on the whole shutdown; steps still running past it are abandoned and reported. */
  shutdownTimeoutMs?: number | undefined;
  /** Bound on waiting for in-flight HTTP requests before their connections are ended. */
  drainTimeoutMs?: number | undefined;
  /**
   * `SHUTDOWN_READY_DELAY_MS`: how long shutdown keeps serving, not ready, before the listener closes, so a
   * balancer polling `/readyz` stops sending here first. 0 closes at once.
   */
  readyDelayMs?: number | undefined;
}

/**
 * What a service's composition root builds on: it opens infrastructure through the runtime, and the runtime
 * closes everything in reverse order of opening (the listener, opened last, is drained first).
 */
export interface Runtime {
  readonly service: string;
  readonly logger: Logger;
  /** `/readyz` checks; the runtime adds one per dependency it opens, services add their own. */
  readonly readiness: Record<string, ReadinessCheck>;
  /** The Redis command connection, or undefined when running in-process. */
  redis(): Redis | undefined;
  /** A further Redis connection for a role that needs its own (subscribers, the Socket.IO adapter). */
  redisConnection(role: string, options?: RedisOptions): Redis;
  /** The event bus: injected, else Redis pub/sub with REDIS_URL, else in-process. */
  bus(): EventBus;
  /**
   * Whether the bus can currently receive (its subscriber connection is up and Redis answers the command
   * connection's heartbeat); always true in-process.
   */
  busReceiving(): boolean;
  /**
   * Changes whenever the bus may have missed a message: its subscriber connection closed or came back (always 0
   * in-process). State kept in step with bus messages is only as good as the generation it was built in.
   */
  busGeneration(): number;
  /**
   * The access-token denylist: injected, else Redis with REDIS_URL (with a local copy fed by `session:revoked`
   * pushes and a sync every 2 s, which answers alone while Redis is unusable), else in-process.
   */
  denylist(): TokenDenylist;
  /** A dedicated mongoose connection, with its readiness check and its close. */
  mongo(url: string): Promise<Connection>;
  /** Registers something to close at shutdown (closed last-opened-first). */
  onClose(name: string, close: () => Promise<void> | void): void;
  /** Listens with the shared server settings; at shutdown the listener is drained before anything opened earlier closes. */
  listen(server: Server, options: ListenOptions): Promise<number>;
  shutdown(reason: string): Promise<ShutdownResult>;
}

const DEFAULT_DRAIN_MS = 5_000;

/** One way to open and close a service's resources (ordered shutdown, drain before close, bounded). */
export function createRuntime(options: RuntimeOptions): Runtime {
  const { service, logger, redisUrl, shared = {} } = options;
  const drainMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_MS;
  const steps: ShutdownStep[] = [];
  const shutdown = createShutdown({
    logger,
    steps,
    ...(options.shutdownTimeoutMs ? { timeoutMs: options.shutdownTimeoutMs } : {}),
  });
  const readiness: Record<string, ReadinessCheck> = {};
  const readyDelayMs = options.readyDelayMs ?? 0;
  let stopping = false;
  let shuttingDown: Promise<ShutdownResult> | undefined;
  const listeners: { retireConnections(): void }[] = [];

  const onClose = (name: string, close: () => Promise<void> | void) => {
    steps.unshift({ name, close: async () => close() });
  };

  const redisConnection = (role: string, redisOptions?: RedisOptions): Redis => {
    if (!redisUrl) throw new Error(`${service}: a Redis connection (${role}) needs REDIS_URL`);
    const client = createRedisClient({
      url: redisUrl,
      logger,
      name: `${service}-${role}`,
      // Only the command connection times commands out: a subscriber's (un)subscribe waits for Redis instead.
      ...(role === 'command' ? {} : { commandTimeoutMs: 0 }),
      ...(redisOptions ? { options: redisOptions } : {}),
    });
    onClose(`redis ${role}`, () => closeRedis(client));
    return client;
  };
  // With REDIS_URL the command connection opens at once: /readyz reports Redis from the start.
  const command = redisUrl ? redisConnection('command', options.redisOptions) : undefined;
  if (command) readiness.redis = () => pingRedis(command);
  const redis = (): Redis | undefined => command;

  let bus: EventBus | undefined;
  let busSubscriber: Redis | undefined;
  let busGeneration = 0;
  let denylist: TokenDenylist | undefined;

  const eventBus = (): EventBus => {
    if (shared.bus) return shared.bus;
    if (bus) return bus;
    const publisher = redis();
    if (publisher) {
      // Opened by the first subscribe only, so publish-only services hold no idle subscriber connection;
      // it queues (un)subscriptions while Redis is away instead of failing them.
      busSubscriber = redisConnection('bus', { lazyConnect: true, maxRetriesPerRequest: null });
      // Whatever was published while the connection was down is lost (pub/sub keeps nothing).
      busSubscriber.on('close', () => void (busGeneration += 1));
      busSubscriber.on('ready', () => void (busGeneration += 1));
      bus = createRedisBus({ publisher, subscriber: busSubscriber, logger });
    } else {
      bus = createMemoryBus();
    }
    const own = bus;
    onClose('bus', () => own.close());
    return own;
  };

  return {
    service,
    logger,
    readiness,
    redis,
    redisConnection,
    bus: eventBus,
    busReceiving() {
      if (!busSubscriber) return true;
      // A frozen Redis leaves the subscriber connected: the command connection's heartbeat tells.
      return busSubscriber.status === 'ready' && (command ? redisHealth(command).usable() : true);
    },
    busGeneration: () => busGeneration,
    denylist() {
      if (shared.denylist) return shared.denylist;
      if (!denylist) {
        const client = redis();
        if (client) {
          const replicated = createReplicatedDenylist({ redis: client, bus: eventBus(), logger });
          onClose('denylist', () => replicated.close());
          denylist = replicated;
        } else {
          denylist = createMemoryDenylist();
        }
      }
      return denylist;
    },
    async mongo(url) {
      const connection = await connectMongo({ url, logger });
      onClose('mongo', () => connection.close());
      readiness.mongo = () => pingMongo(connection);
      return connection;
    },
    onClose,
    async listen(server, listenOptions) {
      const listener = await listenHttp(server, listenOptions);
      listeners.push(listener);
      // Not ready from the first moment of shutdown, so a balancer polling /readyz stops sending here.
      readiness.accepting = async () => {
        if (stopping) throw new Error('shutting down');
      };
      onClose('http', async () => {
        const { forced } = await listener.drain(drainMs);
        if (forced) logger.warn({ drainMs }, 'ended connections still busy after the drain period');
      });
      return listener.port;
    },
    shutdown(reason) {
      stopping = true;
      shuttingDown ??= (async () => {
        if (readyDelayMs > 0 && listeners.length > 0) {
          logger.info({ readyDelayMs, reason }, 'not ready; serving on before closing the listener');
          for (const listener of listeners) listener.retireConnections();
          await new Promise((resolve) => setTimeout(resolve, readyDelayMs));
        }
        return shutdown(reason);
      })();
      return shuttingDown;
    },
  };
}

/** The part of every service's validated config the runtime reads. */
export interface ServiceConfig {
  LOG_LEVEL: string;
  REDIS_URL?: string | undefined;
  SHUTDOWN_READY_DELAY_MS?: number | undefined;
}

/** What every service's `start…()` takes: its config, and what a launcher composing services lends it. */
export interface StartOptions<C extends ServiceConfig> {
  config: C;
  /** A launcher's logger for this service; otherwise one is made at the config's LOG_LEVEL. */
  logger?: Logger | undefined;
  /** Infrastructure shared by the services of one process (embedded `npm start`). */
  shared?: SharedInfrastructure | undefined;
}

export interface ServiceDefinition<C extends ServiceConfig> extends StartOptions<C> {
  service: string;
  /** Fields on every log line of the service (the replica id, say). */
  logBase?: Record<string, unknown>;
  redisOptions?: RedisOptions;
  shutdownTimeoutMs?: number;
  drainTimeoutMs?: number;
}

/** What every service's `start…()` resolves to. */
export interface RunningService {
  port: number;
  logger: Logger;
  /** Ordered, bounded shutdown; resolves with what failed, if anything. */
  shutdown(reason: string): Promise<ShutdownResult>;
  /** `shutdown('close')` that rejects when a step failed or the bound was hit. */
  close(): Promise<void>;
}

/**
 * Builds a service on a fresh runtime: `build` opens what it needs through the runtime and returns at least the
 * port it listens on. A failed start closes whatever it had opened, in reverse order, before rethrowing.
 */
export async function startService<C extends ServiceConfig, T extends { port: number }>(
  definition: ServiceDefinition<C>,
  build: (runtime: Runtime) => Promise<T>,
): Promise<T & RunningService> {
  const { service, config, logBase } = definition;
  const logger = definition.logger
    ? logBase
      ? definition.logger.child(logBase)
      : definition.logger
    : createLogger({ service, level: config.LOG_LEVEL, ...(logBase ? { base: logBase } : {}) });
  const runtime = createRuntime({
    service,
    logger,
    redisUrl: config.REDIS_URL,
    redisOptions: definition.redisOptions,
    shared: definition.shared,
    shutdownTimeoutMs: definition.shutdownTimeoutMs,
    drainTimeoutMs: definition.drainTimeoutMs,
    readyDelayMs: config.SHUTDOWN_READY_DELAY_MS,
  });
  let built: T;
  try {
    built = await build(runtime);
  } catch (err) {
    await runtime.shutdown('start failed');
    throw err;
  }
  return {
    ...built,
    logger,
    shutdown: (reason: string) => runtime.shutdown(reason),
    async close() {
      const result = await runtime.shutdown('close');
      if (!result.ok)
        throw new Error(`${service} shutdown incomplete: ${result.failed.join(', ') || 'timed out'}`);
    },
  };
}
