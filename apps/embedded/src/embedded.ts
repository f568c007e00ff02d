import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  closeHttpServer,
  createLogger,
  createMemoryAiStreamStore,
  createMemoryTriggerLog,
  createRuntime,
  listen,
  type Logger,
  type ShutdownResult,
} from '@cohort/common';
import { startEmbeddedMongo } from '@cohort/mongo-embedded';
import { loadAuthConfig, startAuth } from '@cohort/auth';
import { loadChatApiConfig, startChatApi } from '@cohort/chat-api';
import { loadRealtimeConfig, startRealtime } from '@cohort/realtime';
import { loadGatewayConfig, startGateway } from '@cohort/gateway';
import { loadAssistantConfig, startAssistant } from '@cohort/assistant';
import { AI_VARIABLES, type EmbeddedConfig } from './config';
import { loadEmbeddedKeys } from './keys';

export interface RunningEmbedded {
  port: number;
  url: string;
  shutdown(reason: string): Promise<ShutdownResult>;
}

/** Fails fast, naming the port, before anything else is started. */
async function assertPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await listen(probe, port, host);
  await closeHttpServer(probe);
}

/**
 * Embedded mode (docs/architecture.md): auth, chat-api, one realtime replica and the gateway in this process,
 * on the embedded MongoDB-compatible store, sharing one in-process bus and one denylist instead of Redis.
 * The internal services listen on free loopback ports (their HOST default); only the gateway is the public
 * origin, on the launcher's HOST, and it also serves the web client and proxies /socket.io. The launcher is a
 * runtime of its own: it closes the services in reverse order of starting, then the bus and the store.
 */
