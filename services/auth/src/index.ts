export { startAuth, type StartAuthOptions } from './main';
export { authEnvSchema, loadAuthConfig, type AuthConfig } from './config';
export { createAuthApp, type AuthAppDeps } from './app';
