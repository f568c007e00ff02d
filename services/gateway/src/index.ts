export { createGatewayApp, type GatewayApp, type GatewayDeps } from './app';
export { startGateway, type RunningGateway, type StartGatewayOptions } from './main';
export { gatewayEnvSchema, loadGatewayConfig, type GatewayConfig } from './config';
export { buildOpenApiDocument, CONTRACT_OPERATIONS } from './docs/openapi';
export { buildAsyncApiDocument } from './docs/asyncapi';
export { accessFor, type RouteAccess } from './http/authenticate';
