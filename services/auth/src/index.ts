export { startAuth, type StartAuthOptions, type RunningAuth } from './main';
export { authConfigSchema, loadAuthConfig, type AuthConfig } from './config';
export { createAuthApp, type AuthAppDeps } from './app';
