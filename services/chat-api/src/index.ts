export { startChatApi, type StartChatApiOptions } from './main';
export { createChatApiApp, type ChatApiAppDeps } from './app';
export { loadChatApiConfig, chatApiEnvSchema, type ChatApiConfig } from './config';