export async function startEmbedded(
  config: Readonly<EmbeddedConfig>,
  launcherLogger: Logger,
): Promise<RunningEmbedded> {
  await assertPortFree(config.PORT, config.HOST);
  mkdirSync(config.DATA_DIR, { recursive: true });
  const keys = await loadEmbeddedKeys(config.DATA_DIR);
  const serviceLogger = (service: string) => createLogger({ service, level: config.LOG_LEVEL });
  const common = { NODE_ENV: config.NODE_ENV, LOG_LEVEL: config.LOG_LEVEL, PORT: '0' };

  const runtime = createRuntime({ service: 'embedded', logger: launcherLogger, shutdownTimeoutMs: 15_000 });
  const shutdown = (reason: string) => runtime.shutdown(reason);
  try {
    // The store requires credentials (docs/security.md): a fresh random password each run, known only to
    // this process, so no other local user can read or write the data through its port.
    const mongoUser = { username: 'cohort', password: randomBytes(24).toString('base64url') };
    const mongo = await startEmbeddedMongo({
      host: '127.0.0.1',
      dataDir: join(config.DATA_DIR, 'mongo'),
      auth: mongoUser,
    });
    runtime.onClose('mongo-embedded', () => mongo.close());
    const mongoHost = new URL(mongo.uri).host;
    const mongoUrl = `mongodb://${mongoUser.username}:${mongoUser.password}@${mongoHost}/cohort?authSource=admin`;
    // No REDIS_URL here: the runtime's bus and denylist are in-process, shared by every service.
    const shared = { bus: runtime.bus(), denylist: runtime.denylist() };
    // The assistant's in-process equivalents of its Redis streams: the trigger log chat-api appends to and the
    // assistant consumes, and the stream store the assistant writes and realtime reads for `ai:resume`.
    const triggerLog = createMemoryTriggerLog(launcherLogger);
    const aiStreams = createMemoryAiStreamStore();

    // auth asks chat-api who shares a chat (user search) and chat-api asks auth who exists: auth starts first
    // and reads chat-api's address once it is known.
    const lateBound: { chatApiUrl?: string } = {};
    const auth = await startAuth({
      chatApiUrl: () => lateBound.chatApiUrl,
      config: loadAuthConfig({
        ...common,
        MONGO_URL: mongoUrl,
        JWT_PRIVATE_KEY: keys.access.privateKeyPem,
        INTERNAL_JWKS: keys.internalJwks,
        BCRYPT_COST: String(config.BCRYPT_COST),
      }),
      logger: serviceLogger('auth'),
      shared,
    });
    runtime.onClose('auth', () => auth.close());
    const authUrl = `http://127.0.0.1:${auth.port}`;

    const chatApi = await startChatApi({
      config: loadChatApiConfig({
        ...common,
        MONGO_URL: mongoUrl,
        INTERNAL_JWKS: keys.internalJwks,
        AUTH_URL: authUrl,
      }),
      logger: serviceLogger('chat-api'),
      shared,
      triggerLog,
    });
    runtime.onClose('chat-api', () => chatApi.close());
    const chatApiUrl = `http://127.0.0.1:${chatApi.port}`;
    lateBound.chatApiUrl = chatApiUrl;

    const realtime = await startRealtime({
      config: loadRealtimeConfig({
        ...common,
        REPLICA_ID: 'embedded',
        JWT_PUBLIC_KEY: keys.access.publicKeyPem,
        INTERNAL_SIGNING_KEY: keys.realtimeIdentity.privateKeyPem,
        CHAT_API_URL: chatApiUrl,
        ALLOWED_ORIGINS: config.ALLOWED_ORIGINS,
      }),
      logger: serviceLogger('realtime'),
      shared,
      aiStreams,
    });
    runtime.onClose('realtime', () => realtime.close());

    const aiSettings = Object.fromEntries(
      AI_VARIABLES.flatMap((name) => (config[name] === undefined ? [] : [[name, config[name]]])),
    );
    const assistant = await startAssistant({
      config: loadAssistantConfig({
        ...common,
        REPLICA_ID: 'embedded',
        CHAT_API_URL: chatApiUrl,
        AUTH_URL: authUrl,
        INTERNAL_JWKS: keys.internalJwks,
        INTERNAL_SIGNING_KEY: keys.assistantIdentity.privateKeyPem,
        AI_PROBE_OLLAMA: 'true',
        ...aiSettings,
        // Embedding vectors are kept beside the messages, in the same store.
        ...(config.AI_EMBEDDING_MODEL ? { MONGO_URL: mongoUrl } : {}),
      }),
      logger: serviceLogger('assistant'),
      shared,
      triggerLog,
      streamStore: aiStreams,
    });
    runtime.onClose('assistant', () => assistant.close());
    if (!assistant.model)
      launcherLogger.warn(
        'the assistant has no model: set AI_BASE_URL and AI_MODEL (any OpenAI-compatible endpoint), or run Ollama',
      );

    const webRoot = existsSync(join(config.WEB_ROOT, 'index.html')) ? config.WEB_ROOT : undefined;
    if (!webRoot)
      launcherLogger.warn(
        { webRoot: config.WEB_ROOT },
        'web client not built: run `npm run build -w @cohort/web`',
      );
    const gateway = await startGateway({
      config: loadGatewayConfig({
        ...common,
        PORT: String(config.PORT),
        HOST: config.HOST,
        AUTH_URL: authUrl,
        CHAT_API_URL: chatApiUrl,
        REALTIME_URL: `http://127.0.0.1:${realtime.port}`,
        ASSISTANT_URL: `http://127.0.0.1:${assistant.port}`,
        JWT_PUBLIC_KEY: keys.access.publicKeyPem,
        INTERNAL_SIGNING_KEY: keys.gatewayIdentity.privateKeyPem,
        ALLOWED_ORIGINS: config.ALLOWED_ORIGINS,
        ...(webRoot ? { WEB_ROOT: webRoot } : {}),
      }),
      logger: serviceLogger('gateway'),
      shared,
    });
    runtime.onClose('gateway', () => gateway.close());

    const shownHost = config.HOST === '0.0.0.0' || config.HOST === '127.0.0.1' ? 'localhost' : config.HOST;
    return { port: gateway.port, url: `http://${shownHost}:${gateway.port}`, shutdown };
  } catch (err) {
    await shutdown('start failed');
    throw err;
  }
}
