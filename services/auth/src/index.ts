export { startAuth, type StartAuthOptions } from './main';
export { authConfigSchema, loadAuthConfig, type AuthConfig } from './config';
export { createAuthApp, type AuthAppDeps } from './app';
