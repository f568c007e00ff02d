export { startRealtime, type StartRealtimeOptions, type RunningRealtime } from './main';
export { createRealtimeServer, type RealtimeApp, type RealtimeServerDeps } from './app';
export { loadRealtimeConfig, realtimeEnvSchema, type RealtimeConfig } from './config';
export { createRedisAdapter, type AdapterMode } from './adapter';
export { createChatApiClient, type ChatApiClient } from './clients/chat-api.client';
export { createMemoryPresenceStore, type PresenceStore } from './presence/presence.store';
export { createRedisPresenceStore } from './presence/redis-presence.store';
export * from './socket-types';
