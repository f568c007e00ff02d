export { startChatApi, type StartChatApiOptions, type RunningChatApi } from './main';
export { createChatApiApp, type ChatApiAppDeps } from './app';
export { loadConfig, chatApiEnvSchema, type ChatApiConfig } from './config';
